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
