"""Caption consent in the domain: who may be captioned, and when."""

from __future__ import annotations

import pytest

from server.domain.errors import NotPermitted
from server.domain.events import CaptionConsentChanged, CaptionsChanged
from server.domain.roles import Role
from server.domain.session import Session

T0 = 1000.0


def group() -> Session:
    session = Session("s_1", "Group", T0, waiting_room=False)
    session.join("p_t", "Dr. Rivera", Role.THERAPIST, T0)
    session.join("p_a", "Alex", Role.PATIENT, T0)
    session.join("p_b", "Sam", Role.PATIENT, T0)
    session.join("p_o", "Observer", Role.OBSERVER, T0)
    return session


def test_nobody_is_captioned_until_a_facilitator_switches_captions_on() -> None:
    session = group()
    assert session.captioned() == frozenset()
    with pytest.raises(NotPermitted):
        session.set_captions("p_a", True, False)
    (changed,) = session.set_captions("p_t", True, False)
    assert isinstance(changed, CaptionsChanged) and changed.enabled
    assert session.captioned() == {"p_t", "p_a", "p_b"}


def test_a_participant_who_declines_is_never_captioned() -> None:
    session = group()
    session.set_caption_consent("p_a", True)
    session.set_captions("p_t", True, True)
    assert "p_a" not in session.captioned()
    assert session.set_caption_consent("p_a", True) == []
    (accepted,) = session.set_caption_consent("p_a", False)
    assert isinstance(accepted, CaptionConsentChanged) and not accepted.declined
    assert "p_a" in session.captioned()


def test_muted_and_absent_people_are_not_captioned() -> None:
    session = group()
    session.set_captions("p_t", True, False)
    session.mute("p_t", "p_b")
    session.drop("p_a", T0 + 1)
    assert session.captioned() == {"p_t"}
    session.set_captions("p_t", False, False)
    assert session.captioned() == frozenset()


def test_a_transcript_needs_captions_and_survives_the_store() -> None:
    session = group()
    session.set_captions("p_t", False, True)
    assert not session.transcript_on
    session.set_captions("p_t", True, True)
    session.set_caption_consent("p_b", True)
    again = Session.from_record(session.to_record())
    assert (again.captions_on, again.transcript_on) == (True, True)
    assert again.declined_captions("p_b")


def test_a_choice_made_before_joining_holds_from_the_first_moment() -> None:
    session = group()
    session.set_captions("p_t", True, False)
    session.join("p_c", "Kim", Role.PATIENT, T0, declines_captions=True)
    assert session.declined_captions("p_c")
    assert "p_c" not in session.captioned()
