"""Go-rounds as state: the turns of a round in one room and whose turn it is. The
session's commands are in `rounds.py`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

ROUND_ORDERS = ("listed", "random", "least-talk")
MIN_TURN_S = 10.0
MAX_TURN_S = 600.0
# A turn is waiting, speaking, done, passed (and may be offered again), or gone (the
# person left the room before their turn).
TURN_STATES = ("waiting", "speaking", "done", "passed", "gone")


@dataclass
class Turn:
    """One person's place in a round."""

    participant_id: str
    state: str = "waiting"
    started_at: float | None = None
    # Seconds they held the floor (both times, if they took the second offer).
    held_s: float = 0.0
    passes: int = 0

    def to_record(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "participant": self.participant_id,
            "state": self.state,
            "started_at": self.started_at,
            "held_s": self.held_s,
            "passes": self.passes,
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Turn:
        """Rebuild from `to_record`."""
        started = record.get("started_at")
        return cls(
            str(record["participant"]),
            str(record.get("state", "waiting")),
            None if started is None else float(started),
            float(record.get("held_s", 0.0)),
            int(record.get("passes", 0)),
        )


@dataclass
class GoRound:
    """A round in one room: the turns in order and whose turn it is (None: over)."""

    room: str
    turns: list[Turn]
    current: int | None
    per_person_s: float | None
    others_muted: bool
    started_by: str
    started_at: float
    # The round came back to those who passed, once.
    revisiting: bool = False

    def turn_of(self, participant_id: str) -> Turn | None:
        """The person's turn in this round, if they have one."""
        return next((t for t in self.turns if t.participant_id == participant_id), None)

    @property
    def speaker(self) -> str | None:
        """Who holds the floor now."""
        return None if self.current is None else self.turns[self.current].participant_id

    def to_record(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "room": self.room,
            "turns": [t.to_record() for t in self.turns],
            "current": self.current,
            "per_person_s": self.per_person_s,
            "others_muted": self.others_muted,
            "started_by": self.started_by,
            "started_at": self.started_at,
            "revisiting": self.revisiting,
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> GoRound:
        """Rebuild from `to_record`."""
        current = record.get("current")
        per_person = record.get("per_person_s")
        return cls(
            str(record["room"]),
            [Turn.from_record(t) for t in record.get("turns", [])],
            None if current is None else int(current),
            None if per_person is None else float(per_person),
            bool(record.get("others_muted", False)),
            str(record.get("started_by", "")),
            float(record.get("started_at", 0.0)),
            bool(record.get("revisiting", False)),
        )


@dataclass
class RoundBook:
    """The rounds of a session, one per room at most."""

    by_room: dict[str, GoRound] = field(default_factory=dict)

    def to_record(self) -> list[dict[str, Any]]:
        """JSON-ready."""
        return [r.to_record() for r in self.by_room.values()]

    @classmethod
    def from_record(cls, records: list[Mapping[str, Any]]) -> RoundBook:
        """Rebuild from `to_record`."""
        rounds = [GoRound.from_record(r) for r in records]
        return cls({r.room: r for r in rounds})
