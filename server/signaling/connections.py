"""Who is connected: sockets bound to verified grants, by sid and by participant."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..domain.roles import Action, may
from ..tokens import JoinGrant
from .ratelimit import ConnectionLimits


@dataclass
class Connection:
    """One socket of one participant, bound to the grant of its verified token."""

    sid: str
    grant: JoinGrant
    joined: bool = False
    in_call: bool = False
    publish: list[str] = field(default_factory=list)
    limits: ConnectionLimits = field(default_factory=ConnectionLimits)

    @property
    def participant_id(self) -> str:
        return self.grant.participant_id

    @property
    def session_id(self) -> str:
        return self.grant.session_id

    @property
    def moderates(self) -> bool:
        """Whether this connection sees the waiting room, hands and break signals."""
        return may(self.grant.role, Action.SEE_WAITING_ROOM)


def call_room(session_id: str) -> str:
    """socket.io room of everyone in a session's call."""
    return f"session:{session_id}"


def room_channel(session_id: str, room: str) -> str:
    """socket.io room of everyone in one room (main or a breakout) of a session's call."""
    return f"session:{session_id}:room:{room}"


def facilitator_room(session_id: str) -> str:
    """socket.io room of a session's facilitators."""
    return f"session:{session_id}:facilitators"


class ConnectionRegistry:
    """The sockets of this process; one current socket per participant."""

    def __init__(self) -> None:
        self._by_sid: dict[str, Connection] = {}
        self._current: dict[str, str] = {}

    def add(self, conn: Connection) -> None:
        """A socket connected with a verified token."""
        self._by_sid[conn.sid] = conn

    def get(self, sid: str) -> Connection | None:
        """The connection of a socket."""
        return self._by_sid.get(sid)

    def remove(self, sid: str) -> Connection | None:
        """Forget a socket; returns it if it was known."""
        conn = self._by_sid.pop(sid, None)
        if conn is not None and self._current.get(conn.participant_id) == sid:
            del self._current[conn.participant_id]
        return conn

    def make_current(self, conn: Connection) -> str | None:
        """`conn` is now the participant's socket; returns the sid it replaces, if any."""
        old = self._current.get(conn.participant_id)
        self._current[conn.participant_id] = conn.sid
        return old if old != conn.sid else None

    def is_current(self, conn: Connection) -> bool:
        """Whether `conn` is the participant's current socket."""
        return self._current.get(conn.participant_id) == conn.sid

    def current(self, participant_id: str) -> Connection | None:
        """The participant's current connection, if any."""
        sid = self._current.get(participant_id)
        return self._by_sid.get(sid) if sid is not None else None

    def release(self, participant_id: str) -> Connection | None:
        """The participant no longer has a current connection; returns what it was."""
        sid = self._current.pop(participant_id, None)
        return self._by_sid.get(sid) if sid is not None else None

    def of_participant(self, participant_id: str) -> list[Connection]:
        """Every socket bound to this participant's grant (current or not)."""
        return [c for c in self._by_sid.values() if c.participant_id == participant_id]

    def in_session(self, session_id: str) -> list[Connection]:
        """Every socket of a session (joined or not)."""
        return [c for c in self._by_sid.values() if c.session_id == session_id]

    def __len__(self) -> int:
        return len(self._by_sid)
