"""Immutable views of session state, as sent to clients and kept in the store."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from .roles import Role


class Presence(StrEnum):
    """Where a participant is in their life in the session."""

    WAITING = "waiting"
    PRESENT = "present"
    RECONNECTING = "reconnecting"
    LEFT = "left"


class Source(StrEnum):
    """What a published track carries."""

    MIC = "mic"
    CAMERA = "camera"
    SCREEN = "screen"

    @property
    def kind(self) -> str:
        """The WebRTC media kind of this source."""
        return "audio" if self is Source.MIC else "video"


MAIN_ROOM = "main"


@dataclass(frozen=True)
class ParticipantView:
    """What others may know of a participant."""

    id: str
    name: str
    role: Role
    presence: Presence
    mic: str
    camera: str
    room: str
    visiting: bool = False

    def to_wire(self) -> dict[str, str | bool]:
        """The protocol's `Participant` object."""
        return {
            "id": self.id,
            "name": self.name,
            "role": self.role.value,
            "mic": self.mic,
            "camera": self.camera,
            "connection": "reconnecting" if self.presence is Presence.RECONNECTING else "connected",
            "room": self.room,
            "visiting": self.visiting,
        }


@dataclass(frozen=True)
class TrackView:
    """A track the server receives from a participant."""

    id: str
    participant_id: str
    source: Source

    def to_wire(self) -> dict[str, str]:
        """The protocol's `Track` object."""
        return {
            "id": self.id,
            "participant": self.participant_id,
            "kind": self.source.kind,
            "source": self.source.value,
        }


@dataclass(frozen=True)
class LinkView:
    """A join link minted for a session, as the session remembers it: never the token."""

    link_id: str
    participant_id: str
    name: str
    role: Role
    admitted: bool
    minted_at: float
    expires_at: float
    used_at: float | None = None
    revoked_at: float | None = None

    def to_wire(self) -> dict[str, object]:
        """The admin API's `Link` object."""
        return {
            "link_id": self.link_id,
            "participant_id": self.participant_id,
            "name": self.name,
            "role": self.role.value,
            "admitted": self.admitted,
            "minted_at": round(self.minted_at, 3),
            "expires_at": int(self.expires_at),
            "used": self.used_at is not None,
            "revoked": self.revoked_at is not None,
        }

    def to_record(self) -> dict[str, object]:
        """JSON-ready record."""
        return {
            "link_id": self.link_id,
            "participant_id": self.participant_id,
            "name": self.name,
            "role": self.role.value,
            "admitted": self.admitted,
            "minted_at": self.minted_at,
            "expires_at": self.expires_at,
            "used_at": self.used_at,
            "revoked_at": self.revoked_at,
        }

    @classmethod
    def from_record(cls, r: dict[str, object]) -> LinkView:
        """Rebuild from `to_record`."""
        used, revoked = r.get("used_at"), r.get("revoked_at")
        return cls(
            link_id=str(r["link_id"]),
            participant_id=str(r["participant_id"]),
            name=str(r["name"]),
            role=Role(str(r["role"])),
            admitted=bool(r.get("admitted", False)),
            minted_at=float(str(r["minted_at"])),
            expires_at=float(str(r["expires_at"])),
            used_at=float(used) if isinstance(used, int | float) else None,
            revoked_at=float(revoked) if isinstance(revoked, int | float) else None,
        )


@dataclass(frozen=True)
class CaptionerView:
    """A captioner service connected to the session (it hears consenting speakers)."""

    id: str
    name: str
    since: float

    def to_wire(self) -> dict[str, object]:
        """The protocol's `Captioner` object."""
        return {"id": self.id, "name": self.name, "since": round(self.since, 3)}


@dataclass(frozen=True)
class Note:
    """A facilitators' signal that stays until one of them dismisses it (a break, a
    private message, a technical problem; see `signals.py`)."""

    id: str
    kind: str
    participant_id: str
    at: float
