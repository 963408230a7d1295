"""Parsing of the breakout-room messages (see docs/PROTOCOL.md, "Breakout rooms")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..domain.assignment import ASSIGN_MODES
from ..domain.breakouts import MAX_BROADCAST, MAX_ROOM_NAME, MAX_ROOMS
from ..domain.errors import ProtocolError
from ..domain.goround import ROUND_ORDERS
from .inbound import expect_object, expect_participant, expect_text

MAX_ROOM_ID_LENGTH = 16
MAX_GROUPS = 30
MAX_GROUP_SIZE = 30


@dataclass(frozen=True)
class Assign:
    """`breakout-assign`: an automatic plan and its constraints."""

    mode: str
    together: list[list[str]]
    apart: list[list[str]]


@dataclass(frozen=True)
class Move:
    """`breakout-move`: one participant into one room."""

    participant: str
    room: str


@dataclass(frozen=True)
class Leader:
    """`breakout-leader`: a room's peer leader, or nobody."""

    room: str
    participant: str | None


def room_id(value: Any) -> str:
    """A room id: "main" or a breakout room's id."""
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_ROOM_ID_LENGTH:
        raise ProtocolError("room: must be a room id")
    return value


def parse_room_names(payload: Any) -> list[str]:
    """Parse `breakout-rooms`: {"names": [...]}."""
    names = expect_object(payload, {"names"}).get("names")
    if not isinstance(names, list) or not 1 <= len(names) <= MAX_ROOMS:
        raise ProtocolError(f"names: must be a list of 1-{MAX_ROOMS} names")
    if not all(isinstance(n, str) and 1 <= len(n.strip()) <= MAX_ROOM_NAME for n in names):
        raise ProtocolError(f"names: each must be 1-{MAX_ROOM_NAME} characters")
    for name in names:
        expect_text(name, "names", MAX_ROOM_NAME)
    return [str(n) for n in names]


def _groups(value: Any, name: str) -> list[list[str]]:
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > MAX_GROUPS:
        raise ProtocolError(f"{name}: must be a list of at most {MAX_GROUPS} groups")
    groups = []
    for group in value:
        if not isinstance(group, list) or not 2 <= len(group) <= MAX_GROUP_SIZE:
            raise ProtocolError(f"{name}: each group must list 2-{MAX_GROUP_SIZE} participants")
        groups.append([expect_participant(p, name) for p in group])
    return groups


def parse_assign(payload: Any) -> Assign:
    """Parse `breakout-assign`."""
    body = expect_object(payload, {"mode", "together", "apart"})
    mode = body.get("mode", "random")
    if mode not in ASSIGN_MODES:
        raise ProtocolError(f"mode: must be one of {', '.join(ASSIGN_MODES)}")
    return Assign(
        str(mode), _groups(body.get("together"), "together"), _groups(body.get("apart"), "apart")
    )


def parse_move(payload: Any) -> Move:
    """Parse `breakout-move`."""
    body = expect_object(payload, {"participant", "room"})
    return Move(expect_participant(body.get("participant")), room_id(body.get("room")))


def parse_leader(payload: Any) -> Leader:
    """Parse `breakout-leader`."""
    body = expect_object(payload, {"room", "participant"})
    who = body.get("participant")
    return Leader(room_id(body.get("room")), None if who is None else expect_participant(who))


def parse_room(payload: Any) -> str:
    """Parse `breakout-visit` / `breakout-choose`: {"room": id}."""
    return room_id(expect_object(payload, {"room"}).get("room"))


def _seconds(value: Any, name: str) -> float | None:
    if value is None:
        return None
    if not isinstance(value, int | float) or isinstance(value, bool) or value != value:
        raise ProtocolError(f"{name}: must be a number of seconds or null")
    return float(value)


def parse_open(payload: Any) -> float | None:
    """Parse `breakout-open`: {"durationS": seconds | null}."""
    return _seconds(expect_object(payload, {"durationS"}).get("durationS"), "durationS")


def parse_timer(payload: Any) -> float | None:
    """Parse `breakout-timer`: {"remainingS": seconds | null}."""
    body = expect_object(payload, {"remainingS"})
    if "remainingS" not in body:
        raise ProtocolError("remainingS: required (null for no timer)")
    return _seconds(body["remainingS"], "remainingS")


def parse_broadcast(payload: Any) -> str:
    """Parse `breakout-broadcast`: {"text": ...}."""
    text = expect_object(payload, {"text"}).get("text")
    if not isinstance(text, str) or not 1 <= len(text.strip()) <= MAX_BROADCAST:
        raise ProtocolError(f"text: must be 1-{MAX_BROADCAST} characters")
    return expect_text(text, "text", MAX_BROADCAST, multiline=True)


@dataclass(frozen=True)
class RoundStart:
    """`round-start`: in which room (None: the sender's), in which order, how long a
    turn may be (None: no countdown), and whether others are muted."""

    room: str | None
    order: str
    per_person_s: float | None
    others_muted: bool


def parse_round_start(payload: Any) -> RoundStart:
    """Parse `round-start`: {"room"?, "order"?, "perPersonS"?, "othersMuted"?}."""
    body = expect_object(payload, {"room", "order", "perPersonS", "othersMuted"})
    room = body.get("room")
    order = body.get("order", "listed")
    if order not in ROUND_ORDERS:
        raise ProtocolError(f"order: must be one of {', '.join(ROUND_ORDERS)}")
    muted = body.get("othersMuted", False)
    if not isinstance(muted, bool):
        raise ProtocolError("othersMuted: must be true or false")
    seconds = _seconds(body.get("perPersonS"), "perPersonS")
    return RoundStart(None if room is None else room_id(room), str(order), seconds, muted)


def parse_optional_room(payload: Any) -> str | None:
    """Parse `round-next` / `round-end`: {"room"?: id} (None: the sender's room)."""
    room = expect_object(payload, {"room"}).get("room")
    return None if room is None else room_id(room)
