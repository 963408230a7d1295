"""Feedback for a segment's leaders, and reactions, in the domain."""

from __future__ import annotations

import pytest

from server.domain.errors import NotFound, NotPermitted, UserError
from server.domain.events import FeedbackSent, Reacted
from server.domain.planning import SegmentSpec
from server.domain.roles import Role
from server.domain.session import Session

T0 = 1000.0


def led_topic_done() -> Session:
    session = Session("s_1", "Group", T0, waiting_room=False)
    session.join("p_t", "Dr. Rivera", Role.THERAPIST, T0)
    session.join("p_l", "Lee", Role.PEER_LEADER, T0)
    session.join("p_a", "Alex", Role.PATIENT, T0)
    session.join("p_o", "Olu", Role.OBSERVER, T0)
    plan = [
        SegmentSpec("Check-in", "check-in", 600),
        SegmentSpec("Sleep", "topic", 900, "", ("p_l",)),
        SegmentSpec("Closing", "closing", 300),
    ]
    session.set_plan("p_t", plan, False)
    for _ in range(3):
        session.next_segment("p_t", T0)
    return session


def test_feedback_reaches_the_leaders_once_per_sender() -> None:
    session = led_topic_done()
    [sent] = session.send_feedback("p_a", 1, "well-led", " You made it easy ", T0 + 5)
    assert isinstance(sent, FeedbackSent)
    assert sent.leaders == ("p_l",) and sent.text == "You made it easy"
    with pytest.raises(UserError, match="you have sent feedback"):
        session.send_feedback("p_a", 1, "thank-you", "", T0 + 6)
    session.send_feedback("p_t", 1, "thank-you", "", T0 + 6)  # the therapist may too


def test_feedback_refused_changes_nothing() -> None:
    session = led_topic_done()
    session.next_segment("p_t", T0)  # nothing left: the closing is done too
    before = session.snapshot()
    with pytest.raises(UserError, match="nobody led"):
        session.send_feedback("p_a", 0, "thank-you", "", T0)
    with pytest.raises(UserError, match="leaders, from the others"):
        session.send_feedback("p_l", 1, "thank-you", "", T0)
    with pytest.raises(UserError):
        session.send_feedback("p_a", 1, "meh", "", T0)
    with pytest.raises(NotFound):
        session.send_feedback("p_a", 7, "thank-you", "", T0)
    with pytest.raises(NotPermitted):
        session.send_feedback("p_o", 1, "thank-you", "", T0)
    assert session.snapshot() == before


def test_feedback_only_after_the_segment() -> None:
    session = Session("s_1", "Group", T0, waiting_room=False)
    session.join("p_t", "Dr. Rivera", Role.THERAPIST, T0)
    session.join("p_l", "Lee", Role.PEER_LEADER, T0)
    session.join("p_a", "Alex", Role.PATIENT, T0)
    session.set_plan("p_t", [SegmentSpec("Sleep", "topic", 900, "", ("p_l",))], False)
    session.next_segment("p_t", T0)
    with pytest.raises(UserError, match="ended"):
        session.send_feedback("p_a", 0, "thank-you", "", T0)


def test_reactions_and_the_switch() -> None:
    session = led_topic_done()
    [reacted] = session.react("p_a", "clap")
    assert reacted == Reacted("p_a", "main", "clap")
    with pytest.raises(UserError):
        session.react("p_a", "boo")
    session.set_reactions("p_t", False)
    with pytest.raises(UserError, match="off"):
        session.react("p_a", "clap")
    assert Session.from_record(session.to_record()).reactions_enabled is False
