"""Parsing of client messages: valid input, and each kind of malformed input."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from server.domain.errors import ProtocolError
from server.signaling.inbound import (
    MAX_CANDIDATE_LENGTH,
    MAX_SDP_LENGTH,
    Answer,
    IceCandidate,
    JoinRequest,
    MediaState,
    parse_answer,
    parse_chat,
    parse_empty,
    parse_ice_candidate,
    parse_join,
    parse_media_state,
)
from server.signaling.inbound_rooms import parse_room_names

CANDIDATE = "candidate:1 1 udp 2122260223 127.0.0.1 54321 typ host"
SDP = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n"


def refused(parse: Callable[[Any], object], payload: Any) -> ProtocolError:
    with pytest.raises(ProtocolError) as error:
        parse(payload)
    assert error.value.code == "invalid_payload"
    assert error.value.message
    return error.value


# -- join -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (None, JoinRequest(mic=True, camera=True)),
        ({}, JoinRequest(mic=True, camera=True)),
        ({"publish": {}}, JoinRequest(mic=False, camera=False)),
        ({"publish": {"mic": True}}, JoinRequest(mic=True, camera=False)),
        ({"publish": {"mic": False, "camera": True}}, JoinRequest(mic=False, camera=True)),
    ],
)
def test_parse_join(payload: Any, expected: JoinRequest) -> None:
    assert parse_join(payload) == expected


@pytest.mark.parametrize(
    "payload",
    [
        "join",
        ["publish"],
        42,
        {"room": "main"},
        {"publish": "all"},
        {"publish": ["mic"]},
        {"publish": {"screen": True}},
        {"publish": {"mic": "yes"}},
        {"publish": {"mic": 1}},
        {"publish": {"camera": None}},
    ],
)
def test_parse_join_refuses(payload: Any) -> None:
    refused(parse_join, payload)


# -- answer ---------------------------------------------------------------------------------


def test_parse_answer() -> None:
    assert parse_answer({"revision": 3, "sdp": SDP}) == Answer(3, SDP)


def test_parse_answer_accepts_the_longest_sdp() -> None:
    sdp = "v=0" + "a" * (MAX_SDP_LENGTH - 3)
    assert parse_answer({"revision": 1, "sdp": sdp}).sdp == sdp


@pytest.mark.parametrize(
    "payload",
    [
        None,
        "v=0",
        [1, SDP],
        {"sdp": SDP},
        {"revision": 0, "sdp": SDP},
        {"revision": -1, "sdp": SDP},
        {"revision": 1.0, "sdp": SDP},
        {"revision": "1", "sdp": SDP},
        {"revision": True, "sdp": SDP},
        {"revision": 1},
        {"revision": 1, "sdp": None},
        {"revision": 1, "sdp": 5},
        {"revision": 1, "sdp": "o=- 1 1 IN IP4 127.0.0.1"},
        {"revision": 1, "sdp": "v=0" + "a" * (MAX_SDP_LENGTH - 2)},
        {"revision": 1, "sdp": SDP, "type": "answer"},
    ],
    ids=lambda p: repr(p)[:40],
)
def test_parse_answer_refuses(payload: Any) -> None:
    refused(parse_answer, payload)


# -- ice-candidate -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"candidate": CANDIDATE, "sdpMid": "0"}, IceCandidate(CANDIDATE, "0", None)),
        ({"candidate": CANDIDATE, "sdpMLineIndex": 2}, IceCandidate(CANDIDATE, None, 2)),
        (
            {"candidate": CANDIDATE, "sdpMid": "1", "sdpMLineIndex": 1, "usernameFragment": "u"},
            IceCandidate(CANDIDATE, "1", 1),
        ),
        ({"candidate": ""}, IceCandidate(None, None, None)),
        ({"candidate": None, "sdpMid": "0"}, IceCandidate(None, "0", None)),
        ({}, IceCandidate(None, None, None)),
    ],
)
def test_parse_ice_candidate(payload: Any, expected: IceCandidate) -> None:
    assert parse_ice_candidate(payload) == expected


def test_parse_ice_candidate_accepts_the_longest_candidate() -> None:
    candidate = "candidate:" + "1" * (MAX_CANDIDATE_LENGTH - len("candidate:"))
    assert parse_ice_candidate({"candidate": candidate, "sdpMid": "0"}).candidate == candidate


@pytest.mark.parametrize(
    "payload",
    [
        CANDIDATE,
        [CANDIDATE],
        {"candidate": 1, "sdpMid": "0"},
        {"candidate": ["candidate:1"], "sdpMid": "0"},
        {"candidate": "1 1 udp 2122260223 127.0.0.1 54321 typ host", "sdpMid": "0"},
        {"candidate": "candidate:" + "1" * MAX_CANDIDATE_LENGTH, "sdpMid": "0"},
        {"candidate": CANDIDATE, "sdpMid": 0},
        {"candidate": CANDIDATE, "sdpMid": "m" * 33},
        {"candidate": CANDIDATE, "sdpMLineIndex": -1},
        {"candidate": CANDIDATE, "sdpMLineIndex": 1024},
        {"candidate": CANDIDATE, "sdpMLineIndex": "0"},
        {"candidate": CANDIDATE, "sdpMLineIndex": 0.5},
        pytest.param(
            {"candidate": CANDIDATE, "sdpMLineIndex": True},
            id="index-true",
        ),
        {"candidate": CANDIDATE},
        {"candidate": CANDIDATE, "sdpMid": "0", "foundation": "1"},
    ],
    ids=lambda p: repr(p)[:40],
)
def test_parse_ice_candidate_refuses(payload: Any) -> None:
    refused(parse_ice_candidate, payload)


# -- media-state -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"mic": "off", "camera": "live"}, MediaState("off", "live")),
        ({"camera": "off"}, MediaState(None, "off")),
        ({}, MediaState(None, None)),
        (None, MediaState(None, None)),
    ],
)
def test_parse_media_state(payload: Any, expected: MediaState) -> None:
    assert parse_media_state(payload) == expected


@pytest.mark.parametrize(
    "payload",
    [
        "off",
        ["mic"],
        {"mic": "muted"},
        {"mic": "LIVE"},
        {"camera": False},
        {"camera": 0},
        {"mic": "off", "screen": "live"},
    ],
)
def test_parse_media_state_refuses(payload: Any) -> None:
    refused(parse_media_state, payload)


# -- leave (empty) -----------------------------------------------------------------------------


@pytest.mark.parametrize("payload", [None, {}])
def test_parse_empty(payload: Any) -> None:
    parse_empty(payload)


@pytest.mark.parametrize("payload", [{"reason": "bye"}, "bye", [], 0, True])
def test_parse_empty_refuses(payload: Any) -> None:
    refused(parse_empty, payload)


@pytest.mark.parametrize(
    "text", ["evil\u202etxt.exe", "a\u2066b", "bell\x07", "esc\x1b[31m", "c1\x85"]
)
def test_relayed_text_refuses_controls_and_direction_overrides(text: str) -> None:
    with pytest.raises(ProtocolError):
        parse_chat({"to": "room", "text": text})
    with pytest.raises(ProtocolError):
        parse_room_names({"names": [text]})


def test_relayed_text_keeps_newlines_marks_and_other_scripts() -> None:
    assert parse_chat({"to": "room", "text": "one\ntwo"}).text == "one\ntwo"
    assert parse_chat({"to": "room", "text": "שלום \u200f ok"}).text == "שלום \u200f ok"
    with pytest.raises(ProtocolError):
        parse_room_names({"names": ["two\nlines"]})
