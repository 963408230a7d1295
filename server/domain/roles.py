"""Roles and what each may do: the one place permissions are decided."""

from __future__ import annotations

from enum import StrEnum

from .errors import NotPermitted


class Role(StrEnum):
    """A participant's role, bound to their verified join token."""

    THERAPIST = "therapist"
    CO_FACILITATOR = "co-facilitator"
    PEER_LEADER = "peer-leader"
    PATIENT = "patient"
    OBSERVER = "observer"
    CAPTIONER = "captioner"


class Action(StrEnum):
    """Things a participant may try to do; docs/PERMISSIONS.md is the matrix."""

    JOIN = "join the call"
    SKIP_WAITING_ROOM = "skip the waiting room"
    PUBLISH_MIC = "publish a microphone"
    PUBLISH_CAMERA = "publish a camera"
    SEE_WAITING_ROOM = "see the waiting room"
    ADMIT = "admit or deny someone waiting"
    LOCK = "lock or unlock the session"
    MUTE = "mute someone"
    MUTE_ALL = "mute everyone"
    ASK_UNMUTE = "ask someone to unmute"
    STOP_CAMERA = "turn someone's camera off"
    REMOVE = "remove someone"
    REVOKE_LINK = "revoke a join link, used or not"
    END_SESSION = "end the session"
    SET_CHAT = "turn group chat on or off"
    CHAT = "chat with the group"
    CHAT_FACILITATORS = "write privately to the facilitators"
    RAISE_HAND = "raise a hand"
    LOWER_OTHERS_HAND = "lower someone else's hand"
    SEE_HANDS = "see the raised-hand queue"
    SIGNAL_BREAK = "signal privately that they need a break"
    SEE_BREAK_SIGNALS = "see break signals"
    ASK_TO_PRESENT = "ask to share their screen"
    APPROVE_PRESENTER = "approve, decline or revoke screen sharing"
    PRESENT_WITHOUT_ASKING = "share their screen without asking"
    MANAGE_BREAKOUTS = "create, assign, open, time and close breakout rooms"
    MOVE_PEOPLE = "move someone to another room"
    BROADCAST = "broadcast a message to every room"
    VISIT_ROOMS = "visit any breakout room"
    SEE_HELP_REQUESTS = "see help requests from breakout rooms"
    ASK_FOR_HELP = "ask the facilitators for help in a breakout room"
    CHOOSE_OWN_ROOM = "choose their own breakout room, when allowed"
    MODERATE_LED_ROOM = "mute or ask to unmute in the breakout room they lead"
    MANAGE_CAPTIONS = "switch captions (and keeping a transcript) on or off"
    SEND_CAPTIONS = "send caption text (a captioning service)"
    SEE_SPEAKING_STATS = "see everyone's speaking time and fairness cues"
    SET_SPEAKING_OPTIONS = "let peer leaders see the speaking cues of the room they lead"
    RUN_ROUNDS = "start, move on and end a go-round in any room"
    RUN_LED_ROOM_ROUNDS = "run a go-round in the breakout room they lead"
    TAKE_TURN = "take or pass their turn in a go-round"
    PLAN_SESSION = "set the session plan, move it on, skip or extend a segment"
    LEAD_SEGMENT = "move on from or extend a segment they lead, when allowed"
    SPOTLIGHT = "spotlight someone for everyone"
    SEND_FEEDBACK = "send supportive feedback to a segment's leader"
    REACT = "react on their tile (thank you, me too, clap)"
    SET_REACTIONS = "turn reactions on or off"
    ASK_TECH_HELP = "say they have a technical problem"
    HANDLE_SIGNALS = "see and dismiss the facilitators' signals"
    MESSAGE_PRIVATELY = "message one participant privately"


FACILITATORS = frozenset({Role.THERAPIST, Role.CO_FACILITATOR})

_MODERATION = frozenset(
    {
        Action.SKIP_WAITING_ROOM,
        Action.SEE_WAITING_ROOM,
        Action.ADMIT,
        Action.LOCK,
        Action.MUTE,
        Action.MUTE_ALL,
        Action.ASK_UNMUTE,
        Action.STOP_CAMERA,
        Action.REMOVE,
        Action.REVOKE_LINK,
        Action.SET_CHAT,
        Action.LOWER_OTHERS_HAND,
        Action.SEE_HANDS,
        Action.SEE_BREAK_SIGNALS,
        Action.APPROVE_PRESENTER,
        Action.PRESENT_WITHOUT_ASKING,
        Action.MANAGE_BREAKOUTS,
        Action.MOVE_PEOPLE,
        Action.BROADCAST,
        Action.VISIT_ROOMS,
        Action.SEE_HELP_REQUESTS,
        Action.MODERATE_LED_ROOM,
        Action.MANAGE_CAPTIONS,
        Action.SEE_SPEAKING_STATS,
        Action.SET_SPEAKING_OPTIONS,
    }
)
_MEMBER = frozenset(
    {
        Action.JOIN,
        Action.PUBLISH_MIC,
        Action.PUBLISH_CAMERA,
        Action.CHAT,
        Action.CHAT_FACILITATORS,
        Action.RAISE_HAND,
        Action.SIGNAL_BREAK,
        Action.ASK_TO_PRESENT,
        Action.ASK_FOR_HELP,
        Action.CHOOSE_OWN_ROOM,
        Action.TAKE_TURN,
        Action.SEND_FEEDBACK,
        Action.REACT,
        Action.ASK_TECH_HELP,
    }
)

_ALLOWED: dict[Role, frozenset[Action]] = {
    # Facilitators run go-rounds rather than take a turn in them.
    Role.THERAPIST: frozenset(Action) - {Action.SEND_CAPTIONS, Action.TAKE_TURN},
    Role.CO_FACILITATOR: frozenset(Action)
    - {Action.END_SESSION, Action.SEND_CAPTIONS, Action.TAKE_TURN},
    # A peer leader moderates only the breakout room they lead.
    Role.PEER_LEADER: _MEMBER
    | {Action.MODERATE_LED_ROOM, Action.RUN_LED_ROOM_ROUNDS, Action.LEAD_SEGMENT},
    Role.PATIENT: _MEMBER,
    # An observer watches and listens; everyone is told one is present.
    Role.OBSERVER: frozenset({Action.JOIN, Action.ASK_TECH_HELP}),
    # A captioner is a service: it never joins the call as a person; it hears the
    # consenting speakers and sends caption text back.
    Role.CAPTIONER: frozenset({Action.SEND_CAPTIONS}),
}


def may(role: Role, action: Action) -> bool:
    """Whether `role` may perform `action`."""
    return action in _ALLOWED[role]


def require(role: Role, action: Action) -> None:
    """Raise NotPermitted unless `role` may perform `action`."""
    if not may(role, action):
        raise NotPermitted(f"a {role.value} may not {action.value}")


def permission_matrix_markdown() -> str:
    """The role x action matrix as a Markdown table (docs/PERMISSIONS.md embeds it)."""
    roles = list(Role)
    lines = [
        "| action | " + " | ".join(r.value for r in roles) + " |",
        "|---|" + "---|" * len(roles),
    ]
    for action in Action:
        cells = ["yes" if may(r, action) else "-" for r in roles]
        lines.append(f"| {action.value} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
