"""The session domain: presence, grace, publishing and who receives what. No I/O."""

from __future__ import annotations

import pytest

from server.domain.errors import NotFound, NotPermitted, UserError
from server.domain.events import (
    ParticipantJoined,
    ParticipantLeft,
    ParticipantRejoined,
    ParticipantUpdated,
    SessionEnded,
    TrackPublished,
    TrackUnpublished,
)
from server.domain.model import MAIN_ROOM, ParticipantView, Presence, Source, TrackView
from server.domain.roles import Role
from server.domain.session import Session

T0 = 1_000.0
GRACE = 30.0


def new_session(*people: tuple[str, Role]) -> Session:
    """A session with `people` present (joined at T0)."""
    # The waiting room has tests of its own (test_safety_flows.py).
    session = Session("s_1", "Tuesday group", created_at=T0, waiting_room=False)
    for pid, role in people:
        session.join(pid, pid.title(), role, T0)
    return session


def presence_of(session: Session, pid: str) -> Presence:
    return session.participant(pid).presence


# -- joining -----------------------------------------------------------------------------


def test_join_announces_a_present_participant_in_the_main_room() -> None:
    session = new_session()
    events = session.join("p_a", "Alex", Role.PATIENT, T0)
    view = ParticipantView("p_a", "Alex", Role.PATIENT, Presence.PRESENT, "live", "live", MAIN_ROOM)
    assert events == [ParticipantJoined(view)]
    assert session.participants() == [view]


def test_participants_are_listed_in_order_of_arrival() -> None:
    session = new_session(("p_c", Role.PATIENT), ("p_a", Role.THERAPIST), ("p_b", Role.OBSERVER))
    assert [p.id for p in session.participants()] == ["p_c", "p_a", "p_b"]


def test_joining_again_while_present_restarts_media_and_changes_nothing_else() -> None:
    session = new_session(("p_a", Role.PATIENT))
    before = session.snapshot()
    [event] = session.join("p_a", "Alex", Role.PATIENT, T0 + 5)
    # A new connection (or a media restart): the bridge reopens the peer.
    assert isinstance(event, ParticipantRejoined) and event.participant.id == "p_a"
    assert len(session.participants()) == 1
    assert session.snapshot() == before


def test_captioner_may_not_join() -> None:
    session = new_session()
    with pytest.raises(NotPermitted):
        session.join("p_c", "Captions", Role.CAPTIONER, T0)
    assert session.participants() == []


def test_nobody_joins_an_ended_session() -> None:
    session = new_session()
    session.end()
    with pytest.raises(NotPermitted, match="ended"):
        session.join("p_a", "Alex", Role.PATIENT, T0)


# -- dropping and the grace period ----------------------------------------------------------


def test_drop_keeps_the_seat_and_unpublishes_the_tracks() -> None:
    session = new_session(("p_a", Role.PATIENT), ("p_b", Role.PATIENT))
    session.publish("p_a", "t_mic", Source.MIC)
    session.publish("p_a", "t_cam", Source.CAMERA)

    events = session.drop("p_a", T0 + 1)

    assert events[:2] == [TrackUnpublished("t_mic", "p_a"), TrackUnpublished("t_cam", "p_a")]
    assert len(events) == 3 and isinstance(events[2], ParticipantUpdated)
    assert events[2].participant.presence is Presence.RECONNECTING
    assert events[2].participant.to_wire()["connection"] == "reconnecting"
    assert presence_of(session, "p_a") is Presence.RECONNECTING
    assert session.tracks() == []
    assert [p.id for p in session.participants()] == ["p_a", "p_b"]


def test_dropping_twice_changes_nothing() -> None:
    session = new_session(("p_a", Role.PATIENT))
    session.drop("p_a", T0)
    assert session.drop("p_a", T0 + 1) == []


def test_drop_of_unknown_participant_is_not_found() -> None:
    with pytest.raises(NotFound):
        new_session().drop("p_x", T0)


def test_expire_dropped_waits_for_the_whole_grace_period() -> None:
    session = new_session(("p_a", Role.PATIENT), ("p_b", Role.PATIENT))
    session.drop("p_a", T0 + 10)

    assert session.expire_dropped(T0 + 10 + GRACE - 0.001, GRACE) == []
    assert presence_of(session, "p_a") is Presence.RECONNECTING
    assert session.expire_dropped(T0 + 10 + GRACE, GRACE) == [ParticipantLeft("p_a", "timeout")]
    assert [p.id for p in session.participants()] == ["p_b"]
    with pytest.raises(NotFound):
        session.participant("p_a")


def test_expire_dropped_lets_go_only_of_those_whose_time_is_up() -> None:
    session = new_session(("p_a", Role.PATIENT), ("p_b", Role.PATIENT), ("p_c", Role.PATIENT))
    session.drop("p_a", T0)
    session.drop("p_b", T0 + 20)
    assert session.expire_dropped(T0 + GRACE, GRACE) == [ParticipantLeft("p_a", "timeout")]
    assert presence_of(session, "p_b") is Presence.RECONNECTING
    assert presence_of(session, "p_c") is Presence.PRESENT


def test_coming_back_within_grace_keeps_the_participant() -> None:
    session = new_session(("p_a", Role.PATIENT), ("p_b", Role.PATIENT))
    session.drop("p_a", T0)

    events = session.join("p_a", "Alex", Role.PATIENT, T0 + 5)

    assert len(events) == 1 and isinstance(events[0], ParticipantUpdated)
    assert events[0].participant.presence is Presence.PRESENT
    assert session.expire_dropped(T0 + GRACE + 1, GRACE) == []
    assert presence_of(session, "p_a") is Presence.PRESENT
    # Same seat: arrival order is kept.
    assert [p.id for p in session.participants()] == ["p_a", "p_b"]


def test_grace_is_measured_from_the_latest_drop() -> None:
    session = new_session(("p_a", Role.PATIENT))
    session.drop("p_a", T0)
    session.join("p_a", "Alex", Role.PATIENT, T0 + 1)
    session.drop("p_a", T0 + 20)
    assert session.expire_dropped(T0 + GRACE + 1, GRACE) == []
    assert session.expire_dropped(T0 + 20 + GRACE, GRACE) == [ParticipantLeft("p_a", "timeout")]


def test_coming_back_after_timeout_is_a_new_arrival() -> None:
    session = new_session(("p_a", Role.PATIENT), ("p_b", Role.PATIENT))
    session.drop("p_a", T0)
    session.expire_dropped(T0 + GRACE, GRACE)

    events = session.join("p_a", "Alex", Role.PATIENT, T0 + GRACE + 1)

    assert len(events) == 1 and isinstance(events[0], ParticipantJoined)
    assert [p.id for p in session.participants()] == ["p_b", "p_a"]


# -- leaving ------------------------------------------------------------------------------


def test_leave_is_immediate_and_unpublishes_first() -> None:
    session = new_session(("p_a", Role.PATIENT), ("p_b", Role.PATIENT))
    session.publish("p_a", "t_mic", Source.MIC)

    events = session.leave("p_a")

    assert events == [TrackUnpublished("t_mic", "p_a"), ParticipantLeft("p_a", "left")]
    assert [p.id for p in session.participants()] == ["p_b"]
    assert session.expire_dropped(T0 + 10 * GRACE, GRACE) == []


def test_leave_says_the_person_left() -> None:
    session = new_session(("p_a", Role.PATIENT))
    assert session.leave("p_a") == [ParticipantLeft("p_a", "left")]


def test_leaving_twice_or_unknown_is_not_found() -> None:
    session = new_session(("p_a", Role.PATIENT))
    session.leave("p_a")
    with pytest.raises(NotFound):
        session.leave("p_a")
    with pytest.raises(NotFound):
        session.leave("p_x")


def test_a_reconnecting_participant_can_leave() -> None:
    session = new_session(("p_a", Role.PATIENT))
    session.drop("p_a", T0)
    assert session.leave("p_a") == [ParticipantLeft("p_a", "left")]


# -- media state ----------------------------------------------------------------------------


def test_media_state_change_is_announced_once() -> None:
    session = new_session(("p_a", Role.PATIENT))
    events = session.set_media_state("p_a", mic="off", camera=None)
    assert len(events) == 1 and isinstance(events[0], ParticipantUpdated)
    assert (events[0].participant.mic, events[0].participant.camera) == ("off", "live")
    assert session.set_media_state("p_a", mic="off", camera="live") == []
    assert session.set_media_state("p_a", mic=None, camera=None) == []


def test_media_state_refuses_unknown_values() -> None:
    session = new_session(("p_a", Role.PATIENT))
    with pytest.raises(UserError):
        session.set_media_state("p_a", mic="loud", camera=None)
    assert session.participant("p_a").mic == "live"


# -- publishing ---------------------------------------------------------------------------


def test_publish_announces_the_track() -> None:
    session = new_session(("p_a", Role.PATIENT))
    events = session.publish("p_a", "t_mic", Source.MIC)
    assert events == [TrackPublished(TrackView("t_mic", "p_a", Source.MIC))]
    assert session.tracks() == [TrackView("t_mic", "p_a", Source.MIC)]
    assert session.tracks()[0].to_wire() == {
        "id": "t_mic",
        "participant": "p_a",
        "kind": "audio",
        "source": "mic",
    }


def test_publishing_the_same_track_again_changes_nothing() -> None:
    session = new_session(("p_a", Role.PATIENT))
    session.publish("p_a", "t_mic", Source.MIC)
    assert session.publish("p_a", "t_mic", Source.MIC) == []
    assert len(session.tracks()) == 1


def test_a_new_track_replaces_the_old_one_of_the_same_source() -> None:
    session = new_session(("p_a", Role.PATIENT), ("p_b", Role.PATIENT))
    session.publish("p_a", "t_mic", Source.MIC)
    session.publish("p_a", "t_cam1", Source.CAMERA)
    session.publish("p_b", "t_cam_b", Source.CAMERA)

    events = session.publish("p_a", "t_cam2", Source.CAMERA)

    assert events == [
        TrackUnpublished("t_cam1", "p_a"),
        TrackPublished(TrackView("t_cam2", "p_a", Source.CAMERA)),
    ]
    assert {t.id for t in session.tracks()} == {"t_mic", "t_cam_b", "t_cam2"}


@pytest.mark.parametrize("source", [Source.MIC, Source.CAMERA, Source.SCREEN])
def test_observer_may_not_publish(source: Source) -> None:
    session = new_session(("p_o", Role.OBSERVER))
    with pytest.raises(NotPermitted):
        session.publish("p_o", "t_1", source)
    assert session.tracks() == []


def test_publish_by_someone_not_here_is_not_found() -> None:
    session = new_session(("p_a", Role.PATIENT))
    session.leave("p_a")
    with pytest.raises(NotFound):
        session.publish("p_a", "t_mic", Source.MIC)


def test_unpublish_removes_the_track_once() -> None:
    session = new_session(("p_a", Role.PATIENT))
    session.publish("p_a", "t_mic", Source.MIC)
    assert session.unpublish("t_mic") == [TrackUnpublished("t_mic", "p_a")]
    assert session.unpublish("t_mic") == []
    assert session.tracks() == []


# -- subscriptions ------------------------------------------------------------------------


def everyone_publishing() -> Session:
    session = new_session(("p_a", Role.THERAPIST), ("p_b", Role.PATIENT), ("p_c", Role.PATIENT))
    for pid in ("p_a", "p_b", "p_c"):
        session.publish(pid, f"{pid}_mic", Source.MIC)
        session.publish(pid, f"{pid}_cam", Source.CAMERA)
    return session


def test_everyone_receives_everyone_elses_tracks_but_not_their_own() -> None:
    plan = everyone_publishing().subscriptions()
    assert plan == {
        "p_a": frozenset({"p_b_mic", "p_b_cam", "p_c_mic", "p_c_cam"}),
        "p_b": frozenset({"p_a_mic", "p_a_cam", "p_c_mic", "p_c_cam"}),
        "p_c": frozenset({"p_a_mic", "p_a_cam", "p_b_mic", "p_b_cam"}),
    }


def test_an_observer_receives_without_publishing() -> None:
    session = everyone_publishing()
    session.join("p_o", "Olive", Role.OBSERVER, T0)
    plan = session.subscriptions()
    assert plan["p_o"] == frozenset(t.id for t in session.tracks())
    assert all(not track.startswith("p_o") for tracks in plan.values() for track in tracks)


def test_reconnecting_people_receive_nothing_and_their_tracks_are_gone() -> None:
    session = everyone_publishing()
    session.drop("p_b", T0 + 1)
    plan = session.subscriptions()
    assert "p_b" not in plan
    assert plan == {
        "p_a": frozenset({"p_c_mic", "p_c_cam"}),
        "p_c": frozenset({"p_a_mic", "p_a_cam"}),
    }


def test_people_who_left_are_not_in_the_plan() -> None:
    session = everyone_publishing()
    session.leave("p_c")
    assert session.subscriptions() == {
        "p_a": frozenset({"p_b_mic", "p_b_cam"}),
        "p_b": frozenset({"p_a_mic", "p_a_cam"}),
    }


# -- ending -------------------------------------------------------------------------------


def test_end_removes_everyone_then_announces_the_end() -> None:
    session = new_session(("p_a", Role.THERAPIST), ("p_b", Role.PATIENT), ("p_c", Role.PATIENT))
    session.publish("p_b", "t_mic", Source.MIC)
    session.drop("p_c", T0)
    session.leave("p_a")

    events = session.end()

    assert events == [
        TrackUnpublished("t_mic", "p_b"),
        ParticipantLeft("p_b", "ended"),
        ParticipantLeft("p_c", "ended"),
        SessionEnded("s_1"),
    ]
    assert session.ended
    assert session.participants() == [] and session.tracks() == []
    assert session.subscriptions() == {}
    assert session.end() == []


def test_nothing_is_published_after_the_end() -> None:
    session = new_session(("p_a", Role.PATIENT))
    session.end()
    with pytest.raises(UserError):
        session.publish("p_a", "t_mic", Source.MIC)


# -- storage ------------------------------------------------------------------------------


def test_record_round_trip_keeps_people_and_forgets_tracks() -> None:
    session = everyone_publishing()
    session.set_media_state("p_a", mic="off", camera=None)
    session.drop("p_b", T0 + 3)
    session.leave("p_c")

    copy = Session.from_record(session.to_record())

    assert (copy.id, copy.title, copy.created_at, copy.ended) == ("s_1", "Tuesday group", T0, False)
    assert copy.participants() == session.participants()
    assert copy.tracks() == []
    # The drop time survives: the grace period still runs out on time.
    assert copy.expire_dropped(T0 + 3 + GRACE, GRACE) == [ParticipantLeft("p_b", "timeout")]
