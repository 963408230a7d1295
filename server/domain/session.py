"""A live group session: who is in it (or waiting), what they publish, who hears whom."""

from __future__ import annotations

import logging
from typing import Any

from .breakout_rooms import BreakoutRooms
from .captioning import Captioning
from .errors import NotPermitted, UserError
from .events import (
    BreakRequested,
    CameraStopped,
    ChatPosted,
    ChatSettingChanged,
    Event,
    HandsChanged,
    LockChanged,
    Muted,
    ParticipantAdmitted,
    ParticipantDenied,
    ParticipantJoined,
    ParticipantRejoined,
    ParticipantUpdated,
    ParticipantWaiting,
    SessionEnded,
    TrackPublished,
    UnmuteRequested,
    WaitingRoomMessage,
)
from .feedback import Feedback
from .links import JoinLinks
from .model import Presence, Source, TrackView
from .participant import Participant
from .planning import Planning
from .record import restore_session, session_record
from .roles import FACILITATORS, Action, Role, may, require
from .rounds import GoRounds
from .sharing import ScreenSharing
from .signals import Signals
from .speaking_options import SpeakingOptions

log = logging.getLogger(__name__)

MEDIA_STATES = ("live", "off")
CHAT_TARGETS = ("room", "facilitators", "participant")


class Session(
    Planning,
    BreakoutRooms,
    ScreenSharing,
    Captioning,
    SpeakingOptions,
    JoinLinks,
    GoRounds,
    Feedback,
    Signals,
):
    """One group session: arriving and leaving, the waiting room, moderation, chat and
    tracks here; screen sharing, breakout rooms, links and captioner services in their
    own modules."""

    def note_time(self, events: list[Event], now: float) -> None:
        """Times that events imply: presenting time, and when the session ended (its
        record is deleted a retention period after that)."""
        super().note_time(events, now)
        if self.ended_at is None and any(isinstance(e, SessionEnded) for e in events):
            self.ended_at = now

    # -- arriving and leaving --------------------------------------------------

    def join(
        self,
        participant_id: str,
        name: str,
        role: Role,
        now: float,
        pre_admitted: bool = False,
        declines_captions: bool | None = None,
    ) -> list[Event]:
        """Knock: facilitators come in, others wait (unless pre-admitted, or the waiting
        room is off, while a facilitator is present); back within grace: come straight in.
        `declines_captions` (if given) is the person's caption choice, made before any
        of their audio could reach an engine."""
        refusal = self.entry_refusal(participant_id)
        if refusal is not None:
            raise NotPermitted(ENTRY_REFUSALS[refusal])
        require(role, Action.JOIN)
        self._note_link_used(participant_id, now)
        if declines_captions is True:
            self._caption_declined.add(participant_id)
        elif declines_captions is False:
            self._caption_declined.discard(participant_id)
        known = self._participants.get(participant_id)
        if known is not None and known.presence is not Presence.LEFT:
            if known.presence is Presence.RECONNECTING:
                known.dropped_at = None
                self._come_in(known)
                return [ParticipantUpdated(known.view())]
            if known.presence is Presence.PRESENT:
                # A new connection (or a media restart) of someone in the call.
                return [ParticipantRejoined(known.view())]
            # Knocking again while waiting changes nothing: no event, so no audit
            # record and no push to the facilitators.
            return []
        person = Participant(participant_id, name, role, pre_admitted=pre_admitted)
        # Someone who may not publish (an observer) shows as muted with camera off.
        person.mic = "live" if may(role, Action.PUBLISH_MIC) else "off"
        person.camera = "live" if may(role, Action.PUBLISH_CAMERA) else "off"
        # A returning person goes to the end of the arrival order.
        self._participants.pop(participant_id, None)
        self._participants[participant_id] = person
        if may(role, Action.SKIP_WAITING_ROOM):
            self._come_in(person)
            return [ParticipantJoined(person.view()), *self._admit_expected()]
        if self._lets_in(person):
            self._come_in(person)
            return [ParticipantJoined(person.view())]
        return [ParticipantWaiting(person.view())]

    def drop(self, participant_id: str, now: float) -> list[Event]:
        """The connection was lost: keep a present person's seat for the grace period."""
        person = self._known(participant_id)
        if person.presence is Presence.WAITING:
            return self._remove(person, "left")
        if person.presence is not Presence.PRESENT:
            return []
        person.move_to(Presence.RECONNECTING)
        person.dropped_at = now
        events: list[Event] = self._unpublish_all(person.id)
        events += self._lower(person.id, None)
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

    def leave(self, participant_id: str) -> list[Event]:
        """Leave at once, without grace."""
        return self._remove(self._known(participant_id), "left")

    # -- waiting room and lock -------------------------------------------------

    def admit(self, actor_id: str, participant_id: str) -> list[Event]:
        """Let someone in from the waiting room."""
        actor = self._actor(actor_id, Action.ADMIT)
        person = self._waiting(participant_id)
        self._come_in(person)
        return [ParticipantAdmitted(person.id, actor.actor()), ParticipantJoined(person.view())]

    def deny(self, actor_id: str, participant_id: str, message: str = "") -> list[Event]:
        """Turn someone away from the waiting room, with an optional message."""
        actor = self._actor(actor_id, Action.ADMIT)
        person = self._waiting(participant_id)
        denied = ParticipantDenied(person.id, actor.actor(), message)
        return [denied, *self._remove(person, "denied", actor.actor())]

    def set_locked(self, actor_id: str, locked: bool) -> list[Event]:
        """Lock (nobody new gets in, link or not) or unlock the session."""
        actor = self._actor(actor_id, Action.LOCK)
        if self.locked == locked:
            return []
        self.locked = locked
        return [LockChanged(locked, actor.actor())]

    # -- moderation --------------------------------------------------------------

    def mute(self, actor_id: str, participant_id: str) -> list[Event]:
        """Mute someone: their mic is forwarded to nobody from now on. A peer leader may
        in the breakout room they lead."""
        actor, person = self._moderator(actor_id, Action.MUTE, participant_id)
        if person.mic == "off":
            return []
        person.mic = "off"
        return [Muted(person.id, actor.actor()), ParticipantUpdated(person.view())]

    def mute_all(self, actor_id: str) -> list[Event]:
        """Mute everyone but the facilitators."""
        self._actor(actor_id, Action.MUTE_ALL)
        events: list[Event] = []
        for person in list(self._participants.values()):
            if person.presence is Presence.PRESENT and person.role not in FACILITATORS:
                events += self.mute(actor_id, person.id)
        return events

    def ask_to_unmute(self, actor_id: str, participant_id: str) -> list[Event]:
        """Ask someone to unmute; only they can (there is no forced unmute)."""
        actor, person = self._moderator(actor_id, Action.ASK_UNMUTE, participant_id)
        if person.mic == "live":
            return []
        return [UnmuteRequested(person.id, actor.actor())]

    def stop_camera(self, actor_id: str, participant_id: str) -> list[Event]:
        """Turn someone's camera off: it is forwarded to nobody from now on."""
        actor = self._actor(actor_id, Action.STOP_CAMERA)
        person = self._present(participant_id)
        if person.camera == "off":
            return []
        person.camera = "off"
        return [CameraStopped(person.id, actor.actor()), ParticipantUpdated(person.view())]

    def remove(self, actor_id: str, participant_id: str) -> list[Event]:
        """Remove someone; their link no longer lets them in."""
        actor = self._actor(actor_id, Action.REMOVE)
        person = self._known(participant_id)
        if person.id == actor.id:
            raise UserError("you cannot remove yourself: leave instead")
        if person.role is Role.THERAPIST:
            raise NotPermitted("the therapist cannot be removed")
        self._removed.add(person.id)
        return self._remove(person, "removed", actor.actor())

    def set_media_state(
        self, participant_id: str, mic: str | None, camera: str | None
    ) -> list[Event]:
        """The participant muted/unmuted themself or turned their own camera off/on."""
        person = self._present(participant_id)
        changed = False
        for attr, value in (("mic", mic), ("camera", camera)):
            if value is None:
                continue
            if value not in MEDIA_STATES:
                raise UserError(f"{attr}: must be one of {', '.join(MEDIA_STATES)}")
            if value == "live":
                require(person.role, _PUBLISH[attr])
            if getattr(person, attr) != value:
                setattr(person, attr, value)
                changed = True
        return [ParticipantUpdated(person.view())] if changed else []

    # -- hands, chat, breaks ---------------------------------------------------------

    def raise_hand(self, participant_id: str) -> list[Event]:
        """Join the end of the raised-hand queue."""
        person = self._actor(participant_id, Action.RAISE_HAND)
        if person.id in self._hands:
            return []
        self._hands.append(person.id)
        return [HandsChanged(self.hands(), person.actor())]

    def lower_hand(self, actor_id: str, participant_id: str) -> list[Event]:
        """Lower a hand: one's own, or anyone's for a facilitator."""
        actor = self._actor(actor_id, Action.RAISE_HAND if actor_id == participant_id else None)
        if actor_id != participant_id:
            require(actor.role, Action.LOWER_OTHERS_HAND)
        return self._lower(participant_id, actor.actor())

    def post_chat(
        self, sender_id: str, to: str, text: str, now: float, recipient: str | None = None
    ) -> list[Event]:
        """Chat to the room, privately to the facilitators, or (a facilitator)
        privately to one participant."""
        if to not in CHAT_TARGETS:
            raise UserError(f"to: must be one of {', '.join(CHAT_TARGETS)}")
        action = {"room": Action.CHAT, "facilitators": Action.CHAT_FACILITATORS}.get(
            to, Action.MESSAGE_PRIVATELY
        )
        sender = self._actor(sender_id, action)
        if to == "room" and not self.chat_enabled and sender.role not in FACILITATORS:
            raise NotPermitted("group chat is turned off")
        if to == "participant":
            if recipient is None or recipient == sender.id:
                raise UserError("participant: whom the message is for")
            self._present(recipient)
        elif recipient is not None:
            raise UserError("participant: only with to 'participant'")
        if to == "facilitators" and sender.role not in FACILITATORS:
            self._note("private-message", sender, now)
        self._chat_seq += 1
        return [ChatPosted(self._chat_seq, sender.actor(), to, text, now, sender.room, recipient)]

    def admit_all(self, actor_id: str) -> list[Event]:
        """Let everyone waiting in, in the order they arrived."""
        self._actor(actor_id, Action.ADMIT)
        events: list[Event] = []
        for person in self.waiting():
            events += self.admit(actor_id, person.id)
        if not events:
            raise UserError("nobody is waiting")
        return events

    def message_waiting_room(self, actor_id: str, text: str, now: float) -> list[Event]:
        """A message to everyone in the waiting room ("we start in five minutes")."""
        actor = self._actor(actor_id, Action.ADMIT)
        if not self.waiting():
            raise UserError("nobody is waiting")
        return [WaitingRoomMessage(text, actor.actor(), now)]

    def set_chat(self, actor_id: str, enabled: bool) -> list[Event]:
        """Turn group chat on or off (facilitators can always write)."""
        actor = self._actor(actor_id, Action.SET_CHAT)
        if self.chat_enabled == enabled:
            return []
        self.chat_enabled = enabled
        return [ChatSettingChanged(enabled, actor.actor())]

    def signal_break(self, participant_id: str, now: float) -> list[Event]:
        """Tell the facilitators, and only them, that one needs a break."""
        person = self._actor(participant_id, Action.SIGNAL_BREAK)
        self._note("break", person, now)
        return [BreakRequested(person.actor(), now)]

    # -- tracks ----------------------------------------------------------------

    def publish(self, participant_id: str, track_id: str, source: Source) -> list[Event]:
        """The server started receiving `track_id` from the participant."""
        person = self._present(participant_id)
        if source is Source.SCREEN:
            self.check_may_present(person.id)
        else:
            require(person.role, _PUBLISH[source.value])
        if track_id in self._tracks:
            return []
        events: list[Event] = []
        if source is Source.SCREEN:
            # One presenter per room: a new share replaces the one on screen.
            presenting = self.presenter_in_room(participant_id)
            if presenting is not None:
                events += self._end_share(presenting, "replaced", person.actor())
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
        return self._unpublish(track_id) if track_id in self._tracks else []

    def end(self, actor_id: str | None = None) -> list[Event]:
        """End the session for everyone (a therapist, or the admin API with no actor)."""
        actor = self._actor(actor_id, Action.END_SESSION).actor() if actor_id else None
        if self.ended:
            return []
        events: list[Event] = []
        for person in list(self._participants.values()):
            if person.presence is not Presence.LEFT:
                events += self._remove(person, "ended")
        self.ended = True
        self.breakouts.close()
        events.append(SessionEnded(self.id, actor))
        return events

    # -- storage -------------------------------------------------------------

    def to_record(self) -> dict[str, Any]:
        """A JSON-ready record of what must outlive a connection (`record.py`)."""
        return session_record(self)

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Session:
        """Rebuild a session from its record; tracks are media state and start empty."""
        session = cls(record["id"], record["title"], float(record["created_at"]))
        restore_session(session, record)
        return session


_PUBLISH = {"mic": Action.PUBLISH_MIC, "camera": Action.PUBLISH_CAMERA}


# Why someone may not come in, by wire refusal code (see entry_refusal).
ENTRY_REFUSALS = {
    "session_ended": "this session has ended",
    "removed": "you were removed from this session",
    "link_revoked": "this join link was revoked",
    "session_locked": "this session is locked; nobody new can join",
}
