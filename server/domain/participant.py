"""One person's record inside a session: mutable, owned by the session alone."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from .events import Actor
from .model import MAIN_ROOM, ParticipantView, Presence, Source
from .roles import Role

log = logging.getLogger(__name__)

IN_CALL = (Presence.PRESENT, Presence.RECONNECTING)


@dataclass
class Participant:
    """What the session keeps of one person."""

    id: str
    name: str
    role: Role
    presence: Presence = Presence.WAITING
    mic: str = "live"
    camera: str = "live"
    room: str = MAIN_ROOM
    pre_admitted: bool = False
    # When the connection dropped; the grace period is measured from here.
    dropped_at: float | None = None
    # A facilitator looking in on a breakout room (shown there as visiting).
    visiting: bool = False

    def view(self) -> ParticipantView:
        """The immutable view others may see."""
        return ParticipantView(
            self.id,
            self.name,
            self.role,
            self.presence,
            self.mic,
            self.camera,
            self.room,
            self.visiting,
        )

    def actor(self) -> Actor:
        """This person as the author of an event."""
        return Actor(self.id, self.name)

    def move_to(self, presence: Presence) -> None:
        """The one transition of presence; logs old -> new."""
        if presence is not self.presence:
            log.info(
                "participant %s: %s -> %s",
                self.id,
                self.presence.value,
                presence.value,
                extra={"participant_id": self.id},
            )
            self.presence = presence

    def forwards(self, source: Source) -> bool:
        """Whether a track of `source` is forwarded (a muted mic or stopped camera is not)."""
        if source is Source.MIC:
            return self.mic == "live"
        if source is Source.CAMERA:
            return self.camera == "live"
        return True

    def to_record(self) -> dict[str, object]:
        """JSON-ready record."""
        return {
            "id": self.id,
            "name": self.name,
            "role": self.role.value,
            "presence": self.presence.value,
            "mic": self.mic,
            "camera": self.camera,
            "room": self.room,
            "pre_admitted": self.pre_admitted,
            "dropped_at": self.dropped_at,
            "visiting": self.visiting,
        }

    @classmethod
    def from_record(cls, p: dict[str, object]) -> Participant:
        """Rebuild from `to_record`."""
        dropped = p.get("dropped_at")
        return cls(
            id=str(p["id"]),
            name=str(p["name"]),
            role=Role(str(p["role"])),
            presence=Presence(str(p["presence"])),
            mic=str(p["mic"]),
            camera=str(p["camera"]),
            room=str(p["room"]),
            pre_admitted=bool(p.get("pre_admitted", False)),
            dropped_at=float(dropped) if isinstance(dropped, int | float) else None,
            visiting=bool(p.get("visiting", False)),
        )
