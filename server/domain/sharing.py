"""Screen sharing: asking to present, approval, one presenter per room, revoking, time."""

from __future__ import annotations

from .errors import NotPermitted, UserError
from .events import (
    Event,
    ShareAnswered,
    ShareEnded,
    SharePolicyChanged,
    ShareRequested,
    TrackPublished,
    TrackUnpublished,
)
from .model import Presence, Source
from .roles import Action, may
from .state import SessionState

SHARE_POLICIES = ("replace", "wait")


class ScreenSharing(SessionState):
    """The screen-sharing commands of a session."""

    def share_requests(self) -> tuple[str, ...]:
        """Pending requests to present, oldest first."""
        return tuple(self._share_requests)

    def may_share(self, participant_id: str) -> bool:
        """Whether the participant may publish a screen now."""
        person = self._participants.get(participant_id)
        if person is None or person.presence is not Presence.PRESENT:
            return False
        if may(person.role, Action.PRESENT_WITHOUT_ASKING):
            return True
        return person.id in self._share_rights and may(person.role, Action.ASK_TO_PRESENT)

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
        if granted and not may(person.role, Action.ASK_TO_PRESENT):
            # An observer publishes nothing, a screen included, whoever approves it.
            raise NotPermitted(f"{person.name} cannot present: their role publishes nothing")
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
