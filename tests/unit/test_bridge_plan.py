"""`plan_of`: the media subscription plan the bridge builds from a real session:
who receives which track, and which tracks are gated. No I/O."""

from __future__ import annotations

from media.plan import SubscriptionPlan
from server.bridge import plan_of
from server.domain.model import Source
from server.domain.roles import Role
from server.domain.session import Session

T0 = 1000.0
PEOPLE = {"p_t": Role.THERAPIST, "p_a": Role.PATIENT, "p_b": Role.PATIENT, "p_c": Role.PATIENT}


def publishing() -> Session:
    """Everyone in PEOPLE in the call (waiting room off), each with a mic and a camera."""
    session = Session("s_1", "Group", T0, waiting_room=False)
    for pid, role in PEOPLE.items():
        session.join(pid, pid.upper(), role, T0)
        session.publish(pid, f"mic_{pid}", Source.MIC)
        session.publish(pid, f"cam_{pid}", Source.CAMERA)
    return session


def tracks_of(*pids: str) -> frozenset[str]:
    return frozenset(f"{kind}_{pid}" for pid in pids for kind in ("mic", "cam"))


def test_everyone_receives_everyone_elses_tracks_and_not_their_own() -> None:
    plan = plan_of(publishing())
    assert set(plan.receivers) == set(PEOPLE)
    for pid in PEOPLE:
        assert plan.tracks_for(pid) == tracks_of(*(p for p in PEOPLE if p != pid))
    assert plan.gated == frozenset()


def test_in_breakout_rooms_people_receive_their_own_rooms_tracks_only() -> None:
    session = publishing()
    session.set_breakout_rooms("p_t", ["Blue", "Green"])
    for pid, room in (("p_a", "r1"), ("p_b", "r1"), ("p_c", "r2")):
        session.assign_to_room("p_t", pid, room)
    session.open_breakouts("p_t", None, T0)
    plan = plan_of(session)
    assert plan.tracks_for("p_a") == tracks_of("p_b")
    assert plan.tracks_for("p_b") == tracks_of("p_a")
    assert plan.tracks_for("p_c") == frozenset()  # alone in Green
    assert plan.tracks_for("p_t") == frozenset()  # alone in the main room
    # A visiting facilitator hears the room they visit, and the room hears them.
    session.visit("p_t", "r2")
    plan = plan_of(session)
    assert plan.tracks_for("p_t") == tracks_of("p_c")
    assert plan.tracks_for("p_c") == tracks_of("p_t")
    session.close_breakouts("p_t")
    assert plan_of(session) == plan_of(publishing())


def test_people_waiting_receive_nothing_and_nobody_receives_them() -> None:
    session = publishing()
    session.waiting_room = True
    session.join("p_w", "Wren", Role.PATIENT, T0)
    plan = plan_of(session)
    assert "p_w" not in plan.receivers
    assert plan.tracks_for("p_w") == frozenset()
    assert plan == plan_of(publishing())


def test_people_reconnecting_receive_nothing_and_their_tracks_are_gone() -> None:
    session = publishing()
    session.drop("p_a", T0 + 1)
    plan = plan_of(session)
    assert "p_a" not in plan.receivers
    for pid in ("p_t", "p_b", "p_c"):
        assert not plan.tracks_for(pid) & tracks_of("p_a")
    # Back within grace: in the plan again, receiving; their new tracks reach the others.
    session.join("p_a", "P_A", Role.PATIENT, T0 + 2)
    session.publish("p_a", "mic_p_a", Source.MIC)
    plan = plan_of(session)
    assert plan.tracks_for("p_a") == tracks_of("p_t", "p_b", "p_c")
    assert "mic_p_a" in plan.tracks_for("p_b") and "cam_p_a" not in plan.tracks_for("p_b")


def test_a_muted_mic_and_a_stopped_camera_stay_subscribed_but_are_gated() -> None:
    session = publishing()
    before = plan_of(session)
    session.mute("p_t", "p_a")
    session.set_media_state("p_b", mic=None, camera="off")
    plan = plan_of(session)
    # Gating is not a plan change: the same receivers, so no offer goes out.
    assert plan.receivers == before.receivers
    assert plan.gated == {"mic_p_a", "cam_p_b"}
    assert "mic_p_a" in plan.tracks_for("p_b") and "cam_p_b" in plan.tracks_for("p_a")
    # Back on: the gate opens, the receivers still the same.
    session.set_media_state("p_a", mic="live", camera=None)
    session.set_media_state("p_b", mic=None, camera="live")
    assert plan_of(session) == before


def test_an_ended_screen_share_is_gone_from_the_plan() -> None:
    session = publishing()
    session.publish("p_t", "screen_p_t", Source.SCREEN)
    assert all("screen_p_t" in plan_of(session).tracks_for(p) for p in ("p_a", "p_b", "p_c"))
    assert "screen_p_t" not in plan_of(session).tracks_for("p_t")
    session.unpublish("screen_p_t")
    plan = plan_of(session)
    assert all("screen_p_t" not in plan.tracks_for(pid) for pid in PEOPLE)
    assert "screen_p_t" not in plan.gated
    assert plan == plan_of(publishing())


def test_a_share_ended_by_a_move_is_gone_too() -> None:
    session = publishing()
    session.request_share("p_a")
    session.answer_share("p_t", "p_a", True)
    session.publish("p_a", "screen_p_a", Source.SCREEN)
    session.set_breakout_rooms("p_t", ["Blue"])
    session.assign_to_room("p_t", "p_a", "r1")
    session.open_breakouts("p_t", None, T0)
    plan = plan_of(session)
    assert all("screen_p_a" not in plan.tracks_for(pid) for pid in PEOPLE)


def test_the_plan_names_only_tracks_that_are_published() -> None:
    session = publishing()
    session.mute("p_t", "p_c")
    session.leave("p_c")
    plan = plan_of(session)
    assert isinstance(plan, SubscriptionPlan)
    published = {t.id for t in session.tracks()}
    assert plan.gated <= published
    assert all(tracks <= published for tracks in plan.receivers.values())
    assert "p_c" not in plan.receivers
