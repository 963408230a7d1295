"""Breakout rooms in the domain: plan, open, move, media follows, timer, close."""

from __future__ import annotations

import random

import pytest

from server.domain.errors import NotFound, NotPermitted, UserError
from server.domain.events import (
    BreakoutBroadcast,
    BreakoutsClosed,
    BreakoutWarning,
    HelpRequested,
    Muted,
    ParticipantMoved,
    ShareEnded,
)
from server.domain.model import MAIN_ROOM, Source
from server.domain.roles import Role
from server.domain.session import Session

T0 = 1000.0
PATIENTS = ["p_a", "p_b", "p_c", "p_d"]


def group() -> Session:
    """A therapist, a peer leader and four patients, each publishing a mic."""
    session = Session("s_1", "Group", T0, waiting_room=False)
    session.join("p_t", "Dr. Rivera", Role.THERAPIST, T0)
    session.join("p_l", "Lee", Role.PEER_LEADER, T0)
    for pid in PATIENTS:
        session.join(pid, pid.upper(), Role.PATIENT, T0)
    for pid in ["p_t", "p_l", *PATIENTS]:
        session.publish(pid, f"mic_{pid}", Source.MIC)
    session.set_breakout_rooms("p_t", ["Blue", "Green"])
    return session


def hears(session: Session, pid: str) -> set[str]:
    return {t.removeprefix("mic_") for t in session.subscriptions()[pid]}


def open_two_rooms(session: Session, duration_s: float | None = None) -> None:
    for pid, room in (("p_a", "r1"), ("p_b", "r1"), ("p_c", "r2"), ("p_d", "r2")):
        session.assign_to_room("p_t", pid, room)
    session.open_breakouts("p_t", duration_s, T0)


def test_media_follows_the_room_before_and_after_a_move() -> None:
    session = group()
    open_two_rooms(session)
    assert hears(session, "p_a") == {"p_b"}
    assert hears(session, "p_c") == {"p_d"}
    assert hears(session, "p_t") == {"p_l"}
    events = session.assign_to_room("p_t", "p_b", "r2")
    assert any(isinstance(e, ParticipantMoved) and e.from_room == "r1" for e in events)
    assert hears(session, "p_a") == set()
    assert hears(session, "p_b") == {"p_c", "p_d"}
    session.close_breakouts("p_t")
    assert hears(session, "p_a") == {"p_t", "p_l", "p_b", "p_c", "p_d"}
    assert {p.room for p in session.participants()} == {MAIN_ROOM}


def test_automatic_assignment_spreads_patients_and_peer_leaders_only() -> None:
    session = group()
    session.assign_breakouts("p_t", "random", [["p_a", "p_b"]], [["p_l", "p_c"]], random.Random(3))
    planned = session.breakouts.planned
    assert set(planned) == {"p_l", *PATIENTS}
    assert planned["p_a"] == planned["p_b"]
    assert planned["p_l"] != planned["p_c"]
    session.open_breakouts("p_t", None, T0)
    assert session.participant("p_t").room == MAIN_ROOM
    assert {session.participant(p).room for p in PATIENTS} == {"r1", "r2"}


def test_bad_moves_are_errors_that_change_nothing() -> None:
    session = group()
    open_two_rooms(session)
    before = session.snapshot()
    with pytest.raises(NotFound):
        session.assign_to_room("p_t", "p_nobody", "r1")
    with pytest.raises(NotFound):
        session.assign_to_room("p_t", "p_a", "r9")
    with pytest.raises(NotPermitted):
        session.assign_to_room("p_a", "p_a", "r2")
    with pytest.raises(NotPermitted):
        session.assign_to_room("p_a", "p_b", "r2")
    with pytest.raises(NotPermitted, match="not allowed"):
        session.choose_room("p_a", "r2")
    assert session.snapshot() == before


def test_two_moves_of_one_person_leave_them_in_exactly_one_room() -> None:
    session = group()
    open_two_rooms(session)
    session.assign_to_room("p_t", "p_a", "r2")
    session.assign_to_room("p_t", "p_a", MAIN_ROOM)
    rooms = [p.room for p in session.participants() if p.id == "p_a"]
    assert rooms == [MAIN_ROOM]
    assert "p_a" not in session.breakouts.planned


def test_self_choice_when_allowed() -> None:
    session = group()
    session.set_self_choice("p_t", True)
    open_two_rooms(session)
    session.choose_room("p_a", "r2")
    assert session.participant("p_a").room == "r2"
    assert hears(session, "p_a") == {"p_c", "p_d"}


def test_the_timer_warns_then_brings_everyone_back() -> None:
    session = group()
    open_two_rooms(session, duration_s=600)
    assert session.next_deadline() == T0 + 540
    assert session.breakout_tick(T0 + 100) == []
    warning = session.breakout_tick(T0 + 540)
    assert isinstance(warning[0], BreakoutWarning) and warning[0].seconds_left == 60
    assert session.next_deadline() == T0 + 600
    closing = session.breakout_tick(T0 + 600)
    assert isinstance(closing[0], BreakoutsClosed) and closing[0].reason == "timer"
    assert {p.room for p in session.participants()} == {MAIN_ROOM}
    assert session.next_deadline() is None


def test_extending_and_shortening_the_timer() -> None:
    session = group()
    open_two_rooms(session, duration_s=600)
    session.set_breakout_timer("p_t", 1200, T0 + 300)
    assert session.breakouts.ends_at == T0 + 1500
    assert session.breakout_tick(T0 + 700) == []
    session.set_breakout_timer("p_t", 30, T0 + 700)
    # No separate warning for a timer shorter than the warning lead.
    assert session.next_deadline() == T0 + 730
    with pytest.raises(UserError, match="between 10 s"):
        session.set_breakout_timer("p_t", 1, T0 + 700)
    with pytest.raises(NotPermitted):
        session.set_breakout_timer("p_a", 900, T0 + 700)


def test_broadcast_visit_and_help() -> None:
    session = group()
    open_two_rooms(session)
    (broadcast,) = session.broadcast("p_t", "  Two minutes left  ", T0)
    assert isinstance(broadcast, BreakoutBroadcast) and broadcast.text == "Two minutes left"
    session.visit("p_t", "r2")
    therapist = session.participant("p_t")
    assert therapist.room == "r2" and therapist.visiting
    assert hears(session, "p_c") == {"p_d", "p_t"}
    help_events = session.request_help("p_a", T0 + 5)
    assert isinstance(help_events[0], HelpRequested)
    assert help_events[0].room_name == "Blue"
    assert session.request_help("p_a", T0 + 6) == []  # one pending request per person
    session.clear_help("p_t", "p_a")
    assert session.breakouts.help == []
    session.close_breakouts("p_t")
    assert not session.participant("p_t").visiting
    with pytest.raises(UserError, match="main room"):
        session.request_help("p_a", T0 + 7)


def test_a_share_ends_when_its_presenter_moves() -> None:
    session = group()
    open_two_rooms(session)
    session.answer_share("p_t", "p_a", True)
    session.publish("p_a", "screen_a", Source.SCREEN)
    # Screens are per room: one in each room at once.
    session.answer_share("p_t", "p_c", True)
    session.publish("p_c", "screen_c", Source.SCREEN)
    assert {t.id for t in session.tracks() if t.source is Source.SCREEN} == {
        "screen_a",
        "screen_c",
    }
    assert "screen_a" in session.subscriptions()["p_b"]
    assert "screen_a" not in session.subscriptions()["p_d"]
    events = session.assign_to_room("p_t", "p_a", "r2")
    assert any(isinstance(e, ShareEnded) and e.reason == "moved" for e in events)
    assert "screen_a" not in {t.id for t in session.tracks()}


def test_a_peer_leader_mutes_only_in_the_room_they_lead() -> None:
    session = group()
    session.assign_to_room("p_t", "p_l", "r1")
    open_two_rooms(session)
    session.set_room_leader("p_t", "r1", "p_l")
    assert any(isinstance(e, Muted) for e in session.mute("p_l", "p_a"))
    with pytest.raises(NotPermitted, match="only in the breakout room you lead"):
        session.mute("p_l", "p_c")
    with pytest.raises(UserError, match="not a peer leader"):
        session.set_room_leader("p_t", "r2", "p_c")
    session.close_breakouts("p_t")
    with pytest.raises(NotPermitted):
        session.mute("p_l", "p_b")


def test_arrivals_go_to_their_planned_room_and_a_reconnect_keeps_the_room() -> None:
    session = group()
    open_two_rooms(session)
    session.drop("p_c", T0 + 1)
    session.join("p_c", "P_C", Role.PATIENT, T0 + 2)
    assert session.participant("p_c").room == "r2"
    session.leave("p_d")
    session.join("p_d", "P_D", Role.PATIENT, T0 + 3)
    assert session.participant("p_d").room == "r2"
    session.join("p_new", "New", Role.PATIENT, T0 + 4)
    assert session.participant("p_new").room == MAIN_ROOM


def test_rooms_survive_the_store_round_trip() -> None:
    session = group()
    open_two_rooms(session, duration_s=300)
    session.request_help("p_a", T0 + 5)
    session.visit("p_t", "r1")
    again = Session.from_record(session.to_record())
    assert again.to_record() == session.to_record()
    assert again.participant("p_t").visiting


def test_rooms_cannot_be_redefined_while_open_and_names_are_checked() -> None:
    session = group()
    open_two_rooms(session)
    with pytest.raises(UserError, match="close the breakout rooms"):
        session.set_breakout_rooms("p_t", ["X"])
    session.close_breakouts("p_t")
    with pytest.raises(UserError, match="differ"):
        session.set_breakout_rooms("p_t", ["X", " X "])
    with pytest.raises(UserError, match="between 1 and 20"):
        session.set_breakout_rooms("p_t", [f"R{i}" for i in range(21)])
    with pytest.raises(UserError, match="not open"):
        session.close_breakouts("p_t")


def test_an_ended_session_has_no_deadline_and_its_rooms_are_closed() -> None:
    session = group()
    open_two_rooms(session, duration_s=600)
    session.end("p_t")
    assert session.next_deadline() is None
    assert not session.breakouts.open


def test_someone_who_dropped_before_the_rooms_opened_comes_back_into_their_room() -> None:
    session = group()
    session.assign_to_room("p_t", "p_a", "r1")
    session.assign_to_room("p_t", "p_b", "r1")
    session.drop("p_a", T0)
    session.open_breakouts("p_t", None, T0)
    assert session.participant("p_a").room == MAIN_ROOM
    session.join("p_a", "P_A", Role.PATIENT, T0 + 1)
    assert session.participant("p_a").room == "r1"
    session.publish("p_a", "mic_p_a2", Source.MIC)
    assert "mic_p_a2" in session.subscriptions()["p_b"]


def test_waiting_people_are_in_no_room_until_admitted_then_go_to_their_plan() -> None:
    session = Session("s_2", "Group", T0, waiting_room=True)
    session.join("p_t", "Dr. Rivera", Role.THERAPIST, T0)
    session.join("p_a", "Alex", Role.PATIENT, T0)
    session.admit("p_t", "p_a")
    session.set_breakout_rooms("p_t", ["Blue"])
    session.assign_to_room("p_t", "p_a", "r1")
    session.open_breakouts("p_t", None, T0)
    session.leave("p_a")
    session.join("p_a", "Alex", Role.PATIENT, T0 + 1)  # knocks again: waits
    assert session.participant("p_a").room == MAIN_ROOM
    closing = session.close_breakouts("p_t")
    assert not any(isinstance(e, ParticipantMoved) for e in closing)
    session.open_breakouts("p_t", None, T0 + 2)
    session.admit("p_t", "p_a")
    assert session.participant("p_a").room == "r1"


def test_a_peer_leader_cannot_mute_a_visiting_facilitator() -> None:
    session = group()
    session.assign_to_room("p_t", "p_l", "r1")
    open_two_rooms(session)
    session.set_room_leader("p_t", "r1", "p_l")
    session.visit("p_t", "r1")
    with pytest.raises(NotPermitted):
        session.mute("p_l", "p_t")


def test_choosing_a_room_needs_open_rooms() -> None:
    session = group()
    session.set_self_choice("p_t", True)
    with pytest.raises(UserError, match="not open"):
        session.choose_room("p_a", MAIN_ROOM)
