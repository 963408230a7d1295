"""Every cell of the role x action matrix, against the session itself."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from server.domain.errors import NotPermitted
from server.domain.model import Presence, Source
from server.domain.planning import SegmentSpec
from server.domain.roles import Action, Role, may, permission_matrix_markdown
from server.domain.session import Session

NOW = 1000.0
THERAPIST, ACTOR, TARGET, WAITER = "p_therapist", "p_actor", "p_target", "p_waiter"
CAPTIONER = "p_captioner"


def session_with(role: Role) -> Session:
    """A therapist, an actor of `role` and a patient in the call, publishing; one patient
    waiting; a captioner service connected."""
    session = Session("s_1", "Group", NOW)
    session.join(THERAPIST, "Therapist", Role.THERAPIST, NOW)
    record = session.to_record()
    # Put the actor straight into the call, whatever the role (a captioner could never
    # join, which is the point: it must still be refused everything once there).
    record["participants"].append(
        {
            "id": ACTOR,
            "name": "Actor",
            "role": role.value,
            "presence": Presence.PRESENT.value,
            "mic": "live",
            "camera": "live",
            "room": "main",
            "pre_admitted": False,
            "dropped_at": None,
        }
    )
    session = Session.from_record(record)
    session.join(TARGET, "Target", Role.PATIENT, NOW, pre_admitted=True)
    session.join(WAITER, "Waiter", Role.PATIENT, NOW)
    assert session.participant(TARGET).presence is Presence.PRESENT
    assert session.participant(WAITER).presence is Presence.WAITING
    # Connection state that `to_record` leaves out, so that a refusal which leaked into
    # it shows in `snapshot()`: published tracks and a connected captioner.
    session.publish(THERAPIST, "t_therapist_mic", Source.MIC)
    session.publish(TARGET, "t_target_mic", Source.MIC)
    session.publish(TARGET, "t_target_cam", Source.CAMERA)
    session.connect_captioner(CAPTIONER, "Captions", Role.CAPTIONER, NOW)
    return session


def rooms_open(session: Session, *in_room_one: str, self_choice: bool = False) -> Session:
    """The therapist opens two breakout rooms with `in_room_one` in the first."""
    session.set_breakout_rooms(THERAPIST, ["One", "Two"])
    session.set_self_choice(THERAPIST, self_choice)
    session.open_breakouts(THERAPIST, None, NOW)
    for pid in in_room_one:
        session.assign_to_room(THERAPIST, pid, "r1")
    return session


def actor_leads_a_running_segment(session: Session) -> None:
    """A plan whose first segment the actor leads (if their role may lead), running."""
    may_lead = session.participant(ACTOR).role in (
        Role.THERAPIST,
        Role.CO_FACILITATOR,
        Role.PEER_LEADER,
    )
    leaders = (ACTOR,) if may_lead else ()
    session.set_plan(THERAPIST, [SegmentSpec("Check-in", "check-in", 600, "", leaders)], True)
    session.next_segment(THERAPIST, NOW)


def actor_leads_room_one(session: Session) -> None:
    rooms_open(session, ACTOR, TARGET)
    if session.participant(ACTOR).role is Role.PEER_LEADER:
        session.set_room_leader(THERAPIST, "r1", ACTOR)


# What must be true before an action can be tried (done by the therapist).
SETUP: dict[Action, Callable[[Session], object]] = {
    Action.ASK_UNMUTE: lambda s: s.mute(THERAPIST, TARGET),
    Action.LOWER_OTHERS_HAND: lambda s: s.raise_hand(TARGET),
    Action.MOVE_PEOPLE: lambda s: s.set_breakout_rooms(THERAPIST, ["One", "Two"]),
    Action.VISIT_ROOMS: rooms_open,
    Action.SEE_HELP_REQUESTS: lambda s: [rooms_open(s, TARGET), s.request_help(TARGET, NOW)],
    Action.ASK_FOR_HELP: lambda s: rooms_open(s, ACTOR),
    Action.CHOOSE_OWN_ROOM: lambda s: rooms_open(s, self_choice=True),
    Action.MODERATE_LED_ROOM: actor_leads_room_one,
    Action.RUN_LED_ROOM_ROUNDS: actor_leads_room_one,
    Action.TAKE_TURN: lambda s: s.start_round(THERAPIST, "main", "listed", None, False, NOW),
    Action.LEAD_SEGMENT: actor_leads_a_running_segment,
    Action.HANDLE_SIGNALS: lambda s: s.request_tech_help(TARGET, NOW),
    Action.SEND_FEEDBACK: lambda s: [
        s.set_plan(
            THERAPIST,
            [
                SegmentSpec("Topic", "topic", 600, "", (THERAPIST,)),
                SegmentSpec("Close", "closing", 600),
            ],
            False,
        ),
        s.next_segment(THERAPIST, NOW),
        s.next_segment(THERAPIST, NOW),
    ],
}
# Actions the session enforces, each as the actor trying it.
ATTEMPTS: dict[Action, Callable[[Session, Role], object]] = {
    Action.JOIN: lambda s, role: s.join("p_new", "New", role, NOW),
    Action.PUBLISH_MIC: lambda s, role: s.publish(ACTOR, "t_mic", Source.MIC),
    Action.PUBLISH_CAMERA: lambda s, role: s.publish(ACTOR, "t_cam", Source.CAMERA),
    Action.ADMIT: lambda s, role: s.admit(ACTOR, WAITER),
    Action.LOCK: lambda s, role: s.set_locked(ACTOR, True),
    Action.MUTE: lambda s, role: s.mute(ACTOR, TARGET),
    Action.MUTE_ALL: lambda s, role: s.mute_all(ACTOR),
    Action.ASK_UNMUTE: lambda s, role: s.ask_to_unmute(ACTOR, TARGET),
    Action.STOP_CAMERA: lambda s, role: s.stop_camera(ACTOR, TARGET),
    Action.REMOVE: lambda s, role: s.remove(ACTOR, TARGET),
    Action.REVOKE_LINK: lambda s, role: s.revoke_link(ACTOR, TARGET, NOW),
    Action.END_SESSION: lambda s, role: s.end(ACTOR),
    Action.SET_CHAT: lambda s, role: s.set_chat(ACTOR, False),
    Action.CHAT: lambda s, role: s.post_chat(ACTOR, "room", "hello", NOW),
    Action.CHAT_FACILITATORS: lambda s, role: s.post_chat(ACTOR, "facilitators", "hi", NOW),
    Action.RAISE_HAND: lambda s, role: s.raise_hand(ACTOR),
    Action.LOWER_OTHERS_HAND: lambda s, role: s.lower_hand(ACTOR, TARGET),
    Action.SIGNAL_BREAK: lambda s, role: s.signal_break(ACTOR, NOW),
    Action.ASK_TO_PRESENT: lambda s, role: s.request_share(ACTOR),
    Action.APPROVE_PRESENTER: lambda s, role: s.answer_share(ACTOR, TARGET, True),
    Action.PRESENT_WITHOUT_ASKING: lambda s, role: s.publish(ACTOR, "t_screen", Source.SCREEN),
    Action.MANAGE_BREAKOUTS: lambda s, role: s.set_breakout_rooms(ACTOR, ["A", "B"]),
    Action.MOVE_PEOPLE: lambda s, role: s.assign_to_room(ACTOR, TARGET, "r1"),
    Action.BROADCAST: lambda s, role: s.broadcast(ACTOR, "Five minutes left", NOW),
    Action.VISIT_ROOMS: lambda s, role: s.visit(ACTOR, "r1"),
    Action.SEE_HELP_REQUESTS: lambda s, role: s.clear_help(ACTOR, TARGET),
    Action.ASK_FOR_HELP: lambda s, role: s.request_help(ACTOR, NOW),
    Action.CHOOSE_OWN_ROOM: lambda s, role: s.choose_room(ACTOR, "r2"),
    Action.MODERATE_LED_ROOM: lambda s, role: s.mute(ACTOR, TARGET),
    Action.MANAGE_CAPTIONS: lambda s, role: s.set_captions(ACTOR, True, False),
    Action.SEE_SPEAKING_STATS: lambda s, role: s.check_may_see_speaking(ACTOR),
    Action.SET_SPEAKING_OPTIONS: lambda s, role: s.set_speaking_options(ACTOR, True),
    Action.RUN_ROUNDS: lambda s, role: s.start_round(ACTOR, "main", "listed", None, False, NOW),
    Action.RUN_LED_ROOM_ROUNDS: lambda s, role: s.start_round(
        ACTOR, "r1", "listed", None, False, NOW
    ),
    # The actor arrived first, so the round starts with their turn (if they take one).
    Action.TAKE_TURN: lambda s, role: s.pass_turn(ACTOR, NOW),
    Action.PLAN_SESSION: lambda s, role: s.set_plan(
        ACTOR, [SegmentSpec("Check-in", "check-in", 600)], False
    ),
    Action.LEAD_SEGMENT: lambda s, role: s.extend_segment(ACTOR, 60, NOW),
    Action.SPOTLIGHT: lambda s, role: s.set_spotlight(ACTOR, TARGET),
    Action.SEND_FEEDBACK: lambda s, role: s.send_feedback(ACTOR, 0, "thank-you", "", NOW),
    Action.REACT: lambda s, role: s.react(ACTOR, "clap"),
    Action.SET_REACTIONS: lambda s, role: s.set_reactions(ACTOR, False),
    Action.ASK_TECH_HELP: lambda s, role: s.request_tech_help(ACTOR, NOW),
    Action.HANDLE_SIGNALS: lambda s, role: s.dismiss_signal(ACTOR, "tech-help:1"),
    Action.MESSAGE_PRIVATELY: lambda s, role: s.post_chat(ACTOR, "participant", "hi", NOW, TARGET),
}
# Seeing things is enforced where events are presented (tests/integration).
PRESENTATION_ONLY = {Action.SEE_WAITING_ROOM, Action.SEE_HANDS, Action.SEE_BREAK_SIGNALS}
# A captioner is a connection, never a participant: signaling enforces it
# (tests/integration/test_captions.py).
PRESENTATION_ONLY |= {Action.SEND_CAPTIONS}


def test_every_action_is_attempted_or_presentation_only() -> None:
    tested = set(ATTEMPTS) | PRESENTATION_ONLY | {Action.SKIP_WAITING_ROOM}
    assert tested == set(Action)


@pytest.mark.parametrize("role", [r for r in Role if may(r, Action.JOIN)], ids=str)
def test_only_facilitators_skip_the_waiting_room(role: Role) -> None:
    session = session_with(Role.PATIENT)
    session.join("p_new", "New", role, NOW)
    presence = session.participant("p_new").presence
    expected = Presence.PRESENT if may(role, Action.SKIP_WAITING_ROOM) else Presence.WAITING
    assert presence is expected


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
@pytest.mark.parametrize("action", list(ATTEMPTS), ids=lambda a: a.name.lower())
def test_the_session_enforces_the_matrix(role: Role, action: Action) -> None:
    session = session_with(role)
    if action in SETUP:
        SETUP[action](session)
    before = session.snapshot()
    if may(role, action):
        ATTEMPTS[action](session, role)
    else:
        with pytest.raises(NotPermitted):
            ATTEMPTS[action](session, role)
        # A refused action changes nothing.
        assert session.snapshot() == before


def test_permissions_doc_shows_the_matrix_in_force() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "PERMISSIONS.md").read_text()
    assert permission_matrix_markdown() in doc


def test_facilitators_are_exactly_the_roles_that_skip_the_waiting_room() -> None:
    skipping = {r for r in Role if may(r, Action.SKIP_WAITING_ROOM)}
    assert skipping == {Role.THERAPIST, Role.CO_FACILITATOR}
