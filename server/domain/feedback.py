"""Support for whoever led a segment, and light reactions during the call (a mixin of
`Session`). Feedback goes privately to the segment's leaders and to the
facilitators, never to the group, and is relayed, not stored; one each per segment.
Reactions show briefly on the reacting person's tile; the therapist can turn them off.
"""

from __future__ import annotations

from .errors import NotFound, UserError
from .events import Event, FeedbackSent, Reacted, ReactionsSettingChanged
from .roles import Action
from .state import SessionState

FEEDBACK_KINDS = ("thank-you", "well-led", "felt-heard", "helpful", "brave")
MAX_FEEDBACK_TEXT = 280
REACTIONS = ("thank-you", "me-too", "clap", "heart")


class Feedback(SessionState):
    """Feedback to a segment's leaders; reactions."""

    def send_feedback(
        self, sender_id: str, segment: int, kind: str, text: str, now: float
    ) -> list[Event]:
        """Supportive feedback for the leaders of a segment that has ended."""
        sender = self._actor(sender_id, Action.SEND_FEEDBACK)
        if kind not in FEEDBACK_KINDS:
            raise UserError(f"kind: must be one of {', '.join(FEEDBACK_KINDS)}")
        if len(text) > MAX_FEEDBACK_TEXT:
            raise UserError(f"text: at most {MAX_FEEDBACK_TEXT} characters")
        segments = self.plan.segments
        if not 0 <= segment < len(segments):
            raise NotFound("no such segment")
        led = segments[segment]
        if led.state != "done":
            raise UserError("feedback is for a segment that has ended")
        if not led.leaders:
            raise UserError("nobody led this segment")
        if sender.id in led.leaders:
            raise UserError("feedback is for the leaders, from the others")
        key = f"{sender.id}:{segment}"
        if key in self.plan.feedback_from:
            raise UserError("you have sent feedback for this segment")
        self.plan.feedback_from.append(key)
        return [FeedbackSent(segment, led.leaders, sender.actor(), kind, text.strip(), now)]

    def react(self, participant_id: str, reaction: str) -> list[Event]:
        """A brief reaction on one's own tile (thank you, me too, clap, heart)."""
        person = self._actor(participant_id, Action.REACT)
        if not self.reactions_enabled:
            raise UserError("reactions are off in this session")
        if reaction not in REACTIONS:
            raise UserError(f"reaction: must be one of {', '.join(REACTIONS)}")
        return [Reacted(person.id, person.room, reaction)]

    def set_reactions(self, actor_id: str, enabled: bool) -> list[Event]:
        """Turn reactions on or off for the session."""
        actor = self._actor(actor_id, Action.SET_REACTIONS)
        if self.reactions_enabled == enabled:
            return []
        self.reactions_enabled = enabled
        return [ReactionsSettingChanged(enabled, actor.actor())]
