"""Who sees speaking statistics: facilitators always; a peer leader the cues of the
room they lead, only while a facilitator allows it (a session flag)."""

from __future__ import annotations

from .events import Event, SpeakingOptionsChanged
from .roles import Action, Role
from .state import SessionState


class SpeakingOptions(SessionState):
    """The speaking-statistics commands and checks of a session."""

    def set_speaking_options(self, actor_id: str, leaders_see_room: bool) -> list[Event]:
        """Let peer leaders see the speaking cues of the room they lead (or not)."""
        actor = self._actor(actor_id, Action.SET_SPEAKING_OPTIONS)
        if self.leaders_see_room == leaders_see_room:
            return []
        self.leaders_see_room = leaders_see_room
        return [SpeakingOptionsChanged(leaders_see_room, actor.actor())]

    def check_may_see_speaking(self, actor_id: str) -> None:
        """Raise NotPermitted unless the caller may see everyone's speaking statistics."""
        self._actor(actor_id, Action.SEE_SPEAKING_STATS)

    def led_room(self, participant_id: str) -> str | None:
        """The breakout room this person leads while the rooms are open, if any."""
        person = self._participants.get(participant_id)
        if person is None or person.role is not Role.PEER_LEADER or not self.breakouts.open:
            return None
        for room_id, room in self.breakouts.rooms.items():
            if room.leader == participant_id:
                return room_id
        return None
