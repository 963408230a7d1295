"""The session plan's commands (a mixin of `Session`): set the plan, move on, skip,
extend, spotlight. A segment of kind "breakouts" opens the rooms for its length and
moving on from it brings everyone back; leading a segment is recorded per person."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .breakout_rooms import BreakoutRooms
from .errors import NotFound, NotPermitted, UserError
from .events import Event, PlanChanged, SegmentStarted, SpotlightChanged
from .model import Presence
from .participant import Participant
from .plan import (
    MAX_EXTEND_S,
    MAX_LEADERS,
    MAX_SEGMENT_S,
    MAX_SEGMENTS,
    MIN_EXTEND_S,
    MIN_SEGMENT_S,
    SEGMENT_KINDS,
    LeadRecord,
    Segment,
)
from .roles import Action, Role, may, require


@dataclass(frozen=True)
class SegmentSpec:
    """A segment as a facilitator plans it."""

    title: str
    kind: str
    planned_s: float
    topic: str = ""
    leaders: tuple[str, ...] = ()


class Planning(BreakoutRooms):
    """Set the plan and move through it."""

    def set_plan(
        self, actor_id: str, specs: Sequence[SegmentSpec], leaders_may_advance: bool
    ) -> list[Event]:
        """Lay out the session (before it starts: once under way, move on, skip or
        extend instead)."""
        actor = self._actor(actor_id, Action.PLAN_SESSION)
        if self.plan.started:
            raise UserError("the plan is under way: move on, skip or extend instead")
        if not 1 <= len(specs) <= MAX_SEGMENTS:
            raise UserError(f"a plan has 1-{MAX_SEGMENTS} segments")
        for spec in specs:
            if spec.kind not in SEGMENT_KINDS:
                raise UserError(f"kind: must be one of {', '.join(SEGMENT_KINDS)}")
            if not MIN_SEGMENT_S <= spec.planned_s <= MAX_SEGMENT_S:
                raise UserError(f"plannedS: must be {MIN_SEGMENT_S:.0f}-{MAX_SEGMENT_S:.0f}")
            if len(spec.leaders) > MAX_LEADERS or len(set(spec.leaders)) != len(spec.leaders):
                raise UserError(f"leaders: at most {MAX_LEADERS}, each once")
            for pid in spec.leaders:
                leader = self._known(pid)
                if leader.role not in (Role.THERAPIST, Role.CO_FACILITATOR, Role.PEER_LEADER):
                    raise UserError(f"{leader.name} cannot lead: their link sets the role")
        self.plan.segments = [
            Segment(s.title, s.kind, s.planned_s, s.topic, tuple(s.leaders)) for s in specs
        ]
        self.plan.current = None
        self.plan.leaders_may_advance = leaders_may_advance
        return [PlanChanged(actor.actor())]

    def next_segment(self, actor_id: str, now: float) -> list[Event]:
        """The running segment is done; the next one starts."""
        actor = self._plan_runner(actor_id)
        return self._start_after(self._following(self.plan.current), actor, now)

    def skip_segment(self, actor_id: str, now: float) -> list[Event]:
        """The next segment is skipped; the one after it starts (if any)."""
        actor = self._actor(actor_id, Action.PLAN_SESSION)
        skipped = self._following(self.plan.current)
        if skipped is None:
            raise UserError("no segment left to skip")
        self.plan.segments[skipped].state = "skipped"
        return self._start_after(self._following(skipped), actor, now)

    def extend_segment(self, actor_id: str, seconds: float, now: float) -> list[Event]:
        """Give the running segment more time (a breakouts segment: the rooms too)."""
        actor = self._plan_runner(actor_id)
        running = self.plan.running
        if running is None:
            raise UserError("no segment is running")
        if not MIN_EXTEND_S <= seconds <= MAX_EXTEND_S:
            raise UserError(f"seconds: must be {MIN_EXTEND_S:.0f}-{MAX_EXTEND_S:.0f}")
        running.extended_s += seconds
        events: list[Event] = [PlanChanged(actor.actor())]
        if running.kind == "breakouts" and self.breakouts.open and running.ends_at is not None:
            events += self._time_rooms(actor, running.ends_at - now, now)
        return events

    def set_spotlight(self, actor_id: str, participant_id: str | None) -> list[Event]:
        """Everyone sees one person large (None: nobody)."""
        actor = self._actor(actor_id, Action.SPOTLIGHT)
        if participant_id is not None:
            self._present(participant_id)
        if self.plan.spotlight == participant_id:
            return []
        self.plan.spotlight = participant_id
        return [SpotlightChanged(participant_id, actor.actor())]

    def led_by(self) -> dict[str, int]:
        """How many segments each person has led (or co-led) in this session."""
        counts: dict[str, int] = {}
        for record in self.plan.led:
            counts[record.participant_id] = counts.get(record.participant_id, 0) + 1
        return counts

    # -- internals ------------------------------------------------------------------

    def _plan_runner(self, actor_id: str) -> Participant:
        """A facilitator, or the leader of the running segment when leaders may."""
        actor = self._actor(actor_id, None)
        if may(actor.role, Action.PLAN_SESSION):
            return actor
        running = self.plan.running
        if not may(actor.role, Action.LEAD_SEGMENT):
            require(actor.role, Action.PLAN_SESSION)
        if running is None or actor.id not in running.leaders:
            raise NotPermitted("only the leader of the running segment may move on")
        if not self.plan.leaders_may_advance:
            raise NotPermitted("the therapist moves the session on")
        return actor

    def _following(self, index: int | None) -> int | None:
        """The first upcoming segment after `index` (from the start if None)."""
        if not self.plan.segments:
            raise NotFound("there is no plan")
        start = -1 if index is None else index
        for i in range(start + 1, len(self.plan.segments)):
            if self.plan.segments[i].state == "upcoming":
                return i
        return None

    def _start_after(self, index: int | None, actor: Participant, now: float) -> list[Event]:
        upcoming = None if index is None else self.plan.segments[index]
        if upcoming is not None and upcoming.kind == "breakouts" and not self.breakouts.rooms:
            raise UserError("a breakouts segment needs breakout rooms: create them first")
        events: list[Event] = []
        running = self.plan.running
        if running is not None:
            running.state = "done"
            if running.kind == "breakouts" and self.breakouts.open:
                events += self._close_rooms(actor.actor())
        self.plan.current = index
        if index is None:
            return [*events, PlanChanged(actor.actor())]
        segment = self.plan.segments[index]
        segment.state, segment.started_at = "current", now
        for pid in segment.leaders:
            self.plan.led.append(LeadRecord(pid, segment.kind, segment.title, now))
        events.append(SegmentStarted(index, segment.title, actor.actor()))
        if segment.kind == "breakouts" and not self.breakouts.open:
            # The plan's authority: its runner may open the rooms it planned.
            events += self._open_rooms(actor, segment.planned_s, now)
        # The spotlight follows the segment's (first) leader, if they are in the call;
        # a facilitator can change it at any time.
        leader = self._participants.get(segment.leaders[0]) if segment.leaders else None
        spotlight = (
            leader.id if leader is not None and leader.presence is Presence.PRESENT else None
        )
        if spotlight != self.plan.spotlight:
            self.plan.spotlight = spotlight
            events.append(SpotlightChanged(spotlight, actor.actor()))
        return [*events, PlanChanged(actor.actor())]
