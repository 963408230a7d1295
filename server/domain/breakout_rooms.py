"""Breakout-room commands: define, plan, open, move, visit, time, broadcast, close."""

from __future__ import annotations

import random
from collections.abc import Sequence

from .assignment import AssignmentRequest, plan_assignment
from .breakouts import MAX_BROADCAST, WARNING_S, HelpRequest
from .errors import NotPermitted, UserError
from .events import (
    Actor,
    BreakoutBroadcast,
    BreakoutsChanged,
    BreakoutsClosed,
    BreakoutsOpened,
    BreakoutWarning,
    Event,
    HelpRequested,
    RoundEnded,
)
from .model import MAIN_ROOM, Presence
from .participant import IN_CALL, Participant
from .roles import FACILITATORS, Action, Role
from .state import SessionState

# Roles an automatic assignment spreads over the rooms; facilitators stay in the main
# room (they visit), observers watch the main room.
ASSIGNED_ROLES = (Role.PATIENT, Role.PEER_LEADER)


class BreakoutRooms(SessionState):
    """The breakout-room commands of a session."""

    def set_breakout_rooms(self, actor_id: str, names: Sequence[str]) -> list[Event]:
        """Create (or replace, while closed) the breakout rooms, by name."""
        actor = self._actor(actor_id, Action.MANAGE_BREAKOUTS)
        self.breakouts.define(list(names))
        return [BreakoutsChanged(actor.actor())]

    def assign_breakouts(
        self,
        actor_id: str,
        mode: str,
        together: Sequence[Sequence[str]],
        apart: Sequence[Sequence[str]],
        rng: random.Random,
    ) -> list[Event]:
        """Plan who goes where: patients and peer leaders in the call, spread evenly."""
        actor = self._actor(actor_id, Action.MANAGE_BREAKOUTS)
        if self.breakouts.open:
            raise UserError("the rooms are open: move people one by one")
        people = [
            p.id
            for p in self._participants.values()
            if p.presence is Presence.PRESENT and p.role in ASSIGNED_ROLES
        ]
        request = AssignmentRequest(people, list(self.breakouts.rooms), mode, together, apart)
        self.breakouts.planned = plan_assignment(request, rng)
        return [BreakoutsChanged(actor.actor())]

    def assign_to_room(self, actor_id: str, participant_id: str, room_id: str) -> list[Event]:
        """Put one person in a room: planned while closed, moved at once while open."""
        actor = self._actor(actor_id, Action.MOVE_PEOPLE)
        person = self._present(participant_id)
        if room_id != MAIN_ROOM:
            self.breakouts.room(room_id)
        self.breakouts.plan(person.id, room_id)
        if not self.breakouts.open:
            return [BreakoutsChanged(actor.actor())]
        return [*self._move(person, room_id, actor.actor()), BreakoutsChanged(actor.actor())]

    def set_room_leader(self, actor_id: str, room_id: str, leader_id: str | None) -> list[Event]:
        """Make a peer leader (or nobody) the leader of a room."""
        actor = self._actor(actor_id, Action.MANAGE_BREAKOUTS)
        room = self.breakouts.room(room_id)
        if leader_id is not None:
            leader = self._known(leader_id)
            if leader.role is not Role.PEER_LEADER:
                raise UserError(f"{leader.name} is not a peer leader (their link sets the role)")
        if room.leader == leader_id:
            return []
        room.leader = leader_id
        return [BreakoutsChanged(actor.actor())]

    def set_self_choice(self, actor_id: str, enabled: bool) -> list[Event]:
        """Let participants choose their own room while the rooms are open (or not)."""
        actor = self._actor(actor_id, Action.MANAGE_BREAKOUTS)
        if self.breakouts.self_choice == enabled:
            return []
        self.breakouts.self_choice = enabled
        return [BreakoutsChanged(actor.actor())]

    def open_breakouts(self, actor_id: str, duration_s: float | None, now: float) -> list[Event]:
        """Open the rooms: everyone planned goes to their room; the timer starts."""
        return self._open_rooms(self._actor(actor_id, Action.MANAGE_BREAKOUTS), duration_s, now)

    def _open_rooms(self, actor: Participant, duration_s: float | None, now: float) -> list[Event]:
        """Open the rooms on `actor`'s authority (checked by the caller: a facilitator,
        or the plan's breakouts segment)."""
        if self.breakouts.open:
            raise UserError("the breakout rooms are already open")
        if not self.breakouts.rooms:
            raise UserError("create breakout rooms first")
        self.breakouts.set_timer(duration_s, now)
        self.breakouts.open = True
        events: list[Event] = [BreakoutsOpened(actor.actor(), self.breakouts.ends_at)]
        for person in list(self._participants.values()):
            room = self.breakouts.planned.get(person.id)
            if room is not None and person.presence is Presence.PRESENT:
                events += self._move(person, room, actor.actor())
        events.append(BreakoutsChanged(actor.actor()))
        return events

    def set_breakout_timer(
        self, actor_id: str, remaining_s: float | None, now: float
    ) -> list[Event]:
        """Extend or shorten: the rooms now close `remaining_s` from now (None: no timer)."""
        return self._time_rooms(self._actor(actor_id, Action.MANAGE_BREAKOUTS), remaining_s, now)

    def _time_rooms(self, actor: Participant, remaining_s: float | None, now: float) -> list[Event]:
        if not self.breakouts.open:
            raise UserError("the breakout rooms are not open")
        self.breakouts.set_timer(remaining_s, now)
        return [BreakoutsChanged(actor.actor())]

    def broadcast(self, actor_id: str, text: str, now: float) -> list[Event]:
        """A message to every room (shown to everyone in the call)."""
        actor = self._actor(actor_id, Action.BROADCAST)
        text = text.strip()
        if not 1 <= len(text) <= MAX_BROADCAST:
            raise UserError(f"text: 1 to {MAX_BROADCAST} characters")
        return [BreakoutBroadcast(actor.actor(), text, now)]

    def visit(self, actor_id: str, room_id: str) -> list[Event]:
        """A facilitator looks in on a room (shown there as visiting); main: back."""
        actor = self._actor(actor_id, Action.VISIT_ROOMS)
        self.breakouts.check_destination(room_id)
        visiting = room_id != MAIN_ROOM and self.breakouts.planned.get(actor.id) != room_id
        return self._move(actor, room_id, actor.actor(), visiting=visiting)

    def choose_room(self, participant_id: str, room_id: str) -> list[Event]:
        """Go to a room of one's own choice, when the therapist allows it."""
        person = self._actor(participant_id, Action.CHOOSE_OWN_ROOM)
        if not self.breakouts.self_choice and person.role not in FACILITATORS:
            raise NotPermitted("choosing your own room is not allowed in this session")
        if not self.breakouts.open:
            raise UserError("the breakout rooms are not open")
        self.breakouts.check_destination(room_id)
        self.breakouts.plan(person.id, room_id)
        return [*self._move(person, room_id, None), BreakoutsChanged(None)]

    def request_help(self, participant_id: str, now: float) -> list[Event]:
        """Ask the facilitators to come to one's breakout room."""
        person = self._actor(participant_id, Action.ASK_FOR_HELP)
        if person.room == MAIN_ROOM:
            raise UserError("you are in the main room: the facilitators are here")
        if not self.breakouts.add_help(HelpRequest(person.id, person.room, now)):
            return []
        name = self.breakouts.name_of(person.room)
        return [HelpRequested(person.actor(), person.room, name, now), BreakoutsChanged(None)]

    def clear_help(self, actor_id: str, participant_id: str) -> list[Event]:
        """A facilitator answered a help request (or dismissed it)."""
        actor = self._actor(actor_id, Action.SEE_HELP_REQUESTS)
        self._known(participant_id)
        before = len(self.breakouts.help)
        self.breakouts.help = [h for h in self.breakouts.help if h.participant_id != participant_id]
        return [BreakoutsChanged(actor.actor())] if len(self.breakouts.help) != before else []

    def close_breakouts(self, actor_id: str | None, reason: str = "closed") -> list[Event]:
        """Bring everyone back to the main room (a facilitator, or the timer)."""
        by = self._actor(actor_id, Action.MANAGE_BREAKOUTS).actor() if actor_id else None
        return self._close_rooms(by, reason)

    def _close_rooms(self, by: Actor | None, reason: str = "closed") -> list[Event]:
        if not self.breakouts.open:
            raise UserError("the breakout rooms are not open")
        self.breakouts.close()
        events: list[Event] = [BreakoutsClosed(reason, by)]
        # Rounds inside the rooms end with them.
        for room in [r for r in self.rounds.by_room if r != MAIN_ROOM]:
            del self.rounds.by_room[room]
            events.append(RoundEnded(room, by))
        for person in list(self._participants.values()):
            if person.presence in IN_CALL and (person.room != MAIN_ROOM or person.visiting):
                events += self._move(person, MAIN_ROOM, by)
            elif person.presence not in IN_CALL:
                person.room, person.visiting = MAIN_ROOM, False
        events.append(BreakoutsChanged(by))
        return events

    def breakout_tick(self, now: float) -> list[Event]:
        """The timer: warn before the end, bring everyone back at the end."""
        b = self.breakouts
        if not b.open or b.ends_at is None or self.ended:
            return []
        if now >= b.ends_at:
            return self.close_breakouts(None, "timer")
        if not b.warned and now >= b.ends_at - WARNING_S:
            b.warned = True
            return [BreakoutWarning(round(b.ends_at - now)), BreakoutsChanged(None)]
        return []

    def next_deadline(self) -> float | None:
        """When `breakout_tick` next has something to do (never once ended)."""
        return None if self.ended else self.breakouts.next_deadline()
