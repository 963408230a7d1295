"""The session plan in the domain: segments in order, leaders, breakouts, spotlight."""

from __future__ import annotations

import pytest

from server.domain.errors import NotFound, NotPermitted, UserError
from server.domain.events import PlanChanged, SegmentStarted, SpotlightChanged
from server.domain.planning import SegmentSpec
from server.domain.roles import Role
from server.domain.session import Session

T0 = 1000.0


def group() -> Session:
    session = Session("s_1", "Group", T0, waiting_room=False)
    session.join("p_t", "Dr. Rivera", Role.THERAPIST, T0)
    session.join("p_l", "Lee", Role.PEER_LEADER, T0)
    session.join("p_a", "Alex", Role.PATIENT, T0)
    return session


PLAN = [
    SegmentSpec("Check-in", "check-in", 600),
    SegmentSpec("Coping with sleep", "topic", 1200, "sleep", ("p_l",)),
    SegmentSpec("Small groups", "breakouts", 900),
    SegmentSpec("Reflection", "reflection", 600),
]


def test_the_plan_runs_in_order_and_records_who_led() -> None:
    session = group()
    [changed] = session.set_plan("p_t", PLAN, leaders_may_advance=False)
    assert isinstance(changed, PlanChanged)
    events = session.next_segment("p_t", T0)
    assert any(isinstance(e, SegmentStarted) and e.index == 0 for e in events)
    running = session.plan.running
    assert running is not None and running.ends_at == T0 + 600
    events = session.next_segment("p_t", T0 + 610)
    # The topic's leader gets the spotlight and their leading is recorded.
    assert [e.participant_id for e in events if isinstance(e, SpotlightChanged)] == ["p_l"]
    assert session.plan.spotlight == "p_l" and session.led_by() == {"p_l": 1}
    assert [s.state for s in session.plan.segments] == ["done", "current", "upcoming", "upcoming"]


def test_a_breakouts_segment_opens_the_rooms_and_moving_on_brings_everyone_back() -> None:
    session = group()
    session.set_plan("p_t", PLAN, False)
    session.next_segment("p_t", T0)
    session.next_segment("p_t", T0 + 600)
    with pytest.raises(UserError, match="breakout rooms"):
        session.next_segment("p_t", T0 + 1800)  # no rooms yet: nothing changes
    assert session.plan.current == 1
    session.set_breakout_rooms("p_t", ["One", "Two"])
    session.assign_to_room("p_t", "p_a", "r1")
    session.next_segment("p_t", T0 + 1800)
    assert session.breakouts.open and session.breakouts.ends_at == T0 + 1800 + 900
    assert session.participant("p_a").room == "r1"
    session.extend_segment("p_t", 120, T0 + 2000)
    assert session.breakouts.ends_at == T0 + 1800 + 900 + 120
    session.next_segment("p_t", T0 + 2800)
    assert not session.breakouts.open and session.participant("p_a").room == "main"
    assert session.plan.running is not None and session.plan.running.kind == "reflection"


def test_a_leader_moves_on_only_when_allowed_and_only_their_segment() -> None:
    session = group()
    session.set_plan("p_t", PLAN, leaders_may_advance=False)
    session.next_segment("p_t", T0)
    with pytest.raises(NotPermitted):
        session.next_segment("p_l", T0 + 1)  # not their segment
    session.next_segment("p_t", T0 + 2)
    before = session.snapshot()
    with pytest.raises(NotPermitted, match="therapist"):
        session.next_segment("p_l", T0 + 3)  # theirs, but leaders may not
    with pytest.raises(NotPermitted):
        session.next_segment("p_a", T0 + 3)
    assert session.snapshot() == before


def test_skip_extend_spotlight_and_the_end() -> None:
    session = group()
    session.set_plan("p_t", PLAN[:2], leaders_may_advance=True)
    session.next_segment("p_t", T0)
    session.skip_segment("p_t", T0 + 5)  # the topic is skipped: nothing left to start
    assert [s.state for s in session.plan.segments] == ["done", "skipped"]
    assert session.plan.current is None
    with pytest.raises(UserError):
        session.extend_segment("p_t", 60, T0 + 6)
    session.set_spotlight("p_t", "p_a")
    assert session.plan.spotlight == "p_a"
    assert session.set_spotlight("p_t", "p_a") == []
    with pytest.raises(NotPermitted):
        session.set_spotlight("p_a", None)


def test_bad_plans_change_nothing() -> None:
    session = group()
    before = session.snapshot()
    for plan in (
        [],
        [SegmentSpec("x", "dance", 600)],
        [SegmentSpec("x", "topic", 10)],
        [SegmentSpec("x", "topic", 600, "", ("p_a",))],  # a patient cannot lead
        [SegmentSpec("x", "topic", 600, "", ("p_l", "p_l"))],
    ):
        with pytest.raises(UserError):
            session.set_plan("p_t", plan, False)
    with pytest.raises(NotFound):
        session.set_plan("p_t", [SegmentSpec("x", "topic", 600, "", ("p_nobody",))], False)
    with pytest.raises(NotFound):
        session.next_segment("p_t", T0)
    assert session.snapshot() == before
    session.set_plan("p_t", PLAN, False)
    session.next_segment("p_t", T0)
    with pytest.raises(UserError, match="under way"):
        session.set_plan("p_t", PLAN, False)


def test_the_plan_survives_the_record() -> None:
    session = group()
    session.set_plan("p_t", PLAN, True)
    session.next_segment("p_t", T0)
    session.next_segment("p_t", T0 + 600)
    again = Session.from_record(session.to_record())
    assert again.plan.to_record() == session.plan.to_record()
    assert again.led_by() == {"p_l": 1}
