"""A live group session: who is in it (or waiting), what they publish, who hears whom."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from .errors import NotFound, NotPermitted, UserError
from .events import (
    Actor,
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
    ParticipantLeft,
    ParticipantUpdated,
    ParticipantWaiting,
    SessionEnded,
    ShareAnswered,
    ShareEnded,
    SharePolicyChanged,
    ShareRequested,
    TrackPublished,
    TrackUnpublished,
    UnmuteRequested,
)
from .model import MAIN_ROOM, ParticipantView, Presence, Source, TrackView
from .roles import FACILITATORS, Action, Role, may, require

log = logging.getLogger(__name__)

MEDIA_STATES = ("live", "off")
CHAT_TARGETS = ("room", "facilitators")
SHARE_POLICIES = ("replace", "wait")


@dataclass
class _Participant:
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

    def view(self) -> ParticipantView:
        return ParticipantView(
            self.id, self.name, self.role, self.presence, self.mic, self.camera, self.room
        )

    def actor(self) -> Actor:
        return Actor(self.id, self.name)

    def move_to(self, presence: Presence) -> None:
        """The one transition of presence; logs old -> new."""
        if presence is not self.presence:
            log.info("participant %s: %s -> %s", self.id, self.presence.value, presence.value)
            self.presence = presence


@dataclass
class Session:
    """One group session. Changing methods return the events they caused, and check
    the caller's permission against the role bound to their token."""

    id: str
    title: str
    created_at: float
    ended: bool = False
    locked: bool = False
    waiting_room: bool = True
    chat_enabled: bool = True
    # When someone presents while another does: "replace" the share on screen, or
    # make the newcomer "wait" until it ends. The therapist chooses.
    share_policy: str = "replace"
    _participants: dict[str, _Participant] = field(default_factory=dict)
    _tracks: dict[str, TrackView] = field(default_factory=dict)
    _removed: set[str] = field(default_factory=set)
    _hands: list[str] = field(default_factory=list)
    _chat_seq: int = 0
    _share_requests: list[str] = field(default_factory=list)
    _share_rights: set[str] = field(default_factory=set)
    _presenting_since: dict[str, float] = field(default_factory=dict)
    _presented_s: dict[str, float] = field(default_factory=dict)

    # -- queries -------------------------------------------------------------

    def participants(self) -> list[ParticipantView]:
        """Everyone in the call (present or reconnecting), in order of arrival."""
        return [p.view() for p in self._participants.values() if p.presence in _IN_CALL]

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
        known = self._participants.get(participant_id)
        if self.locked and (known is None or known.presence is Presence.LEFT):
            return "session_locked"
        return None

    def subscriptions(self) -> dict[str, frozenset[str]]:
        """For each present participant, the tracks they should receive.

        Everyone receives the others' live tracks in their room; nobody receives their
        own; a muted mic or stopped camera is forwarded to nobody; people waiting or
        reconnecting receive nothing.
        """
        present = {p.id: p for p in self._participants.values() if p.presence is Presence.PRESENT}
        live = [
            t
            for t in self._tracks.values()
            if t.participant_id in present and _forwarded(present[t.participant_id], t.source)
        ]
        return {
            viewer.id: frozenset(
                t.id
                for t in live
                if t.participant_id != viewer.id and present[t.participant_id].room == viewer.room
            )
            for viewer in present.values()
        }

    # -- arriving and leaving --------------------------------------------------

    def join(
        self, participant_id: str, name: str, role: Role, now: float, pre_admitted: bool = False
    ) -> list[Event]:
        """Knock: facilitators come in, others wait (unless pre-admitted, or the waiting
        room is off, while a facilitator is present); back within grace: come straight in."""
        refusal = self.entry_refusal(participant_id)
        if refusal is not None:
            raise NotPermitted(ENTRY_REFUSALS[refusal])
        require(role, Action.JOIN)
        known = self._participants.get(participant_id)
        if known is not None and known.presence is not Presence.LEFT:
            if known.presence is Presence.RECONNECTING:
                known.dropped_at = None
                known.move_to(Presence.PRESENT)
                return [ParticipantUpdated(known.view())]
            if known.presence is Presence.WAITING:
                return [ParticipantWaiting(known.view())]
            return []
        person = _Participant(participant_id, name, role, pre_admitted=pre_admitted)
        # Someone who may not publish (an observer) shows as muted with camera off.
        person.mic = "live" if may(role, Action.PUBLISH_MIC) else "off"
        person.camera = "live" if may(role, Action.PUBLISH_CAMERA) else "off"
        # A returning person goes to the end of the arrival order.
        self._participants.pop(participant_id, None)
        self._participants[participant_id] = person
        if may(role, Action.SKIP_WAITING_ROOM):
            person.move_to(Presence.PRESENT)
            return [ParticipantJoined(person.view()), *self._admit_expected()]
        if self._lets_in(person):
            person.move_to(Presence.PRESENT)
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
        person.move_to(Presence.PRESENT)
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
        """Mute someone: their mic is forwarded to nobody from now on."""
        actor = self._actor(actor_id, Action.MUTE)
        person = self._present(participant_id)
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
        actor = self._actor(actor_id, Action.ASK_UNMUTE)
        person = self._present(participant_id)
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

    def post_chat(self, sender_id: str, to: str, text: str, now: float) -> list[Event]:
        """Chat to the room, or privately to the facilitators."""
        if to not in CHAT_TARGETS:
            raise UserError(f"to: must be one of {', '.join(CHAT_TARGETS)}")
        action = Action.CHAT if to == "room" else Action.CHAT_FACILITATORS
        sender = self._actor(sender_id, action)
        if to == "room" and not self.chat_enabled and sender.role not in FACILITATORS:
            raise NotPermitted("group chat is turned off")
        self._chat_seq += 1
        return [ChatPosted(self._chat_seq, sender.actor(), to, text, now)]

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
        return [BreakRequested(person.actor(), now)]

    # -- screen sharing ------------------------------------------------------------

    def share_requests(self) -> tuple[str, ...]:
        """Pending requests to present, oldest first."""
        return tuple(self._share_requests)

    def may_share(self, participant_id: str) -> bool:
        """Whether the participant may publish a screen now."""
        person = self._participants.get(participant_id)
        if person is None or person.presence is not Presence.PRESENT:
            return False
        return may(person.role, Action.PRESENT_WITHOUT_ASKING) or person.id in self._share_rights

    def presenting_time(self) -> dict[str, float]:
        """Seconds each participant has presented (a share in progress counts so far)."""
        return dict(self._presented_s)

    def presenter_in_room(self, participant_id: str) -> str | None:
        """Who else is presenting in this participant's room, if anyone."""
        room = self._known(participant_id).room
        for track in self._tracks.values():
            owner = self._participants[track.participant_id]
            if track.source is Source.SCREEN and owner.id != participant_id and owner.room == room:
                return owner.id
        return None

    def check_may_present(self, participant_id: str) -> None:
        """Raise unless the participant may start a screen share in their room now."""
        if not self.may_share(participant_id):
            raise NotPermitted("you may not share your screen: ask to present first")
        presenting = self.presenter_in_room(participant_id)
        if self.share_policy == "wait" and presenting is not None:
            name = self._participants[presenting].name
            raise UserError(f"{name} is presenting; you can present when they stop")

    def set_share_policy(self, actor_id: str, policy: str) -> list[Event]:
        """Choose whether a new presenter replaces the one on screen or waits."""
        actor = self._actor(actor_id, Action.APPROVE_PRESENTER)
        if policy not in SHARE_POLICIES:
            raise UserError(f"policy: must be one of {', '.join(SHARE_POLICIES)}")
        if policy == self.share_policy:
            return []
        self.share_policy = policy
        return [SharePolicyChanged(policy, actor.actor())]

    def request_share(self, participant_id: str) -> list[Event]:
        """Ask the facilitators for the right to share one's screen."""
        person = self._actor(participant_id, Action.ASK_TO_PRESENT)
        if person.id in self._share_rights:
            raise UserError("you may already share your screen")
        if person.id in self._share_requests:
            raise UserError("your request to present is pending")
        self._share_requests.append(person.id)
        return [ShareRequested(person.actor())]

    def answer_share(self, actor_id: str, participant_id: str, granted: bool) -> list[Event]:
        """Approve or decline a request; approving also works unasked (in advance)."""
        actor = self._actor(actor_id, Action.APPROVE_PRESENTER)
        person = self._present(participant_id)
        if not granted and person.id not in self._share_requests:
            raise UserError(f"{person.name} has not asked to present")
        if person.id in self._share_requests:
            self._share_requests.remove(person.id)
        if granted:
            self._share_rights.add(person.id)
        return [ShareAnswered(person.id, granted, actor.actor())]

    def revoke_share(self, actor_id: str, participant_id: str) -> list[Event]:
        """Take the right back; a share in progress stops at once. No right: no-op."""
        actor = self._actor(actor_id, Action.APPROVE_PRESENTER)
        person = self._known(participant_id)
        had_right = person.id in self._share_rights
        self._share_rights.discard(person.id)
        events = self._end_share(person.id, "revoked", actor.actor())
        if not had_right and not events:
            return []
        return events or [ShareEnded(person.id, "revoked", actor.actor())]

    def note_time(self, events: list[Event], now: float) -> None:
        """Account presenting time from the screen tracks that came and went."""
        for event in events:
            if isinstance(event, TrackPublished) and event.track.source is Source.SCREEN:
                self._presenting_since[event.track.participant_id] = now
            elif isinstance(event, TrackUnpublished):
                since = self._presenting_since.get(event.participant_id)
                screen_gone = not any(
                    t.participant_id == event.participant_id and t.source is Source.SCREEN
                    for t in self._tracks.values()
                )
                if since is not None and screen_gone:
                    del self._presenting_since[event.participant_id]
                    total = self._presented_s.get(event.participant_id, 0.0) + (now - since)
                    self._presented_s[event.participant_id] = round(total, 3)

    def _end_share(self, participant_id: str, reason: str, by: Actor | None) -> list[Event]:
        events: list[Event] = []
        for track in list(self._tracks.values()):
            if track.participant_id == participant_id and track.source is Source.SCREEN:
                events += self._unpublish(track.id)
        if events:
            events.append(ShareEnded(participant_id, reason, by))
        return events

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
        events.append(SessionEnded(self.id, actor))
        return events

    # -- storage -------------------------------------------------------------

    def to_record(self) -> dict[str, Any]:
        """A JSON-ready record of what must outlive a connection."""
        return {
            "id": self.id,
            "title": self.title,
            "created_at": self.created_at,
            "ended": self.ended,
            "locked": self.locked,
            "waiting_room": self.waiting_room,
            "chat_enabled": self.chat_enabled,
            "share_policy": self.share_policy,
            "removed": sorted(self._removed),
            "hands": list(self._hands),
            "chat_seq": self._chat_seq,
            "share_requests": list(self._share_requests),
            "share_rights": sorted(self._share_rights),
            "presented_s": dict(self._presented_s),
            "participants": [
                {
                    "id": p.id,
                    "name": p.name,
                    "role": p.role.value,
                    "presence": p.presence.value,
                    "mic": p.mic,
                    "camera": p.camera,
                    "room": p.room,
                    "pre_admitted": p.pre_admitted,
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
        session.locked = bool(record.get("locked", False))
        session.waiting_room = bool(record.get("waiting_room", True))
        session.chat_enabled = bool(record.get("chat_enabled", True))
        session.share_policy = str(record.get("share_policy", "replace"))
        session._removed = set(record.get("removed", []))
        session._hands = list(record.get("hands", []))
        session._chat_seq = int(record.get("chat_seq", 0))
        session._share_requests = list(record.get("share_requests", []))
        session._share_rights = set(record.get("share_rights", []))
        session._presented_s = dict(record.get("presented_s", {}))
        for p in record["participants"]:
            session._participants[p["id"]] = _Participant(
                id=p["id"],
                name=p["name"],
                role=Role(p["role"]),
                presence=Presence(p["presence"]),
                mic=p["mic"],
                camera=p["camera"],
                room=p["room"],
                pre_admitted=bool(p.get("pre_admitted", False)),
                dropped_at=p["dropped_at"],
            )
        return session

    # -- internals -----------------------------------------------------------

    def _known(self, participant_id: str) -> _Participant:
        person = self._participants.get(participant_id)
        if person is None or person.presence is Presence.LEFT:
            raise NotFound(f"no participant {participant_id} in this session")
        return person

    def _present(self, participant_id: str) -> _Participant:
        person = self._known(participant_id)
        if person.presence is not Presence.PRESENT:
            raise UserError(f"participant {participant_id} is not in the call")
        return person

    def _waiting(self, participant_id: str) -> _Participant:
        person = self._known(participant_id)
        if person.presence is not Presence.WAITING:
            raise UserError(f"participant {participant_id} is not in the waiting room")
        return person

    def _actor(self, actor_id: str, action: Action | None) -> _Participant:
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

    def _lets_in(self, person: _Participant) -> bool:
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
                person.move_to(Presence.PRESENT)
                events.append(ParticipantJoined(person.view()))
        return events

    def _require_open(self) -> None:
        if self.ended:
            raise UserError("the session has ended")

    def _lower(self, participant_id: str, by: Actor | None) -> list[Event]:
        if participant_id not in self._hands:
            return []
        self._hands.remove(participant_id)
        return [HandsChanged(self.hands(), by)]

    def _remove(self, person: _Participant, reason: str, by: Actor | None = None) -> list[Event]:
        if person.id in self._share_requests:
            self._share_requests.remove(person.id)
        self._share_rights.discard(person.id)
        events: list[Event] = self._unpublish_all(person.id)
        events += self._lower(person.id, None)
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


_IN_CALL = (Presence.PRESENT, Presence.RECONNECTING)
_PUBLISH = {"mic": Action.PUBLISH_MIC, "camera": Action.PUBLISH_CAMERA}


def _forwarded(person: _Participant, source: Source) -> bool:
    """A muted mic or stopped camera is forwarded to nobody."""
    if source is Source.MIC:
        return person.mic == "live"
    if source is Source.CAMERA:
        return person.camera == "live"
    return True


# Why someone may not come in, by wire refusal code (see entry_refusal).
ENTRY_REFUSALS = {
    "session_ended": "this session has ended",
    "removed": "you were removed from this session",
    "session_locked": "this session is locked; nobody new can join",
}
