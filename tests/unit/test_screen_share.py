"""Screen sharing in the domain: asking, approving, one presenter, revoking, time."""

from __future__ import annotations

import pytest

from server.domain.errors import NotPermitted, UserError
from server.domain.events import ShareAnswered, ShareEnded, ShareRequested, TrackUnpublished
from server.domain.model import Source
from server.domain.roles import Role
from server.domain.session import Session

T0 = 1000.0


def group() -> Session:
    session = Session("s_1", "Group", T0, waiting_room=False)
    session.join("p_t", "Dr. Rivera", Role.THERAPIST, T0)
    session.join("p_a", "Alex", Role.PATIENT, T0)
    session.join("p_b", "Sam", Role.PEER_LEADER, T0)
    return session


def test_a_screen_without_the_right_is_refused_and_not_forwarded() -> None:
    session = group()
    with pytest.raises(NotPermitted, match="ask to present"):
        session.publish("p_a", "t_screen", Source.SCREEN)
    assert session.tracks() == []
    assert all("t_screen" not in tracks for tracks in session.subscriptions().values())


def test_ask_approve_share_and_everyone_else_receives_it() -> None:
    session = group()
    [asked] = session.request_share("p_a")
    assert isinstance(asked, ShareRequested) and asked.participant.name == "Alex"
    with pytest.raises(UserError, match="pending"):
        session.request_share("p_a")
    [answer] = session.answer_share("p_t", "p_a", True)
    assert isinstance(answer, ShareAnswered) and answer.granted
    session.publish("p_a", "t_screen", Source.SCREEN)
    plan = session.subscriptions()
    assert "t_screen" in plan["p_t"] and "t_screen" in plan["p_b"]


def test_facilitators_present_without_asking() -> None:
    session = group()
    session.publish("p_t", "t_screen", Source.SCREEN)
    assert "t_screen" in session.subscriptions()["p_a"]


def test_a_new_presenter_replaces_the_one_on_screen() -> None:
    session = group()
    session.answer_share("p_t", "p_a", True)
    session.publish("p_a", "t_a", Source.SCREEN)
    events = session.publish("p_t", "t_t", Source.SCREEN)
    assert TrackUnpublished("t_a", "p_a") in events
    ended = [e for e in events if isinstance(e, ShareEnded)]
    assert ended and ended[0].reason == "replaced"
    assert [t.id for t in session.tracks()] == ["t_t"]


def test_revoking_stops_the_share_and_a_right_not_held_is_a_no_op() -> None:
    session = group()
    assert session.revoke_share("p_t", "p_b") == []
    session.answer_share("p_t", "p_a", True)
    session.publish("p_a", "t_screen", Source.SCREEN)
    events = session.revoke_share("p_t", "p_a")
    assert TrackUnpublished("t_screen", "p_a") in events
    assert not session.may_share("p_a")
    with pytest.raises(NotPermitted):
        session.publish("p_a", "t_again", Source.SCREEN)


def test_declining_needs_a_request() -> None:
    session = group()
    with pytest.raises(UserError, match="has not asked"):
        session.answer_share("p_t", "p_a", False)
    session.request_share("p_a")
    [answer] = session.answer_share("p_t", "p_a", False)
    assert isinstance(answer, ShareAnswered) and not answer.granted
    assert session.share_requests() == ()


def test_presenting_time_is_accounted_per_person() -> None:
    session = group()
    session.answer_share("p_t", "p_a", True)
    session.note_time(session.publish("p_a", "t_1", Source.SCREEN), T0 + 10)
    session.note_time(session.unpublish("t_1"), T0 + 70)
    session.note_time(session.publish("p_a", "t_2", Source.SCREEN), T0 + 100)
    session.note_time(session.revoke_share("p_t", "p_a"), T0 + 130)
    assert session.presenting_time() == {"p_a": 90.0}
    again = Session.from_record(session.to_record())
    assert again.presenting_time() == {"p_a": 90.0}


def test_with_the_wait_policy_a_second_presenter_waits_for_the_first() -> None:
    session = group()
    session.answer_share("p_t", "p_a", True)
    with pytest.raises(UserError, match="policy"):
        session.set_share_policy("p_t", "shout")
    with pytest.raises(NotPermitted):
        session.set_share_policy("p_a", "wait")
    session.set_share_policy("p_t", "wait")
    session.publish("p_t", "t_t", Source.SCREEN)
    with pytest.raises(UserError, match=r"Dr\. Rivera is presenting"):
        session.publish("p_a", "t_a", Source.SCREEN)
    session.unpublish("t_t")
    session.publish("p_a", "t_a", Source.SCREEN)
    assert [t.id for t in session.tracks()] == ["t_a"]
    assert Session.from_record(session.to_record()).share_policy == "wait"


def test_an_observer_cannot_be_approved_to_present() -> None:
    session = group()
    session.join("p_o", "Observer", Role.OBSERVER, T0)
    before = session.snapshot()
    with pytest.raises(NotPermitted, match="cannot present"):
        session.answer_share("p_t", "p_o", True)
    assert session.snapshot() == before
    assert not session.may_share("p_o")
    with pytest.raises(NotPermitted):
        session.publish("p_o", "t_screen", Source.SCREEN)
