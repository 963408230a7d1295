"""Caption consent: a facilitator switches captions on for the session; each
participant may decline having their speech captioned. Only the people `captioned()`
names may have their audio sent to a caption engine."""

from __future__ import annotations

from .events import CaptionConsentChanged, CaptionsChanged, Event
from .model import Presence
from .roles import Action, may
from .state import SessionState


class Captioning(SessionState):
    """The caption commands of a session."""

    def set_captions(self, actor_id: str, enabled: bool, transcript: bool) -> list[Event]:
        """Captions on or off; `transcript`: keep final caption text (for the retention
        period) instead of showing it live only."""
        actor = self._actor(actor_id, Action.MANAGE_CAPTIONS)
        transcript = transcript and enabled
        if (self.captions_on, self.transcript_on) == (enabled, transcript):
            return []
        self.captions_on = enabled
        self.transcript_on = transcript
        return [CaptionsChanged(enabled, transcript, actor.actor())]

    def set_caption_consent(self, participant_id: str, declined: bool) -> list[Event]:
        """Decline (or accept again) having one's own speech captioned."""
        person = self._actor(participant_id, Action.PUBLISH_MIC)
        if (person.id in self._caption_declined) == declined:
            return []
        if declined:
            self._caption_declined.add(person.id)
        else:
            self._caption_declined.discard(person.id)
        return [CaptionConsentChanged(person.id, declined)]

    def declined_captions(self, participant_id: str) -> bool:
        """Whether the participant declined captioning."""
        return participant_id in self._caption_declined

    def captioned(self) -> frozenset[str]:
        """Whose audio may go to a caption engine now: captions on, present, publishing
        a live mic, and not declined."""
        if not self.captions_on or self.ended:
            return frozenset()
        return frozenset(
            p.id
            for p in self._participants.values()
            if p.presence is Presence.PRESENT
            and p.mic == "live"
            and may(p.role, Action.PUBLISH_MIC)
            and p.id not in self._caption_declined
        )
