"""Who sees speaking statistics: the session flag that lets peer leaders see their room."""

from __future__ import annotations

import pytest

from server.domain.errors import NotPermitted
from server.domain.events import SpeakingOptionsChanged
from server.domain.roles import Role
from server.domain.session import Session

T0 = 1000.0


def group() -> Session:
    """A therapist, a peer leader leading room r1, and a patient."""
    session = Session("s_1", "Group", T0, waiting_room=False)
    session.join("p_t", "Therapist", Role.THERAPIST, T0)
    session.join("p_l", "Lee", Role.PEER_LEADER, T0)
    session.join("p_a", "Ada", Role.PATIENT, T0)
    session.set_breakout_rooms("p_t", ["Blue", "Green"])
    session.assign_to_room("p_t", "p_l", "r1")
    session.set_room_leader("p_t", "r1", "p_l")
    return session


def test_a_facilitator_lets_leaders_see_their_room_and_it_is_stored() -> None:
    session = group()
    assert session.leaders_see_room is False
    events = session.set_speaking_options("p_t", True)
    assert [type(e) for e in events] == [SpeakingOptionsChanged]
    assert session.set_speaking_options("p_t", True) == []
    assert Session.from_record(session.to_record()).leaders_see_room is True


@pytest.mark.parametrize("who", ["p_l", "p_a"])
def test_only_facilitators_set_it_or_see_everyone(who: str) -> None:
    session = group()
    with pytest.raises(NotPermitted):
        session.set_speaking_options(who, True)
    with pytest.raises(NotPermitted):
        session.check_may_see_speaking(who)
    assert session.leaders_see_room is False
    session.check_may_see_speaking("p_t")


def test_a_leader_leads_a_room_only_while_the_rooms_are_open() -> None:
    session = group()
    assert session.led_room("p_l") is None
    session.open_breakouts("p_t", None, T0)
    assert session.led_room("p_l") == "r1"
    assert session.led_room("p_a") is None
