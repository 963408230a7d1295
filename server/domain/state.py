"""The state of a live session and the internals its commands share; the commands
live in `session.py` (arriving, moderation, chat, tracks), `sharing.py` and
`breakout_rooms.py`."""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass, field, fields, is_dataclass
from enum import Enum
from typing import Self

from .breakouts import Breakouts
from .errors import NotFound, NotPermitted, UserError
from .events import (
    Actor,
    Event,
    HandsChanged,
    ParticipantJoined,
    ParticipantLeft,
    ParticipantMoved,
    ShareEnded,
    TrackUnpublished,
)
from .goround import RoundBook
from .model import CaptionerView, LinkView, Note, ParticipantView, Presence, Source, TrackView
from .participant import IN_CALL, Participant
from .plan import SessionPlan
from .roles import FACILITATORS, Action, may, require

log = logging.getLogger(__name__)


@dataclass
class SessionState:
    """One group session's state. Changing methods return the events they caused, and
    check the caller's permission against the role bound to their token."""

    id: str
    title: str
    created_at: float
    ended: bool = False
    ended_at: float | None = None
    locked: bool = False
    waiting_room: bool = True
    chat_enabled: bool = True
    # Reactions on tiles (thank you, me too, clap, heart); the therapist may turn off.
    reactions_enabled: bool = True
    # When someone presents while another does: "replace" the share on screen, or
    # make the newcomer "wait" until it ends. The therapist chooses.
    share_policy: str = "replace"
    _participants: dict[str, Participant] = field(default_factory=dict)
    _tracks: dict[str, TrackView] = field(default_factory=dict)
    _removed: set[str] = field(default_factory=set)
    _hands: list[str] = field(default_factory=list)
    _chat_seq: int = 0
    _share_requests: list[str] = field(default_factory=list)
    _share_rights: set[str] = field(default_factory=set)
    _presenting_since: dict[str, float] = field(default_factory=dict)
    _presented_s: dict[str, float] = field(default_factory=dict)
    breakouts: Breakouts = field(default_factory=Breakouts)
    # Go-rounds, one per room at most (commands in `rounds.py`).
    rounds: RoundBook = field(default_factory=RoundBook)
    plan: SessionPlan = field(default_factory=SessionPlan)
    # Signals for the facilitators that stay until dismissed (`signals.py`); relayed
    # state, not stored: a break or a private message is not kept past the call.
    _notes: list[Note] = field(default_factory=list)
    _note_seq: int = 0
    captions_on: bool = False
    transcript_on: bool = False
    _caption_declined: set[str] = field(default_factory=set)
    # Whether a peer leader sees the speaking cues of the breakout room they lead.
    leaders_see_room: bool = False
    # Links minted for the session, by link id (bounded; see `links.py`), and the
    # participant ids whose links were revoked, with when that may be forgotten.
    _links: dict[str, LinkView] = field(default_factory=dict)
    _revoked: dict[str, float] = field(default_factory=dict)
    # Captioner services connected now, by participant id (connection state: not stored).
    _captioners: dict[str, CaptionerView] = field(default_factory=dict)

    # -- queries -------------------------------------------------------------

    def participants(self) -> list[ParticipantView]:
        """Everyone in the call (present or reconnecting), in order of arrival."""
        return [p.view() for p in self._participants.values() if p.presence in IN_CALL]

    def waiting(self) -> list[ParticipantView]:
        """The waiting-room queue, in order of arrival."""
        return [p.view() for p in self._participants.values() if p.presence is Presence.WAITING]

    def participant(self, participant_id: str) -> ParticipantView:
        """One participant who has not left."""
        return self._known(participant_id).view()

    def tracks(self) -> list[TrackView]:
        """Every published track."""
        return list(self._tracks.values())

    def hands(self) -> tuple[str, ...]:
        """Raised hands, in order of raising."""
        return tuple(self._hands)

    def entry_refusal(self, participant_id: str) -> str | None:
        """Why this person may not come in now (a wire refusal code), or None."""
        if self.ended:
            return "session_ended"
        if participant_id in self._removed:
            return "removed"
        if participant_id in self._revoked:
            return "link_revoked"
        known = self._participants.get(participant_id)
        if self.locked and (known is None or known.presence is Presence.LEFT):
            return "session_locked"
        return None

    def subscriptions(self) -> dict[str, frozenset[str]]:
        """For each present participant, the tracks they should receive.

        Everyone receives the others' tracks in their room; nobody receives their own;
        people waiting or reconnecting receive nothing. A muted mic or stopped camera
        stays in the plan (no renegotiation): `gated_tracks()` says which.
        """
        present = {p.id: p for p in self._participants.values() if p.presence is Presence.PRESENT}
        live = [t for t in self._tracks.values() if t.participant_id in present]
        return {
            viewer.id: frozenset(
                t.id
                for t in live
                if t.participant_id != viewer.id and present[t.participant_id].room == viewer.room
            )
            for viewer in present.values()
        }

    def gated_tracks(self) -> frozenset[str]:
        """Published tracks whose packets are forwarded to nobody now: muted mics and
        stopped cameras. Gating them is not a plan change; ending a share is."""
        return frozenset(
            t.id
            for t in self._tracks.values()
            if (person := self._participants.get(t.participant_id)) is not None
            and not person.forwards(t.source)
        )

    def snapshot(self) -> dict[str, object]:
        """Every field of the session, connection state (tracks, captioners) included, as
        a deep frozen copy that compares by value and order: "a refused command changes
        nothing" means `snapshot()` is equal before and after."""
        return {f.name.lstrip("_"): _frozen(getattr(self, f.name)) for f in fields(self)}

    def working_copy(self) -> Self:
        """A deep copy for a command to run on: the host adopts it only once what the
        command changed is stored, so a command that cannot be stored changes nothing."""
        return copy.deepcopy(self)

    def adopt(self, other: Self) -> None:
        """Take over every field of `other` (a working copy of this session), so
        whoever holds this object sees the stored state."""
        if other.id != self.id:
            raise ValueError(f"cannot adopt session {other.id} into {self.id}")
        for f in fields(self):
            setattr(self, f.name, getattr(other, f.name))

    # -- internals -----------------------------------------------------------

    def _known(self, participant_id: str) -> Participant:
        person = self._participants.get(participant_id)
        if person is None or person.presence is Presence.LEFT:
            raise NotFound(f"no participant {participant_id} in this session")
        return person

    def _present(self, participant_id: str) -> Participant:
        person = self._known(participant_id)
        if person.presence is not Presence.PRESENT:
            raise UserError(f"participant {participant_id} is not in the call")
        return person

    def _waiting(self, participant_id: str) -> Participant:
        person = self._known(participant_id)
        if person.presence is not Presence.WAITING:
            raise UserError(f"participant {participant_id} is not in the waiting room")
        return person

    def _actor(self, actor_id: str, action: Action | None) -> Participant:
        """The caller, who must be in the call (not waiting) and allowed to act."""
        self._require_open()
        actor = self._participants.get(actor_id)
        if actor is None or actor.presence is Presence.LEFT:
            raise NotFound("you are not in this session")
        if actor.presence is Presence.WAITING:
            raise NotPermitted("you are in the waiting room")
        if action is not None:
            require(actor.role, action)
        return actor

    def _facilitator_present(self) -> bool:
        return any(
            p.presence is Presence.PRESENT and p.role in FACILITATORS
            for p in self._participants.values()
        )

    def _lets_in(self, person: Participant) -> bool:
        """Whether someone knocking comes straight in: everyone when the waiting room is
        off; with it on, pre-admitted links, and only while a facilitator is present."""
        if not self.waiting_room:
            return True
        return person.pre_admitted and self._facilitator_present()

    def _admit_expected(self) -> list[Event]:
        """A facilitator arrived: let in those who did not need to wait for one."""
        events: list[Event] = []
        for person in list(self._participants.values()):
            if person.presence is Presence.WAITING and self._lets_in(person):
                self._come_in(person)
                events.append(ParticipantJoined(person.view()))
        return events

    def _come_in(self, person: Participant) -> None:
        """Into the call: while breakout rooms are open, straight to one's planned room
        (people waiting or reconnecting are in no room anyone sees)."""
        person.move_to(Presence.PRESENT)
        person.room = self.breakouts.arrival_room(person.id)
        person.visiting = False

    def _require_open(self) -> None:
        if self.ended:
            raise UserError("the session has ended")

    def _lower(self, participant_id: str, by: Actor | None) -> list[Event]:
        if participant_id not in self._hands:
            return []
        self._hands.remove(participant_id)
        return [HandsChanged(self.hands(), by)]

    def _remove(self, person: Participant, reason: str, by: Actor | None = None) -> list[Event]:
        if person.id in self._share_requests:
            self._share_requests.remove(person.id)
        self._share_rights.discard(person.id)
        events: list[Event] = self._unpublish_all(person.id)
        events += self._lower(person.id, None)
        self.breakouts.help = [h for h in self.breakouts.help if h.participant_id != person.id]
        person.move_to(Presence.LEFT)
        person.dropped_at = None
        events.append(ParticipantLeft(person.id, reason, by))
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

    def _end_share(self, participant_id: str, reason: str, by: Actor | None) -> list[Event]:
        events: list[Event] = []
        for track in list(self._tracks.values()):
            if track.participant_id == participant_id and track.source is Source.SCREEN:
                events += self._unpublish(track.id)
        if events:
            events.append(ShareEnded(participant_id, reason, by))
        return events

    def _move(
        self, person: Participant, room: str, by: Actor | None, visiting: bool = False
    ) -> list[Event]:
        """Put someone in `room`; a share they gave in the old room ends. Media follows
        from `subscriptions()`."""
        if person.room == room and person.visiting == visiting:
            return []
        from_room = person.room
        events: list[Event] = []
        if from_room != room:
            events += self._end_share(person.id, "moved", by)
        person.room = room
        person.visiting = visiting
        events.append(ParticipantMoved(person.view(), from_room, by))
        return events

    def _moderator(
        self, actor_id: str, action: Action, target_id: str
    ) -> tuple[Participant, Participant]:
        """The caller and the person they act on: a facilitator anywhere, or the peer
        leader of the breakout room both are in."""
        actor = self._actor(actor_id, None)
        if not may(actor.role, action) and not may(actor.role, Action.MODERATE_LED_ROOM):
            require(actor.role, action)
        target = self._present(target_id)
        if not may(actor.role, action) and not (
            self.breakouts.leads(actor.id, target.room)
            and actor.room == target.room
            and target.role not in FACILITATORS
        ):
            raise NotPermitted(f"you may {action.value} only in the breakout room you lead")
        return actor, target


def _frozen(value: object) -> object:
    """A deep, immutable copy of a piece of session state; dicts keep their order (the
    order of arrival is state). A type it does not know is an error, not a shallow copy."""
    if is_dataclass(value) and not isinstance(value, type):
        inner = tuple((f.name, _frozen(getattr(value, f.name))) for f in fields(value))
        return (type(value).__name__, inner)
    if isinstance(value, dict):
        return tuple((key, _frozen(item)) for key, item in value.items())
    if isinstance(value, list | tuple):
        return tuple(_frozen(item) for item in value)
    if isinstance(value, set | frozenset):
        return frozenset(_frozen(item) for item in value)
    if value is None or isinstance(value, str | int | float | Enum):
        return value
    raise TypeError(f"no frozen copy of {type(value).__name__} in a session snapshot")
