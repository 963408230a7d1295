"""The wire protocol's one definition: every event a client may send and every event
the server sends, with who sends or receives it. The handler table, docs/PROTOCOL.md,
the browser's protocol module (through client/protocol.json, written from this
module) and the Python test client are all checked against it
(tests/unit/test_protocol_definition.py); the server refuses to emit an event that
is not here. Payloads are specified in docs/PROTOCOL.md and parsed in `inbound`.

`python -c "from server.signaling.protocol import as_json; print(as_json(), end='')"`
writes what client/protocol.json holds (a test fails when the two differ).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

VERSION = 1


@dataclass(frozen=True)
class EventSpec:
    """One event: its name, who may send it (client events) or who receives it
    (server events), and what it is for, in a line."""

    name: str
    who: str
    summary: str
    # False for the events only a captioner service sends or receives.
    browser: bool = True


CLIENT: tuple[EventSpec, ...] = (
    EventSpec("join", "anyone", "knock: come in (welcome, offer) or wait"),
    EventSpec("leave", "anyone", "go now, without a grace period"),
    EventSpec("answer", "in the call", "the answer to the server's latest offer"),
    EventSpec("ice-candidate", "in the call", "a trickled candidate"),
    EventSpec("media-state", "in the call", "one's own mic and camera on or off"),
    EventSpec("link-quality", "in the call", "how one's page finds its link"),
    EventSpec("admit", "facilitators", "let someone in from the waiting room"),
    EventSpec("deny", "facilitators", "turn a knock away, with a message"),
    EventSpec("lock", "facilitators", "lock or unlock the session"),
    EventSpec("mute", "facilitators, a room's peer leader", "mute someone"),
    EventSpec("mute-all", "facilitators", "mute everyone else"),
    EventSpec("ask-unmute", "facilitators, a room's peer leader", "ask someone to unmute"),
    EventSpec("stop-camera", "facilitators", "turn someone's camera off"),
    EventSpec("remove", "facilitators", "remove someone; their link stops working"),
    EventSpec("end-session", "the therapist", "end the session for everyone"),
    EventSpec("raise-hand", "participants", "raise one's hand"),
    EventSpec("lower-hand", "participants", "lower one's hand (facilitators: anyone's)"),
    EventSpec("chat", "participants", "a message to the room or to the facilitators"),
    EventSpec("set-chat", "facilitators", "group chat on or off"),
    EventSpec("break", "participants", "a private 'I need a break'"),
    EventSpec("share-request", "participants", "ask to present one's screen"),
    EventSpec("share-approve", "facilitators", "let someone present"),
    EventSpec("share-decline", "facilitators", "turn a request to present down"),
    EventSpec("share-revoke", "facilitators", "take the right to present back"),
    EventSpec("share-start", "whoever may present", "get a screen publish slot"),
    EventSpec("share-policy", "facilitators", "a second presenter replaces or waits"),
    EventSpec("share-stop", "the presenter", "stop presenting"),
    EventSpec("captions", "facilitators", "captions (and a transcript) on or off"),
    EventSpec("caption-consent", "participants", "decline captioning of one's speech"),
    EventSpec("caption-text", "captioner services", "caption text for an utterance", False),
    EventSpec("breakout-rooms", "facilitators", "plan breakout rooms"),
    EventSpec("breakout-assign", "facilitators", "place people in the planned rooms"),
    EventSpec("breakout-move", "facilitators", "move someone to another room"),
    EventSpec("breakout-leader", "facilitators", "name a room's peer leader"),
    EventSpec("breakout-options", "facilitators", "let people choose their room"),
    EventSpec("breakout-open", "facilitators", "open the rooms, with a timer"),
    EventSpec("breakout-timer", "facilitators", "extend or shorten the rooms' time"),
    EventSpec("breakout-broadcast", "facilitators", "a message to every room"),
    EventSpec("breakout-visit", "facilitators", "visit a room"),
    EventSpec("breakout-choose", "participants, when allowed", "choose one's room"),
    EventSpec("breakout-help", "participants in a breakout room", "ask for help"),
    EventSpec("breakout-help-clear", "facilitators", "mark a help request handled"),
    EventSpec("breakout-close", "facilitators", "close the rooms: everyone back"),
    EventSpec("cue-dismiss", "facilitators", "dismiss a fairness cue"),
    EventSpec("hands-by-talk", "facilitators", "the raised hands ordered by least talk"),
    EventSpec("speaking-options", "facilitators", "let peer leaders see their room's cues"),
    EventSpec("revoke-link", "facilitators", "revoke a link, used or not"),
    EventSpec("round-start", "facilitators, a room's peer leader", "start a go-round"),
    EventSpec("round-next", "the round's runner, or the speaker", "the floor moves on"),
    EventSpec("round-pass", "whoever holds the floor", "pass, without a reason"),
    EventSpec("round-end", "facilitators, a room's peer leader", "close the go-round"),
    EventSpec("plan-set", "facilitators", "lay out the session's segments"),
    EventSpec("plan-next", "facilitators (a segment's leader, when allowed)", "move on"),
    EventSpec("plan-skip", "facilitators", "skip the next segment"),
    EventSpec("plan-extend", "facilitators (a segment's leader, when allowed)", "more time"),
    EventSpec("spotlight", "facilitators", "everyone sees one person large"),
    EventSpec("feedback", "participants", "supportive feedback for a segment's leader"),
    EventSpec("reaction", "participants", "a brief reaction on one's tile"),
    EventSpec("set-reactions", "facilitators", "reactions on or off"),
    EventSpec("admit-all", "facilitators", "let everyone waiting in"),
    EventSpec("waiting-message", "facilitators", "a message to everyone waiting"),
    EventSpec("tech-help", "anyone in the call", "I have a technical problem"),
    EventSpec("signal-dismiss", "facilitators", "a signal was handled"),
)

SERVER: tuple[EventSpec, ...] = (
    EventSpec("welcome", "the person", "you are in: who, the session, permissions"),
    EventSpec("offer", "the person", "a media offer to answer"),
    EventSpec("error", "the sender", "an event was refused, or media failed"),
    EventSpec("waiting", "the person", "you are in the waiting room"),
    EventSpec("denied", "the person", "a facilitator turned the knock away"),
    EventSpec("waiting-room", "facilitators", "who is waiting"),
    EventSpec("participant-joined", "everyone in the call", "someone came in"),
    EventSpec("participant-updated", "everyone in the call", "someone's state changed"),
    EventSpec("participant-left", "everyone in the call", "someone left"),
    EventSpec("track-published", "everyone in the call", "a new track"),
    EventSpec("track-unpublished", "everyone in the call", "a track ended"),
    EventSpec("session-settings", "everyone in the call", "lock, chat, sharing, captions"),
    EventSpec("session-left", "the person", "you are out (removed, replaced, ...)"),
    EventSpec("session-ended", "everyone", "the session has ended"),
    EventSpec("muted", "the person", "a moderator muted you"),
    EventSpec("unmute-requested", "the person", "a moderator asks you to unmute"),
    EventSpec("camera-stopped", "the person", "a moderator turned your camera off"),
    EventSpec("hands", "facilitators", "the raised-hand queue"),
    EventSpec("hand", "each participant", "whether your hand is raised"),
    EventSpec("chat-message", "the room, or facilitators and sender", "a chat message"),
    EventSpec("break-requested", "facilitators", "someone needs a break"),
    EventSpec("share-requests", "facilitators", "pending requests to present"),
    EventSpec("share-answer", "the person", "your request to present was answered"),
    EventSpec("share-ended", "the presenter", "your share ended"),
    EventSpec("moved", "the person", "you are in another room now"),
    EventSpec("breakouts", "everyone in the call", "the breakout rooms and timer"),
    EventSpec("breakout-console", "facilitators", "the room plan and help requests"),
    EventSpec("breakouts-closed", "everyone in the call", "the rooms closed"),
    EventSpec("breakout-warning", "everyone in the call", "a minute left"),
    EventSpec("broadcast", "everyone in the call", "a message to every room"),
    EventSpec("help-requested", "facilitators", "someone asks for help in a room"),
    EventSpec("speaking-stats", "facilitators", "talk shares and balance"),
    EventSpec("cue", "facilitators (a room's peer leader, when allowed)", "a fairness cue"),
    EventSpec("cue-cleared", "facilitators (a room's peer leader)", "a cue no longer holds"),
    EventSpec("my-speaking", "each patient and peer leader", "your own talk time"),
    EventSpec("hands-order", "the facilitator who asked", "hands by least talk"),
    EventSpec("speaking-options", "facilitators", "the speaking options"),
    EventSpec("caption", "the speaker's room", "a partial or final caption"),
    EventSpec("captions-status", "everyone in the call", "the caption engine's state"),
    EventSpec("caption-consent", "the person", "your caption choice"),
    EventSpec("caption-audio", "captioner services", "an utterance to caption", False),
    EventSpec("captioners", "facilitators", "the captioner services connected"),
    EventSpec("plan", "everyone in the call", "the plan: segments, the current one, time"),
    EventSpec("feedback", "a segment's leaders and the facilitators", "feedback for a leader"),
    EventSpec("signals", "facilitators", "everything open they must not miss"),
    EventSpec("waiting-message", "everyone waiting", "a facilitator's message"),
    EventSpec("reaction", "everyone in the room", "someone reacted"),
    EventSpec("round", "everyone in the room", "the room's go-round: whose turn"),
    EventSpec("round-console", "facilitators", "a go-round with passes and turn lengths"),
    EventSpec("link-quality", "facilitators", "how someone's page finds its link"),
    EventSpec("media-quality", "the person", "others' video paused on your link, or back"),
)

CLIENT_EVENT_NAMES = frozenset(e.name for e in CLIENT)
SERVER_EVENT_NAMES = frozenset(e.name for e in SERVER)


def _entry(event: EventSpec) -> dict[str, object]:
    return {"who": event.who, "summary": event.summary, "browser": event.browser}


def as_json() -> str:
    """The definition as client/protocol.json holds it."""
    body = {
        "version": VERSION,
        "client": {e.name: _entry(e) for e in CLIENT},
        "server": {e.name: _entry(e) for e in SERVER},
    }
    return json.dumps(body, indent=2) + "\n"
