"""The socket.io protocol (docs/PROTOCOL.md) against a real server process: the welcome,
what others see, bad payloads and negotiation (connecting and reconnecting have files
of their own)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from aiortc import AudioStreamTrack

from tests.integration.helpers import joined
from tests.support.client import PROTOCOL_VERSION, Client
from tests.support.server import PeerCircleServer

pytestmark = pytest.mark.integration

MakeClient = Callable[..., Client]


# -- welcome and presence ---------------------------------------------------------------


async def test_welcome_names_you_the_session_and_everyone_present(
    server: PeerCircleServer, clients: MakeClient
) -> None:
    session = await server.create_session("Tuesday group")
    therapist = await joined(server, clients, session["id"], "Dr. Rivera", "therapist")
    link = await server.mint_link(session["id"], "  Alex   Kim ", "patient")
    alex = clients(server, link["token"])
    await alex.connect()
    await alex.wait_for(lambda: alex.welcome is not None)

    welcome = alex.welcome
    assert welcome is not None
    assert welcome["protocol"] == PROTOCOL_VERSION
    assert welcome["you"] == {"id": link["participant_id"], "name": "Alex Kim", "role": "patient"}
    assert welcome["session"] == {
        "id": session["id"],
        "title": "Tuesday group",
        "locked": False,
        "chatEnabled": True,
        "reactions": True,
        "sharePolicy": "replace",
        "captions": False,
        "transcript": False,
    }
    assert welcome["iceServers"] == []
    assert welcome["tracks"] == []
    by_id = {p["id"]: p for p in welcome["participants"]}
    assert set(by_id) == {therapist.participant_id, link["participant_id"]}
    assert by_id[therapist.participant_id] == {
        "id": therapist.participant_id,
        "name": "Dr. Rivera",
        "role": "therapist",
        "mic": "live",
        "camera": "live",
        "connection": "connected",
        "room": "main",
        "visiting": False,
    }
    assert by_id[link["participant_id"]]["connection"] == "connected"


async def test_others_see_participant_joined_and_left(
    server: PeerCircleServer, clients: MakeClient
) -> None:
    session = await server.create_session()
    alex = await joined(server, clients, session["id"], "Alex", auto_answer=False)
    sam = await joined(server, clients, session["id"], "Sam", "peer-leader", auto_answer=False)

    seen = await alex.next_event("participant-joined", lambda d: d["id"] == sam.participant_id)
    assert seen == {
        "id": sam.participant_id,
        "name": "Sam",
        "role": "peer-leader",
        "mic": "live",
        "camera": "live",
        "connection": "connected",
        "room": "main",
        "visiting": False,
    }

    await sam.emit("leave", {})
    assert await sam.next_event("session-left") == {"reason": "left"}
    await sam.wait_for(lambda: sam.disconnected)
    left = await alex.next_event("participant-left", lambda d: d["id"] == sam.participant_id)
    assert left == {"id": sam.participant_id, "reason": "left"}
    state = await server.session_state(session["id"])
    assert [p["id"] for p in state["participants"]] == [alex.participant_id]


async def test_media_state_is_relayed_to_the_others(
    server: PeerCircleServer, clients: MakeClient
) -> None:
    session = await server.create_session()
    alex = await joined(server, clients, session["id"], "Alex", auto_answer=False)
    sam = await joined(server, clients, session["id"], "Sam", auto_answer=False)

    await sam.emit("media-state", {"mic": "off"})
    update = await alex.next_event("participant-updated", lambda d: d["id"] == sam.participant_id)
    assert (update["mic"], update["camera"]) == ("off", "live")
    state = await server.session_state(session["id"])
    sam_state = next(p for p in state["participants"] if p["id"] == sam.participant_id)
    assert (sam_state["mic"], sam_state["camera"]) == ("off", "live")


# -- errors --------------------------------------------------------------------------------

CANDIDATE = "candidate:1 1 udp 2122260223 127.0.0.1 54321 typ host"

MALFORMED: list[tuple[str, Any]] = [
    ("join", "hello"),
    ("join", [True]),
    ("join", {"publish": "everything"}),
    ("join", {"publish": {"mic": "yes"}}),
    ("join", {"publish": {"screen": True}}),
    ("join", {"publish": {"mic": True}, "room": "breakout-1"}),
    ("answer", "v=0"),
    ("answer", {"revision": 0, "sdp": "v=0\r\n"}),
    ("answer", {"revision": "1", "sdp": "v=0\r\n"}),
    ("answer", {"revision": True, "sdp": "v=0\r\n"}),
    ("answer", {"revision": 1, "sdp": "hello"}),
    ("answer", {"revision": 1, "sdp": 42}),
    ("answer", {"revision": 1, "sdp": "v=0\r\n" + "a" * 65536}),
    ("answer", {"revision": 1, "sdp": "v=0\r\n", "type": "answer"}),
    ("ice-candidate", CANDIDATE),
    ("ice-candidate", {"candidate": 7, "sdpMid": "0"}),
    ("ice-candidate", {"candidate": "1 1 udp 1 127.0.0.1 9 typ host", "sdpMid": "0"}),
    ("ice-candidate", {"candidate": "candidate:" + "1" * 1100, "sdpMid": "0"}),
    ("ice-candidate", {"candidate": CANDIDATE, "sdpMid": 0}),
    ("ice-candidate", {"candidate": CANDIDATE, "sdpMLineIndex": -1}),
    ("ice-candidate", {"candidate": CANDIDATE, "sdpMLineIndex": "0"}),
    ("ice-candidate", {"candidate": CANDIDATE}),
    ("ice-candidate", {"candidate": CANDIDATE, "sdpMid": "0", "priority": 1}),
    ("media-state", "off"),
    ("media-state", {"mic": "loud"}),
    ("media-state", {"camera": False}),
    ("media-state", {"mic": "off", "volume": 3}),
    ("leave", "now"),
    ("leave", {"reason": "bored"}),
]


@pytest.mark.parametrize(
    ("event", "payload"), MALFORMED, ids=[f"{e}-{i}" for i, (e, _) in enumerate(MALFORMED)]
)
async def test_malformed_payload_gets_one_invalid_payload_error_and_changes_nothing(
    server: PeerCircleServer, clients: MakeClient, event: str, payload: Any
) -> None:
    session = await server.create_session()
    await joined(server, clients, session["id"], "Alex", auto_answer=False)
    link = await server.mint_link(session["id"], "Sam")
    sam = clients(server, link["token"], auto_answer=False)
    # A malformed join comes before any join; everything else after one.
    await sam.connect(join=event != "join")
    if event != "join":
        await sam.wait_for(lambda: len(sam.offers_received) == 1)
    before = await server.session_state(session["id"])

    await sam.emit(event, payload)
    error = await sam.next_event("error")
    # Something we know the answer to, to be sure nothing else was coming first.
    await sam.emit("sentinel-event", {})
    await sam.next_event("error", lambda d: d["code"] == "unknown_event")

    assert error["code"] == "invalid_payload"
    assert error["event"] == event
    assert isinstance(error["message"], str) and error["message"]
    assert [e["code"] for e in sam.errors] == ["invalid_payload", "unknown_event"]
    assert await server.session_state(session["id"]) == before
    assert sam.sio.connected
    assert len(sam.offers_received) == (0 if event == "join" else 1)


async def test_unparsable_candidate_gets_invalid_payload(
    server: PeerCircleServer, clients: MakeClient
) -> None:
    session = await server.create_session()
    alex = await joined(server, clients, session["id"], "Alex", auto_answer=False)
    await alex.emit("ice-candidate", {"candidate": "candidate:garbage", "sdpMid": "0"})
    error = await alex.next_event("error")
    assert (error["code"], error["event"]) == ("invalid_payload", "ice-candidate")


async def test_unknown_event_gets_unknown_event(
    server: PeerCircleServer, clients: MakeClient
) -> None:
    session = await server.create_session()
    alex = await joined(server, clients, session["id"], "Alex", auto_answer=False)
    await alex.emit("teleport", {"to": "the moon"})
    error = await alex.next_event("error")
    assert (error["code"], error["event"]) == ("unknown_event", "teleport")


@pytest.mark.parametrize(
    ("event", "payload"),
    [
        ("answer", {"revision": 1, "sdp": "v=0\r\n"}),
        ("ice-candidate", {"candidate": CANDIDATE, "sdpMid": "0"}),
        ("media-state", {"mic": "off"}),
        ("leave", {}),
    ],
)
async def test_events_before_join_get_invalid_state(
    server: PeerCircleServer, clients: MakeClient, event: str, payload: Any
) -> None:
    session = await server.create_session()
    link = await server.mint_link(session["id"], "Alex")
    alex = clients(server, link["token"])
    await alex.connect(join=False)
    await alex.emit(event, payload)
    error = await alex.next_event("error")
    assert (error["code"], error["event"]) == ("invalid_state", event)
    assert (await server.session_state(session["id"]))["participants"] == []


async def test_answer_to_a_stale_offer_gets_invalid_state(
    server: PeerCircleServer, clients: MakeClient
) -> None:
    session = await server.create_session()
    alex = await joined(server, clients, session["id"], "Alex", publish={"mic": AudioStreamTrack()})
    await alex.wait_for(lambda: 1 in alex.answered_at)
    assert alex.pc is not None
    sdp = alex.pc.localDescription.sdp

    await alex.emit("answer", {"revision": 1, "sdp": sdp})
    error = await alex.next_event("error")
    assert (error["code"], error["event"]) == ("invalid_state", "answer")
    await alex.emit("answer", {"revision": 9, "sdp": sdp})
    await alex.wait_for(lambda: len(alex.errors) == 2)
    assert [e["code"] for e in alex.errors] == ["invalid_state", "invalid_state"]
    # The first answer still stands: media connects.
    await alex.wait_for(lambda: alex.pc is not None and alex.pc.connectionState == "connected")


async def test_garbage_sdp_answer_gets_invalid_payload_and_a_fresh_offer(
    server: PeerCircleServer, clients: MakeClient
) -> None:
    session = await server.create_session()
    alex = await joined(
        server,
        clients,
        session["id"],
        "Alex",
        publish={"mic": AudioStreamTrack()},
        auto_answer=False,
    )
    await alex.wait_for(lambda: len(alex.offers_received) == 1)
    assert alex.offers_received[0]["revision"] == 1

    garbage = "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video nonsense\r\n"
    await alex.emit("answer", {"revision": 1, "sdp": garbage})
    error = await alex.next_event("error")
    assert (error["code"], error["event"]) == ("invalid_payload", "answer")
    await alex.wait_for(lambda: len(alex.offers_received) == 2)
    fresh = alex.offers_received[1]
    assert fresh["revision"] == 2

    # The fresh offer can be answered; the old one is stale now.
    await alex.answer_offer(fresh)
    await alex.wait_for(lambda: alex.pc is not None and alex.pc.connectionState == "connected")
    await alex.emit("answer", {"revision": 1, "sdp": garbage})
    await alex.wait_for(lambda: len(alex.errors) == 2)
    assert alex.errors[1]["code"] == "invalid_state"


async def test_more_than_64_ice_candidates_get_rate_limited(
    server: PeerCircleServer, clients: MakeClient
) -> None:
    session = await server.create_session()
    alex = await joined(server, clients, session["id"], "Alex", publish={"mic": AudioStreamTrack()})
    await alex.wait_for(lambda: 1 in alex.answered_at)

    for i in range(64):
        candidate = f"candidate:{i} 1 udp 2122260223 127.0.0.1 {40000 + i} typ host"
        await alex.emit("ice-candidate", {"candidate": candidate, "sdpMid": "0"})
    await alex.emit("sentinel-event")
    await alex.next_event("error", lambda d: d["code"] == "unknown_event")
    assert [e["code"] for e in alex.errors] == ["unknown_event"]

    candidate = "candidate:99 1 udp 2122260223 127.0.0.1 41000 typ host"
    await alex.emit("ice-candidate", {"candidate": candidate, "sdpMid": "0"})
    error = await alex.next_event("error", lambda d: d["code"] != "unknown_event")
    assert (error["code"], error["event"]) == ("rate_limited", "ice-candidate")


# -- one connection per person, reconnecting -------------------------------------------------
