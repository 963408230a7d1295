"""A live group session: who is in it, what they publish, who receives what."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from .errors import NotFound, UserError
from .events import (
    Event,
    ParticipantJoined,
    ParticipantLeft,
    ParticipantUpdated,
    SessionEnded,
    TrackPublished,
    TrackUnpublished,
)
from .model import MAIN_ROOM, ParticipantView, Presence, Source, TrackView
from .roles import Action, Role, require

log = logging.getLogger(__name__)

MEDIA_STATES = ("live", "off")


@dataclass
class _Participant:
    id: str
    name: str
    role: Role
    presence: Presence = Presence.PRESENT
    mic: str = "live"
    camera: str = "live"
    room: str = MAIN_ROOM
    # Media time of the drop; the grace period is measured from here.
    dropped_at: float | None = None

    def view(self) -> ParticipantView:
        return ParticipantView(
            self.id, self.name, self.role, self.presence, self.mic, self.camera, self.room
        )

    def move_to(self, presence: Presence) -> None:
        """The one transition of presence; logs old -> new."""
        if presence is not self.presence:
            log.info("participant %s: %s -> %s", self.id, self.presence.value, presence.value)
            self.presence = presence


@dataclass
class Session:
    """One group session. Changing methods return the events they caused."""

    id: str
    title: str
    created_at: float
    ended: bool = False
    _participants: dict[str, _Participant] = field(default_factory=dict)
    _tracks: dict[str, TrackView] = field(default_factory=dict)

    # -- queries -------------------------------------------------------------

    def participants(self) -> list[ParticipantView]:
        """Everyone who has not left, in order of arrival."""
        return [p.view() for p in self._participants.values() if p.presence is not Presence.LEFT]

    def participant(self, participant_id: str) -> ParticipantView:
        """One participant, present or reconnecting."""
        return self._live(participant_id).view()

    def tracks(self) -> list[TrackView]:
        """Every published track."""
        return list(self._tracks.values())

    def subscriptions(self) -> dict[str, frozenset[str]]:
        """For each present participant, the tracks they should receive.

        Everyone receives every track of the others in their room; nobody
        receives their own; a reconnecting participant receives nothing.
        """
        present = {p.id: p for p in self._participants.values() if p.presence is Presence.PRESENT}
        plan: dict[str, frozenset[str]] = {}
        for viewer in present.values():
            plan[viewer.id] = frozenset(
                t.id
                for t in self._tracks.values()
                if t.participant_id != viewer.id
                and t.participant_id in present
                and present[t.participant_id].room == viewer.room
            )
        return plan

    # -- changes -------------------------------------------------------------

    def join(self, participant_id: str, name: str, role: Role, now: float) -> list[Event]:
        """Enter the session, or come back within the reconnect grace period."""
        self._require_open()
        require(role, Action.JOIN)
        known = self._participants.get(participant_id)
        if known is not None and known.presence is not Presence.LEFT:
            known.dropped_at = None
            was = known.presence
            known.move_to(Presence.PRESENT)
            return [ParticipantUpdated(known.view())] if was is not Presence.PRESENT else []
        person = _Participant(participant_id, name, role)
        # A returning person goes to the end of the arrival order.
        self._participants.pop(participant_id, None)
        self._participants[participant_id] = person
        return [ParticipantJoined(person.view())]

    def drop(self, participant_id: str, now: float) -> list[Event]:
        """The connection was lost; keep the seat for the grace period."""
        person = self._live(participant_id)
        if person.presence is not Presence.PRESENT:
            return []
        person.move_to(Presence.RECONNECTING)
        person.dropped_at = now
        events: list[Event] = self._unpublish_all(person.id)
        events.append(ParticipantUpdated(person.view()))
        return events

    def expire_dropped(self, now: float, grace_s: float) -> list[Event]:
        """Let go of everyone whose grace period has run out."""
        events: list[Event] = []
        for person in list(self._participants.values()):
            if (
                person.presence is Presence.RECONNECTING
                and person.dropped_at is not None
                and now - person.dropped_at >= grace_s
            ):
                events += self._remove(person, "timeout")
        return events

    def leave(self, participant_id: str, reason: str = "left") -> list[Event]:
        """Leave at once, without grace."""
        return self._remove(self._live(participant_id), reason)

    def set_media_state(
        self, participant_id: str, mic: str | None, camera: str | None
    ) -> list[Event]:
        """Record that someone muted or unmuted their mic, or turned their camera on/off."""
        person = self._live(participant_id)
        changed = False
        for attr, value in (("mic", mic), ("camera", camera)):
            if value is None:
                continue
            if value not in MEDIA_STATES:
                raise UserError(f"{attr}: must be one of {', '.join(MEDIA_STATES)}")
            if getattr(person, attr) != value:
                setattr(person, attr, value)
                changed = True
        return [ParticipantUpdated(person.view())] if changed else []

    def publish(self, participant_id: str, track_id: str, source: Source) -> list[Event]:
        """The server started receiving `track_id` from the participant."""
        self._require_open()
        person = self._live(participant_id)
        action = Action.PUBLISH_MIC if source is Source.MIC else Action.PUBLISH_CAMERA
        require(person.role, action)
        if track_id in self._tracks:
            return []
        events: list[Event] = []
        # One track per source: a new camera track replaces the old one.
        for old in list(self._tracks.values()):
            if old.participant_id == participant_id and old.source is source:
                events += self._unpublish(old.id)
        track = TrackView(track_id, participant_id, source)
        self._tracks[track_id] = track
        events.append(TrackPublished(track))
        return events

    def unpublish(self, track_id: str) -> list[Event]:
        """The track ended (publisher stopped it or their connection closed)."""
        if track_id not in self._tracks:
            return []
        return self._unpublish(track_id)

    def end(self) -> list[Event]:
        """End the session for everyone."""
        if self.ended:
            return []
        events: list[Event] = []
        for person in list(self._participants.values()):
            if person.presence is not Presence.LEFT:
                events += self._remove(person, "ended")
        self.ended = True
        events.append(SessionEnded(self.id))
        return events

    # -- storage -------------------------------------------------------------

    def to_record(self) -> dict[str, Any]:
        """A JSON-ready record of what must outlive a connection."""
        return {
            "id": self.id,
            "title": self.title,
            "created_at": self.created_at,
            "ended": self.ended,
            "participants": [
                {
                    "id": p.id,
                    "name": p.name,
                    "role": p.role.value,
                    "presence": p.presence.value,
                    "mic": p.mic,
                    "camera": p.camera,
                    "room": p.room,
                    "dropped_at": p.dropped_at,
                }
                for p in self._participants.values()
            ],
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Session:
        """Rebuild a session from its record; tracks are media state and start empty."""
        session = cls(record["id"], record["title"], float(record["created_at"]))
        session.ended = bool(record["ended"])
        for p in record["participants"]:
            session._participants[p["id"]] = _Participant(
                id=p["id"],
                name=p["name"],
                role=Role(p["role"]),
                presence=Presence(p["presence"]),
                mic=p["mic"],
                camera=p["camera"],
                room=p["room"],
                dropped_at=p["dropped_at"],
            )
        return session

    # -- internals -----------------------------------------------------------

    def _require_open(self) -> None:
        if self.ended:
            raise UserError("the session has ended")

    def _live(self, participant_id: str) -> _Participant:
        person = self._participants.get(participant_id)
        if person is None or person.presence is Presence.LEFT:
            raise NotFound(f"no participant {participant_id} in this session")
        return person

    def _remove(self, person: _Participant, reason: str) -> list[Event]:
        events: list[Event] = self._unpublish_all(person.id)
        person.move_to(Presence.LEFT)
        person.dropped_at = None
        events.append(ParticipantLeft(person.id, reason))
        return events

    def _unpublish_all(self, participant_id: str) -> list[Event]:
        events: list[Event] = []
        for track in list(self._tracks.values()):
            if track.participant_id == participant_id:
                events += self._unpublish(track.id)
        return events

    def _unpublish(self, track_id: str) -> list[Event]:
        track = self._tracks.pop(track_id)
        return [TrackUnpublished(track.id, track.participant_id)]
