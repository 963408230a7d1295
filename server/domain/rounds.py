"""Go-rounds: everyone in a room gets the floor in turn, and may pass.

A facilitator (or the peer leader of a breakout room, in the room they lead) starts a
round in a room: the people there who may speak get a turn each, in the order listed,
at random or least talk first, with an optional time per person shown as a gentle
countdown (nobody is cut off). Whoever holds the floor may pass at any time; passing
is not shown to the group as anything but a finished turn, and those who passed are
offered the floor once more at the end. The runner moves to the next person; people
who arrive late are added at the end. Others are not muted unless the runner chose
"others muted" for the round.
"""

from __future__ import annotations

import random
from collections.abc import Mapping

from .errors import NotFound, NotPermitted, UserError
from .events import (
    Event,
    Muted,
    ParticipantUpdated,
    RoundChanged,
    RoundEnded,
    RoundStarted,
    UnmuteRequested,
)
from .goround import MAX_TURN_S, MIN_TURN_S, ROUND_ORDERS, GoRound, Turn
from .model import MAIN_ROOM, Presence
from .participant import Participant
from .roles import FACILITATORS, Action, may, require
from .state import SessionState


class GoRounds(SessionState):
    """The session's go-round commands (a mixin of `Session`)."""

    def round_in(self, room: str) -> GoRound | None:
        """The round in a room, if one is going (or over but not yet closed)."""
        return self.rounds.by_room.get(room)

    def start_round(
        self,
        actor_id: str,
        room: str,
        order: str,
        per_person_s: float | None,
        others_muted: bool,
        now: float,
        seed: int = 0,
        talk_s: Mapping[str, float] | None = None,
    ) -> list[Event]:
        """Start a round in `room`; `seed` shuffles a random order, `talk_s` (seconds
        of talk so far, by person) orders least talk first."""
        actor = self._round_runner(actor_id, room)
        if room in self.rounds.by_room:
            raise UserError("a round is already going in this room: end it first")
        if order not in ROUND_ORDERS:
            raise UserError(f"order: must be one of {', '.join(ROUND_ORDERS)}")
        if per_person_s is not None and not MIN_TURN_S <= per_person_s <= MAX_TURN_S:
            raise UserError(f"perPersonS: must be {MIN_TURN_S:.0f}-{MAX_TURN_S:.0f} seconds")
        people = self._round_people(room)
        if not people:
            raise UserError("nobody in this room can take a turn")
        if order == "random":
            random.Random(seed).shuffle(people)
        elif order == "least-talk":
            talk = talk_s or {}
            people.sort(key=lambda pid: talk.get(pid, 0.0))  # stable: ties keep arrival
        go = GoRound(room, [Turn(pid) for pid in people], None, per_person_s, others_muted,
                     actor.id, now)  # fmt: skip
        self.rounds.by_room[room] = go
        events: list[Event] = [RoundStarted(room, actor.actor())]
        if others_muted:
            for person in self._in_room(room):
                if person.id != people[0] and person.role not in FACILITATORS:
                    events += self._round_mute(person, actor)
        events += self._give_floor(go, 0, now, actor)
        return events

    def next_turn(self, actor_id: str, room: str, now: float) -> list[Event]:
        """The floor moves on: the runner's call, or the speaker's own ("I'm done")."""
        go = self._round(room)
        if go.speaker != actor_id:
            self._round_runner(actor_id, room)
        actor = self._actor(actor_id, None)
        if go.current is None:
            raise UserError("the round is over: end it, or start another")
        self._close_turn(go, now, "done")
        return self._advance(go, now, actor)

    def pass_turn(self, participant_id: str, now: float) -> list[Event]:
        """Pass, without a reason: only whoever holds the floor, in their own room."""
        person = self._actor(participant_id, Action.TAKE_TURN)
        go = self._round(person.room)
        if go.speaker != person.id:
            raise UserError("it is not your turn")
        self._close_turn(go, now, "passed")
        return self._advance(go, now, person)

    def end_round(self, actor_id: str, room: str, now: float) -> list[Event]:
        """Close the round in `room` (over or not)."""
        actor = self._round_runner(actor_id, room)
        go = self._round(room)
        if go.current is not None:
            self._close_turn(go, now, "done")
        del self.rounds.by_room[room]
        return [RoundEnded(room, actor.actor())]

    def end_rounds_outside(self, rooms: set[str]) -> list[Event]:
        """Rounds of rooms that no longer exist (breakout rooms closed) end."""
        gone = [room for room in self.rounds.by_room if room not in rooms]
        for room in gone:
            del self.rounds.by_room[room]
        return [RoundEnded(room, None) for room in gone]

    # -- internals ------------------------------------------------------------------

    def _round(self, room: str) -> GoRound:
        go = self.rounds.by_room.get(room)
        if go is None:
            raise NotFound("no round is going in this room")
        return go

    def _round_runner(self, actor_id: str, room: str) -> Participant:
        """A facilitator, or the peer leader of the breakout room, there."""
        actor = self._actor(actor_id, None)
        if room != MAIN_ROOM and room not in self.breakouts.rooms:
            raise NotFound("no such room")
        if may(actor.role, Action.RUN_ROUNDS):
            return actor
        if not may(actor.role, Action.RUN_LED_ROOM_ROUNDS):
            require(actor.role, Action.RUN_ROUNDS)
        if not (self.breakouts.leads(actor.id, room) and actor.room == room):
            raise NotPermitted("you may run a round only in the breakout room you lead")
        return actor

    def _in_room(self, room: str) -> list[Participant]:
        return [
            p
            for p in self._participants.values()
            if p.presence is Presence.PRESENT and p.room == room
        ]

    def _round_people(self, room: str) -> list[str]:
        """Who gets a turn: those present in the room who may take one (facilitators
        run the round rather than take a turn in it)."""
        return [p.id for p in self._in_room(room) if may(p.role, Action.TAKE_TURN)]

    def _close_turn(self, go: GoRound, now: float, state: str) -> None:
        assert go.current is not None
        turn = go.turns[go.current]
        if turn.started_at is not None:
            turn.held_s += max(0.0, now - turn.started_at)
        turn.started_at = None
        turn.state = state
        if state == "passed":
            turn.passes += 1

    def _advance(self, go: GoRound, now: float, actor: Participant) -> list[Event]:
        """The next person gets the floor: late arrivals join the end; those who
        passed are offered it once more after everyone else; then the round is over."""
        present = set(self._round_people(go.room))
        for pid in present:
            if go.turn_of(pid) is None:
                go.turns.append(Turn(pid))
        previous = go.current if go.current is not None else -1
        for index, turn in enumerate(go.turns):
            if turn.state == "waiting" and turn.participant_id not in present:
                turn.state = "gone"
            elif index > previous and turn.state == "waiting":
                return self._hand_over(go, index, now, actor)
        if not go.revisiting:
            go.revisiting = True
            previous = -1
        for index, turn in enumerate(go.turns):
            if (
                index > previous
                and turn.state == "passed"
                and turn.passes == 1
                and turn.participant_id in present
            ):
                return self._hand_over(go, index, now, actor)
        go.current = None
        return [RoundChanged(go.room)]

    def _hand_over(self, go: GoRound, index: int, now: float, actor: Participant) -> list[Event]:
        events: list[Event] = []
        if go.others_muted and go.current is not None:
            before = self._participants.get(go.turns[go.current].participant_id)
            if before is not None and before.presence is Presence.PRESENT:
                events += self._round_mute(before, actor)
        return events + self._give_floor(go, index, now, actor)

    def _give_floor(self, go: GoRound, index: int, now: float, actor: Participant) -> list[Event]:
        go.current = index
        turn = go.turns[index]
        turn.state = "speaking"
        turn.started_at = now
        events: list[Event] = [RoundChanged(go.room)]
        speaker = self._participants.get(turn.participant_id)
        if go.others_muted and speaker is not None and speaker.mic == "off":
            # Nobody is unmuted by force: they are asked, and decide.
            events.append(UnmuteRequested(speaker.id, actor.actor()))
        return events

    def _round_mute(self, person: Participant, actor: Participant) -> list[Event]:
        if person.mic == "off":
            return []
        person.mic = "off"
        return [Muted(person.id, actor.actor()), ParticipantUpdated(person.view())]
