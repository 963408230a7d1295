"""Breakout rooms as state: which rooms exist, the plan, whether they are open, the
timer and the help requests. The session moves people; this keeps the rest."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .errors import NotFound, UserError
from .model import MAIN_ROOM

MAX_ROOMS = 20
MAX_ROOM_NAME = 40
MAX_BROADCAST = 500
MAX_DURATION_S = 4 * 3600.0
# The warning comes this long before the end.
WARNING_S = 60.0
MAIN_ROOM_NAME = "Main room"


@dataclass
class BreakoutRoom:
    """One breakout room; `leader` is the peer leader who moderates it, if any."""

    id: str
    name: str
    leader: str | None = None

    def to_wire(self) -> dict[str, Any]:
        """The protocol's `Room` object."""
        return {"id": self.id, "name": self.name, "leader": self.leader}


@dataclass(frozen=True)
class HelpRequest:
    """Someone in a breakout room asked for a facilitator."""

    participant_id: str
    room: str
    at: float


@dataclass
class Breakouts:
    """The breakout rooms of one session."""

    rooms: dict[str, BreakoutRoom] = field(default_factory=dict)
    # Who goes where when the rooms open (and on arrival while they are open).
    planned: dict[str, str] = field(default_factory=dict)
    open: bool = False
    ends_at: float | None = None
    warned: bool = False
    self_choice: bool = False
    help: list[HelpRequest] = field(default_factory=list)

    def define(self, names: list[str]) -> None:
        """Replace the rooms (only while closed); ids are r1, r2, ... in order."""
        if self.open:
            raise UserError("close the breakout rooms before changing them")
        if not 1 <= len(names) <= MAX_ROOMS:
            raise UserError(f"rooms: between 1 and {MAX_ROOMS}")
        clean = [" ".join(n.split()) for n in names]
        for name in clean:
            if not 1 <= len(name) <= MAX_ROOM_NAME:
                raise UserError(f"room name: 1 to {MAX_ROOM_NAME} characters")
        if len(set(clean)) != len(clean):
            raise UserError("room names must differ")
        self.rooms = {f"r{i}": BreakoutRoom(f"r{i}", n) for i, n in enumerate(clean, 1)}
        self.planned = {}

    def plan(self, participant_id: str, room_id: str) -> None:
        """Record where someone goes (the main room: no breakout room for them)."""
        if room_id == MAIN_ROOM:
            self.planned.pop(participant_id, None)
        else:
            self.planned[participant_id] = room_id

    def room(self, room_id: str) -> BreakoutRoom:
        """A breakout room by id (NotFound otherwise)."""
        room = self.rooms.get(room_id)
        if room is None:
            raise NotFound(f"no breakout room {room_id}")
        return room

    def check_destination(self, room_id: str) -> None:
        """A room someone may be moved into now: main, or a breakout room while open."""
        if room_id == MAIN_ROOM:
            return
        self.room(room_id)
        if not self.open:
            raise UserError("the breakout rooms are not open")

    def name_of(self, room_id: str) -> str:
        """The display name of a room, the main room included."""
        if room_id == MAIN_ROOM:
            return MAIN_ROOM_NAME
        room = self.rooms.get(room_id)
        return room.name if room is not None else room_id

    def leads(self, participant_id: str, room_id: str) -> bool:
        """Whether the person leads `room_id` while the rooms are open."""
        room = self.rooms.get(room_id)
        return self.open and room is not None and room.leader == participant_id

    def arrival_room(self, participant_id: str) -> str:
        """Where someone arriving goes: their planned room while open, else main."""
        return self.planned.get(participant_id, MAIN_ROOM) if self.open else MAIN_ROOM

    def set_timer(self, remaining_s: float | None, now: float) -> None:
        """Run out `remaining_s` from now (None: no timer)."""
        if remaining_s is not None and not 10 <= remaining_s <= MAX_DURATION_S:
            raise UserError(f"duration: between 10 s and {int(MAX_DURATION_S)} s")
        self.ends_at = None if remaining_s is None else round(now + remaining_s, 3)
        # A timer no longer than the warning lead needs no separate warning.
        self.warned = remaining_s is not None and remaining_s <= WARNING_S

    def next_deadline(self) -> float | None:
        """When the timer next needs a look (the warning, then the end)."""
        if not self.open or self.ends_at is None:
            return None
        if not self.warned:
            return self.ends_at - WARNING_S
        return self.ends_at

    def add_help(self, request: HelpRequest) -> bool:
        """Queue a help request; False if that person already has one waiting."""
        if any(h.participant_id == request.participant_id for h in self.help):
            return False
        self.help.append(request)
        return True

    def close(self) -> None:
        """Everyone is back: the rooms stay defined for next time, timer and help go."""
        self.open = False
        self.ends_at = None
        self.warned = False
        self.help = []

    def to_record(self) -> dict[str, Any]:
        """JSON-ready record (the session store keeps it)."""
        return {
            "rooms": [[r.id, r.name, r.leader] for r in self.rooms.values()],
            "planned": dict(self.planned),
            "open": self.open,
            "ends_at": self.ends_at,
            "warned": self.warned,
            "self_choice": self.self_choice,
            "help": [[h.participant_id, h.room, h.at] for h in self.help],
        }

    @classmethod
    def from_record(cls, record: dict[str, Any] | None) -> Breakouts:
        """Rebuild from `to_record` (None: no rooms yet)."""
        if not record:
            return cls()
        return cls(
            rooms={rid: BreakoutRoom(rid, name, leader) for rid, name, leader in record["rooms"]},
            planned=dict(record["planned"]),
            open=bool(record["open"]),
            ends_at=record["ends_at"],
            warned=bool(record["warned"]),
            self_choice=bool(record["self_choice"]),
            help=[HelpRequest(pid, room, at) for pid, room, at in record["help"]],
        )
