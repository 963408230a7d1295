"""Go-rounds in the domain: the floor in turn, passing, late arrivals, rooms, muting."""

from __future__ import annotations

import pytest

from server.domain.errors import NotFound, NotPermitted, UserError
from server.domain.events import Muted, RoundChanged, RoundEnded, RoundStarted, UnmuteRequested
from server.domain.roles import Role
from server.domain.session import Session

T0 = 1000.0


def group(*patients: str) -> Session:
    session = Session("s_1", "Group", T0, waiting_room=False)
    session.join("p_t", "Dr. Rivera", Role.THERAPIST, T0)
    for pid in patients:
        session.join(pid, pid.removeprefix("p_").title(), Role.PATIENT, T0)
    return session


def states(session: Session, room: str = "main") -> dict[str, str]:
    go = session.round_in(room)
    assert go is not None
    return {t.participant_id: t.state for t in go.turns}


def test_everyone_but_the_facilitators_gets_the_floor_in_turn() -> None:
    session = group("p_a", "p_b", "p_c")
    events = session.start_round("p_t", "main", "listed", 60, False, T0)
    assert isinstance(events[0], RoundStarted) and isinstance(events[-1], RoundChanged)
    go = session.round_in("main")
    assert go is not None and go.speaker == "p_a"
    assert [t.participant_id for t in go.turns] == ["p_a", "p_b", "p_c"]
    session.next_turn("p_t", "main", T0 + 30)
    assert go.speaker == "p_b" and go.turns[0].held_s == 30
    session.next_turn("p_b", "main", T0 + 40)  # the speaker is done
    assert go.speaker == "p_c"
    session.next_turn("p_t", "main", T0 + 50)
    assert go.speaker is None and states(session) == dict.fromkeys(("p_a", "p_b", "p_c"), "done")
    [ended] = session.end_round("p_t", "main", T0 + 51)
    assert isinstance(ended, RoundEnded) and session.round_in("main") is None


def test_a_pass_is_offered_again_at_the_end_once() -> None:
    session = group("p_a", "p_b", "p_c")
    session.start_round("p_t", "main", "listed", None, False, T0)
    go = session.round_in("main")
    assert go is not None
    session.pass_turn("p_a", T0 + 2)
    assert go.speaker == "p_b" and states(session)["p_a"] == "passed"
    session.next_turn("p_t", "main", T0 + 20)
    session.next_turn("p_t", "main", T0 + 40)
    # Everyone has had a turn: the one who passed is offered the floor again.
    assert go.speaker == "p_a" and go.revisiting
    session.pass_turn("p_a", T0 + 41)
    assert go.speaker is None  # not a third time
    assert go.turn_of("p_a") is not None and go.turn_of("p_a").passes == 2


def test_only_the_speaker_may_pass_and_only_the_runner_or_speaker_moves_on() -> None:
    session = group("p_a", "p_b")
    session.start_round("p_t", "main", "listed", None, False, T0)
    before = session.snapshot()
    with pytest.raises(UserError, match="not your turn"):
        session.pass_turn("p_b", T0 + 1)
    with pytest.raises(NotPermitted):
        session.next_turn("p_b", "main", T0 + 1)
    with pytest.raises(NotPermitted):
        session.end_round("p_b", "main", T0 + 1)
    assert session.snapshot() == before


def test_late_arrivals_join_the_end_and_people_who_left_are_skipped() -> None:
    session = group("p_a", "p_b", "p_c")
    session.start_round("p_t", "main", "listed", None, False, T0)
    session.leave("p_b")
    session.join("p_d", "Dee", Role.PATIENT, T0 + 5)
    session.next_turn("p_t", "main", T0 + 10)
    go = session.round_in("main")
    assert go is not None and go.speaker == "p_c"
    assert states(session)["p_b"] == "gone" and states(session)["p_d"] == "waiting"
    session.next_turn("p_t", "main", T0 + 20)
    assert go.speaker == "p_d"


def test_orders_random_and_least_talk() -> None:
    session = group("p_a", "p_b", "p_c", "p_d")
    talk = {"p_a": 90.0, "p_b": 5.0, "p_c": 30.0}
    session.start_round("p_t", "main", "least-talk", None, False, T0, talk_s=talk)
    go = session.round_in("main")
    assert go is not None
    assert [t.participant_id for t in go.turns] == ["p_d", "p_b", "p_c", "p_a"]
    session.end_round("p_t", "main", T0)
    orders = set()
    for seed in range(20):
        session.start_round("p_t", "main", "random", None, False, T0, seed=seed)
        go = session.round_in("main")
        assert go is not None
        orders.add(tuple(t.participant_id for t in go.turns))
        session.end_round("p_t", "main", T0)
    assert len(orders) > 1


def test_others_muted_mutes_the_rest_and_asks_the_speaker() -> None:
    session = group("p_a", "p_b")
    session.mute("p_t", "p_a")
    events = session.start_round("p_t", "main", "listed", None, True, T0)
    assert [e.participant_id for e in events if isinstance(e, Muted)] == ["p_b"]
    assert [e.participant_id for e in events if isinstance(e, UnmuteRequested)] == ["p_a"]
    assert session.participant("p_t").mic == "live"  # facilitators are never muted by it
    events = session.next_turn("p_t", "main", T0 + 10)
    # p_a never unmuted, so there is nothing to mute; p_b is asked to unmute.
    assert [e.participant_id for e in events if isinstance(e, UnmuteRequested)] == ["p_b"]


def test_a_peer_leader_runs_a_round_only_in_the_room_they_lead() -> None:
    session = group("p_a", "p_b")
    session.join("p_l", "Lee", Role.PEER_LEADER, T0)
    session.set_breakout_rooms("p_t", ["One", "Two"])
    session.open_breakouts("p_t", None, T0)
    for pid in ("p_l", "p_a"):
        session.assign_to_room("p_t", pid, "r1")
    session.assign_to_room("p_t", "p_b", "r2")
    with pytest.raises(NotPermitted):
        session.start_round("p_l", "r1", "listed", None, False, T0)  # not the leader yet
    session.set_room_leader("p_t", "r1", "p_l")
    session.start_round("p_l", "r1", "listed", None, False, T0)
    assert set(states(session, "r1")) == {"p_l", "p_a"}
    with pytest.raises(NotPermitted):
        session.start_round("p_l", "r2", "listed", None, False, T0)
    # Closing the rooms ends the rounds in them.
    events = session.close_breakouts("p_t")
    assert [e.room for e in events if isinstance(e, RoundEnded)] == ["r1"]
    assert session.round_in("r1") is None


def test_bad_requests_change_nothing() -> None:
    session = group("p_a")
    before = session.snapshot()
    with pytest.raises(UserError):
        session.start_round("p_t", "main", "sideways", None, False, T0)
    with pytest.raises(UserError):
        session.start_round("p_t", "main", "listed", 5, False, T0)
    with pytest.raises(NotFound):
        session.start_round("p_t", "r9", "listed", None, False, T0)
    with pytest.raises(NotFound):
        session.next_turn("p_t", "main", T0)
    assert session.snapshot() == before
    session.start_round("p_t", "main", "listed", None, False, T0)
    with pytest.raises(UserError, match="already"):
        session.start_round("p_t", "main", "listed", None, False, T0)


def test_a_round_survives_the_session_record() -> None:
    session = group("p_a", "p_b")
    session.start_round("p_t", "main", "listed", 45, False, T0)
    session.pass_turn("p_a", T0 + 3)
    again = Session.from_record(session.to_record())
    go = again.round_in("main")
    assert go is not None and go.speaker == "p_b" and go.per_person_s == 45
    assert go.turn_of("p_a") is not None and go.turn_of("p_a").state == "passed"  # type: ignore[union-attr]
