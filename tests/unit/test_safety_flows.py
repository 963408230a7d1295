"""Waiting room, lock, grace period, removal, moderation, hands and chat in the domain."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from server.domain.errors import NotPermitted, UserError
from server.domain.events import (
    BreakRequested,
    ChatPosted,
    HandsChanged,
    Muted,
    ParticipantDenied,
    ParticipantJoined,
    ParticipantLeft,
    ParticipantWaiting,
    UnmuteRequested,
)
from server.domain.model import Presence, Source
from server.domain.roles import Role
from server.domain.session import Session

T0 = 1000.0


def new_session() -> Session:
    return Session("s_1", "Group", T0)


def with_therapist() -> Session:
    session = new_session()
    session.join("p_t", "Dr. Rivera", Role.THERAPIST, T0)
    return session


def presence(session: Session, pid: str) -> Presence:
    return session.participant(pid).presence


def test_a_patient_waits_and_sees_nothing_until_admitted() -> None:
    session = with_therapist()
    events = session.join("p_a", "Alex", Role.PATIENT, T0)
    assert [type(e) for e in events] == [ParticipantWaiting]
    assert presence(session, "p_a") is Presence.WAITING
    assert "p_a" not in session.subscriptions()
    assert [p.id for p in session.participants()] == ["p_t"]
    # Knocking again changes nothing: no event (no audit record, no push).
    assert session.join("p_a", "Alex", Role.PATIENT, T0 + 1) == []
    events = session.admit("p_t", "p_a")
    assert isinstance(events[-1], ParticipantJoined)
    assert presence(session, "p_a") is Presence.PRESENT
    assert "p_a" in session.subscriptions()


def test_waiting_people_may_not_act() -> None:
    session = with_therapist()
    session.join("p_a", "Alex", Role.PATIENT, T0)
    before = session.snapshot()
    attempts: list[Callable[[], object]] = [
        lambda: session.raise_hand("p_a"),
        lambda: session.post_chat("p_a", "room", "hi", T0),
        lambda: session.signal_break("p_a", T0),
    ]
    for attempt in attempts:
        with pytest.raises(NotPermitted, match="waiting room"):
            attempt()
    assert session.snapshot() == before


def test_denied_people_are_told_why_and_leave() -> None:
    session = with_therapist()
    session.join("p_a", "Alex", Role.PATIENT, T0)
    events = session.deny("p_t", "p_a", "Please join Thursday's group.")
    denied = events[0]
    assert isinstance(denied, ParticipantDenied)
    assert (denied.by.name, denied.message) == ("Dr. Rivera", "Please join Thursday's group.")
    assert isinstance(events[-1], ParticipantLeft) and events[-1].reason == "denied"
    assert session.waiting() == []


def test_pre_admitted_links_wait_only_while_no_facilitator_is_present() -> None:
    session = new_session()
    session.join("p_a", "Alex", Role.PATIENT, T0, pre_admitted=True)
    assert presence(session, "p_a") is Presence.WAITING
    events = session.join("p_t", "Dr. Rivera", Role.THERAPIST, T0)
    assert [e.participant.id for e in events if isinstance(e, ParticipantJoined)] == [
        "p_t",
        "p_a",
    ]
    assert presence(session, "p_a") is Presence.PRESENT


def test_without_a_waiting_room_everyone_comes_straight_in() -> None:
    session = Session("s_1", "Group", T0, waiting_room=False)
    session.join("p_a", "Alex", Role.PATIENT, T0)
    assert presence(session, "p_a") is Presence.PRESENT


def test_a_locked_session_lets_nobody_new_in_but_lets_people_back() -> None:
    session = with_therapist()
    session.join("p_a", "Alex", Role.PATIENT, T0, pre_admitted=True)
    session.set_locked("p_t", True)
    assert session.entry_refusal("p_new") == "session_locked"
    with pytest.raises(NotPermitted, match="locked"):
        session.join("p_new", "New", Role.PATIENT, T0, pre_admitted=True)
    # Someone in the call who drops comes back within grace, lock or not.
    session.drop("p_a", T0 + 1)
    assert session.entry_refusal("p_a") is None
    session.join("p_a", "Alex", Role.PATIENT, T0 + 5)
    assert presence(session, "p_a") is Presence.PRESENT
    session.set_locked("p_t", False)
    assert session.entry_refusal("p_new") is None


def test_back_within_grace_skips_the_waiting_room_and_after_it_waits_again() -> None:
    session = with_therapist()
    session.join("p_a", "Alex", Role.PATIENT, T0)
    session.admit("p_t", "p_a")
    session.drop("p_a", T0 + 10)
    assert session.expire_dropped(T0 + 20, grace_s=30) == []
    session.join("p_a", "Alex", Role.PATIENT, T0 + 20)
    assert presence(session, "p_a") is Presence.PRESENT
    session.drop("p_a", T0 + 30)
    events = session.expire_dropped(T0 + 60, grace_s=30)
    assert isinstance(events[-1], ParticipantLeft) and events[-1].reason == "timeout"
    session.join("p_a", "Alex", Role.PATIENT, T0 + 70)
    assert presence(session, "p_a") is Presence.WAITING


def test_a_removed_participant_cannot_come_back_with_the_same_link() -> None:
    session = with_therapist()
    session.join("p_a", "Alex", Role.PATIENT, T0, pre_admitted=True)
    events = session.remove("p_t", "p_a")
    assert isinstance(events[-1], ParticipantLeft) and events[-1].reason == "removed"
    assert session.entry_refusal("p_a") == "removed"
    with pytest.raises(NotPermitted, match="removed"):
        session.join("p_a", "Alex", Role.PATIENT, T0, pre_admitted=True)


def test_nobody_removes_the_therapist_or_themself() -> None:
    session = with_therapist()
    session.join("p_c", "Co", Role.CO_FACILITATOR, T0)
    with pytest.raises(NotPermitted):
        session.remove("p_c", "p_t")
    with pytest.raises(UserError):
        session.remove("p_t", "p_t")


def test_a_muted_mic_is_gated_not_unsubscribed_and_asking_does_not_unmute() -> None:
    session = with_therapist()
    session.join("p_a", "Alex", Role.PATIENT, T0, pre_admitted=True)
    session.join("p_b", "Sam", Role.PATIENT, T0, pre_admitted=True)
    session.publish("p_a", "t_mic", Source.MIC)
    session.publish("p_a", "t_cam", Source.CAMERA)
    plan = session.subscriptions()
    assert "t_mic" in plan["p_b"] and session.gated_tracks() == frozenset()
    events = session.mute("p_t", "p_a")
    assert isinstance(events[0], Muted) and events[0].by.name == "Dr. Rivera"
    # Mute is a gate, not a plan change: nobody's subscriptions move (no offer).
    assert session.subscriptions() == plan
    assert session.gated_tracks() == {"t_mic"}
    [asked] = session.ask_to_unmute("p_t", "p_a")
    assert isinstance(asked, UnmuteRequested) and asked.participant_id == "p_a"
    assert session.participant("p_a").mic == "off"
    assert session.gated_tracks() == {"t_mic"}
    session.set_media_state("p_a", "live", None)
    assert session.subscriptions() == plan and session.gated_tracks() == frozenset()


def test_mute_all_spares_the_facilitators() -> None:
    session = with_therapist()
    session.join("p_c", "Co", Role.CO_FACILITATOR, T0)
    session.join("p_a", "Alex", Role.PATIENT, T0, pre_admitted=True)
    session.join("p_b", "Sam", Role.PATIENT, T0, pre_admitted=True)
    muted = {e.participant_id for e in session.mute_all("p_c") if isinstance(e, Muted)}
    assert muted == {"p_a", "p_b"}
    assert session.participant("p_t").mic == "live"


def test_stopping_a_camera_gates_it_and_turning_it_on_opens_it() -> None:
    session = with_therapist()
    session.join("p_a", "Alex", Role.PATIENT, T0, pre_admitted=True)
    session.publish("p_a", "t_mic", Source.MIC)
    session.publish("p_a", "t_cam", Source.CAMERA)
    plan = session.subscriptions()
    session.stop_camera("p_t", "p_a")
    assert session.subscriptions() == plan and "t_cam" in plan["p_t"]
    assert session.gated_tracks() == {"t_cam"}
    session.set_media_state("p_a", None, "live")
    assert session.gated_tracks() == frozenset()


def test_observers_publish_nothing_and_cannot_turn_a_mic_on() -> None:
    session = with_therapist()
    session.join("p_o", "Casey", Role.OBSERVER, T0, pre_admitted=True)
    view = session.participant("p_o")
    assert (view.mic, view.camera) == ("off", "off")
    before = session.snapshot()
    with pytest.raises(NotPermitted):
        session.set_media_state("p_o", "live", None)
    with pytest.raises(NotPermitted):
        session.publish("p_o", "t_x", Source.MIC)
    assert session.snapshot() == before


def test_hands_queue_in_order_of_raising_and_leave_with_their_owner() -> None:
    session = with_therapist()
    for pid in ("p_a", "p_b"):
        session.join(pid, pid, Role.PATIENT, T0, pre_admitted=True)
    session.raise_hand("p_b")
    [changed] = session.raise_hand("p_a")
    assert isinstance(changed, HandsChanged) and changed.queue == ("p_b", "p_a")
    assert session.raise_hand("p_a") == []
    with pytest.raises(NotPermitted):
        session.lower_hand("p_a", "p_b")
    session.lower_hand("p_t", "p_b")
    assert session.hands() == ("p_a",)
    session.drop("p_a", T0)
    assert session.hands() == ()


def test_group_chat_off_still_lets_people_write_to_the_facilitators() -> None:
    session = with_therapist()
    session.join("p_a", "Alex", Role.PATIENT, T0, pre_admitted=True)
    session.set_chat("p_t", False)
    with pytest.raises(NotPermitted, match="chat is turned off"):
        session.post_chat("p_a", "room", "hello all", T0)
    [private] = session.post_chat("p_a", "facilitators", "can we talk?", T0)
    assert isinstance(private, ChatPosted) and private.to == "facilitators"
    [announcement] = session.post_chat("p_t", "room", "back in 5", T0)
    assert isinstance(announcement, ChatPosted)
    # Chat is relayed, never kept in the session's record.
    assert "can we talk?" not in str(session.to_record())


def test_a_break_signal_names_who_needs_it() -> None:
    session = with_therapist()
    session.join("p_a", "Alex", Role.PATIENT, T0, pre_admitted=True)
    [event] = session.signal_break("p_a", T0 + 3)
    assert isinstance(event, BreakRequested) and event.participant.name == "Alex"


def test_everything_survives_the_store() -> None:
    session = with_therapist()
    session.join("p_a", "Alex", Role.PATIENT, T0)
    session.join("p_b", "Sam", Role.PATIENT, T0, pre_admitted=True)
    session.join("p_x", "Mallory", Role.PATIENT, T0, pre_admitted=True)
    session.remove("p_t", "p_x")
    session.raise_hand("p_b")
    session.set_locked("p_t", True)
    session.set_chat("p_t", False)
    again = Session.from_record(session.to_record())
    assert again.to_record() == session.to_record()
    assert again.entry_refusal("p_x") == "removed"
    assert [p.id for p in again.waiting()] == ["p_a"]
