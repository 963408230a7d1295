"""`Session.snapshot()`: the whole state, connection state included, frozen, for the
"a refused command changes nothing" tests. No I/O."""

from __future__ import annotations

from dataclasses import fields

import pytest

from server.domain.errors import NotPermitted
from server.domain.model import Source
from server.domain.roles import Role
from server.domain.session import Session

T0 = 1000.0


def group() -> Session:
    """A therapist and a patient in the call (waiting room off)."""
    session = Session("s_1", "Group", T0, waiting_room=False)
    session.join("p_t", "Dr. Rivera", Role.THERAPIST, T0)
    session.join("p_a", "Alex", Role.PATIENT, T0)
    return session


def test_every_field_of_the_session_is_in_the_snapshot() -> None:
    names = {f.name.lstrip("_") for f in fields(Session)}
    assert set(group().snapshot()) == names
    assert {"tracks", "captioners", "participants", "breakouts"} <= names


def test_a_published_track_shows_in_the_snapshot_not_in_the_record() -> None:
    session = group()
    record, snapshot = session.to_record(), session.snapshot()
    session.publish("p_a", "t_mic", Source.MIC)
    assert session.to_record() == record
    assert session.snapshot() != snapshot


def test_a_connected_captioner_shows_in_the_snapshot_not_in_the_record() -> None:
    session = group()
    record, snapshot = session.to_record(), session.snapshot()
    session.connect_captioner("p_c", "Captions", Role.CAPTIONER, T0)
    assert session.to_record() == record
    assert session.snapshot() != snapshot


def test_a_snapshot_does_not_follow_later_changes() -> None:
    session, twin = group(), group()
    snapshot = session.snapshot()
    session.mute("p_t", "p_a")
    session.raise_hand("p_a")
    session.set_breakout_rooms("p_t", ["Blue", "Green"])
    session.assign_to_room("p_t", "p_a", "r1")
    assert snapshot == twin.snapshot()
    assert session.snapshot() != snapshot


def test_a_snapshot_is_frozen_all_the_way_down() -> None:
    session = group()
    session.publish("p_a", "t_mic", Source.MIC)
    session.set_breakout_rooms("p_t", ["Blue"])
    hash(tuple(group().snapshot().values()))
    hash(tuple(session.snapshot().values()))


def test_the_order_of_arrival_is_part_of_the_state() -> None:
    first, second = Session("s_1", "Group", T0), Session("s_1", "Group", T0)
    first.join("p_t", "Dr. Rivera", Role.THERAPIST, T0)
    first.join("p_co", "Sam", Role.CO_FACILITATOR, T0)
    second.join("p_co", "Sam", Role.CO_FACILITATOR, T0)
    second.join("p_t", "Dr. Rivera", Role.THERAPIST, T0)
    assert first.snapshot() != second.snapshot()


def test_a_refused_publish_leaves_the_snapshot_as_it_was() -> None:
    session = group()
    session.join("p_o", "Observer", Role.OBSERVER, T0)
    before = session.snapshot()
    with pytest.raises(NotPermitted):
        session.publish("p_o", "t_mic", Source.MIC)
    assert session.snapshot() == before
