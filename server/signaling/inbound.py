"""Parsing of client messages: every payload is checked here before anything acts on it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..domain.errors import ProtocolError
from ..domain.session import MEDIA_STATES
from .protocol import VERSION

PROTOCOL_VERSION = VERSION
MAX_MESSAGE_BYTES = 256 * 1024
MAX_SDP_LENGTH = 65536
MAX_CANDIDATE_LENGTH = 1024
MAX_MID_LENGTH = 32


@dataclass(frozen=True)
class JoinRequest:
    """`join`: which sources the client wants to publish."""

    mic: bool
    camera: bool
    # The person's caption choice, made in the lobby (None: keep what it was).
    captions_declined: bool | None = None


@dataclass(frozen=True)
class Answer:
    """`answer`: the client's SDP answer to offer `revision`."""

    revision: int
    sdp: str


@dataclass(frozen=True)
class IceCandidate:
    """`ice-candidate`: one trickled candidate, or the end of them (candidate None)."""

    candidate: str | None
    sdp_mid: str | None
    sdp_mline_index: int | None


@dataclass(frozen=True)
class MediaState:
    """`media-state`: mic and camera as the participant set them."""

    mic: str | None
    camera: str | None


# Direction overrides and isolates can make relayed text read as something else (a
# name shown backwards, a link disguised); marks (U+200E, U+200F, U+061C) are harmless.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def expect_text(value: Any, name: str, max_length: int, multiline: bool = False) -> str:
    """A relayed text, trimmed: 1-`max_length` characters, no control characters (a
    newline only where `multiline`) and no direction overrides."""
    if not isinstance(value, str) or not value.strip() or len(value) > max_length:
        raise ProtocolError(f"{name}: must be 1-{max_length} characters")
    for char in value:
        if char in _BIDI_CONTROLS:
            raise ProtocolError(f"{name}: direction-override characters are not allowed")
        if (char < " " or "\x7f" <= char < "\xa0") and not (multiline and char in "\n\t"):
            raise ProtocolError(f"{name}: control characters are not allowed")
    return value.strip()


def expect_object(payload: Any, allowed: set[str]) -> dict[str, Any]:
    """The payload as an object with only `allowed` fields (None: empty)."""
    if payload is None:
        payload = {}
    if not isinstance(payload, dict):
        raise ProtocolError("payload: must be an object")
    unknown = set(payload) - allowed
    if unknown:
        raise ProtocolError(f"unknown field(s): {', '.join(sorted(map(str, unknown)))}")
    return payload


def parse_join(payload: Any) -> JoinRequest:
    """Parse `join`."""
    body = expect_object(payload, {"publish", "captionsDeclined"})
    declined = body.get("captionsDeclined")
    if declined is not None and not isinstance(declined, bool):
        raise ProtocolError("captionsDeclined: must be true or false")
    publish = body.get("publish", {"mic": True, "camera": True})
    publish = expect_object(publish, {"mic", "camera"})
    for key in ("mic", "camera"):
        if not isinstance(publish.get(key, False), bool):
            raise ProtocolError(f"publish.{key}: must be true or false")
    return JoinRequest(
        mic=publish.get("mic", False),
        camera=publish.get("camera", False),
        captions_declined=declined,
    )


def parse_answer(payload: Any) -> Answer:
    """Parse `answer`."""
    body = expect_object(payload, {"revision", "sdp"})
    revision = body.get("revision")
    if not isinstance(revision, int) or isinstance(revision, bool) or revision < 1:
        raise ProtocolError("revision: must be a positive integer")
    sdp = body.get("sdp")
    if not isinstance(sdp, str) or not sdp.startswith("v=0") or len(sdp) > MAX_SDP_LENGTH:
        raise ProtocolError(f"sdp: must be an SDP of at most {MAX_SDP_LENGTH} characters")
    return Answer(revision, sdp)


def parse_ice_candidate(payload: Any) -> IceCandidate:
    """Parse `ice-candidate`."""
    body = expect_object(payload, {"candidate", "sdpMid", "sdpMLineIndex", "usernameFragment"})
    candidate = body.get("candidate")
    if candidate is not None and (
        not isinstance(candidate, str) or len(candidate) > MAX_CANDIDATE_LENGTH
    ):
        raise ProtocolError(f"candidate: must be a string of at most {MAX_CANDIDATE_LENGTH}")
    if candidate and not candidate.startswith("candidate:"):
        raise ProtocolError("candidate: must start with 'candidate:'")
    mid = body.get("sdpMid")
    if mid is not None and (not isinstance(mid, str) or len(mid) > MAX_MID_LENGTH):
        raise ProtocolError("sdpMid: must be a short string")
    index = body.get("sdpMLineIndex")
    if index is not None and (
        not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < 1024
    ):
        raise ProtocolError("sdpMLineIndex: must be an integer 0-1023")
    if candidate and mid is None and index is None:
        raise ProtocolError("sdpMid or sdpMLineIndex is required")
    return IceCandidate(candidate or None, mid, index)


def parse_media_state(payload: Any) -> MediaState:
    """Parse `media-state`."""
    body = expect_object(payload, {"mic", "camera"})
    for key in ("mic", "camera"):
        value = body.get(key)
        if value is not None and value not in MEDIA_STATES:
            raise ProtocolError(f"{key}: must be 'live' or 'off'")
    return MediaState(body.get("mic"), body.get("camera"))


def parse_empty(payload: Any) -> None:
    """Parse an event that carries nothing (`leave`)."""
    expect_object(payload, set())


MAX_CHAT_LENGTH = 1000
MAX_DENY_MESSAGE_LENGTH = 300
MAX_ID_LENGTH = 64


@dataclass(frozen=True)
class Target:
    """An event naming one participant (mute, remove, admit, ...)."""

    participant: str


@dataclass(frozen=True)
class Deny:
    """`deny`: whom to turn away, and what to tell them."""

    participant: str
    message: str


@dataclass(frozen=True)
class Chat:
    """`chat`: a message to the room, to the facilitators, or (a facilitator's) to
    one participant."""

    to: str
    text: str
    participant: str | None = None


def expect_participant(value: Any, field_name: str = "participant") -> str:
    """A participant id (opaque, bounded)."""
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_ID_LENGTH:
        raise ProtocolError(f"{field_name}: must be a participant id")
    return value


def parse_target(payload: Any) -> Target:
    """Parse an event that names one participant."""
    body = expect_object(payload, {"participant"})
    return Target(expect_participant(body.get("participant")))


def parse_optional_target(payload: Any) -> Target | None:
    """Parse `lower-hand`: a participant, or nobody (oneself)."""
    body = expect_object(payload, {"participant"})
    if body.get("participant") is None:
        return None
    return Target(expect_participant(body.get("participant")))


def parse_deny(payload: Any) -> Deny:
    """Parse `deny`."""
    body = expect_object(payload, {"participant", "message"})
    message = body.get("message", "")
    if not isinstance(message, str) or len(message) > MAX_DENY_MESSAGE_LENGTH:
        raise ProtocolError(f"message: must be a string of at most {MAX_DENY_MESSAGE_LENGTH}")
    if message.strip():
        message = expect_text(message, "message", MAX_DENY_MESSAGE_LENGTH, multiline=True)
    return Deny(expect_participant(body.get("participant")), message.strip())


def parse_flag(payload: Any, name: str) -> bool:
    """Parse `{<name>: true|false}` (lock, set-chat)."""
    body = expect_object(payload, {name})
    value = body.get(name)
    if not isinstance(value, bool):
        raise ProtocolError(f"{name}: must be true or false")
    return value


def parse_chat(payload: Any) -> Chat:
    """Parse `chat`."""
    body = expect_object(payload, {"to", "text", "participant"})
    to = body.get("to", "room")
    if to not in ("room", "facilitators", "participant"):
        raise ProtocolError("to: must be 'room', 'facilitators' or 'participant'")
    who = body.get("participant")
    if (to == "participant") != (who is not None):
        raise ProtocolError("participant: required with to 'participant', and only then")
    text = expect_text(body.get("text"), "text", MAX_CHAT_LENGTH, multiline=True)
    return Chat(to, text, None if who is None else expect_participant(who))


def parse_share_policy(payload: Any) -> str:
    """Parse `share-policy`: {"policy": "replace" | "wait"}."""
    body = expect_object(payload, {"policy"})
    policy = body.get("policy")
    if policy not in ("replace", "wait"):
        raise ProtocolError("policy: must be 'replace' or 'wait'")
    return str(policy)


@dataclass(frozen=True)
class Captions:
    """`captions`: on or off, and whether final text is kept as a transcript."""

    enabled: bool
    transcript: bool


def parse_captions(payload: Any) -> Captions:
    """Parse `captions`: {"enabled": bool, "transcript"?: bool}."""
    body = expect_object(payload, {"enabled", "transcript"})
    enabled, transcript = body.get("enabled"), body.get("transcript", False)
    if not isinstance(enabled, bool) or not isinstance(transcript, bool):
        raise ProtocolError("enabled, transcript: must be true or false")
    return Captions(enabled, transcript)


MAX_WAITING_MESSAGE = 300
MAX_SIGNAL_ID = 80


def parse_text_message(payload: Any) -> str:
    """Parse `waiting-message`: {"text": 1-300 characters}."""
    text = expect_object(payload, {"text"}).get("text")
    return expect_text(text, "text", MAX_WAITING_MESSAGE, multiline=True)


def parse_signal(payload: Any) -> str:
    """Parse `signal-dismiss`: {"signal": id from a `signals` item}."""
    signal = expect_object(payload, {"signal"}).get("signal")
    if not isinstance(signal, str) or not 1 <= len(signal) <= MAX_SIGNAL_ID:
        raise ProtocolError("signal: must be the id of a signal")
    return signal


LINK_QUALITIES = ("good", "poor")


def parse_link_quality(payload: Any) -> str:
    """Parse `link-quality`: {"quality": "good" | "poor"}."""
    quality = expect_object(payload, {"quality"}).get("quality")
    if quality not in LINK_QUALITIES:
        raise ProtocolError("quality: must be 'good' or 'poor'")
    return str(quality)
