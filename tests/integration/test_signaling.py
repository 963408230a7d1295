"""The socket.io protocol (docs/PROTOCOL.md) against a real server process."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import engineio
import pytest
from aiortc import AudioStreamTrack

from server.domain.roles import Role
from server.tokens import JoinGrant, TokenSigner, new_participant_id
from tests.support.client import PROTOCOL_VERSION, Client
from tests.support.server import PeerCircleServer, StartServer

pytestmark = pytest.mark.integration

MakeClient = Callable[..., Client]


async def joined(
    server: PeerCircleServer,
    clients: MakeClient,
    session_id: str,
    name: str,
    role: str = "patient",
    **options: Any,
) -> Client:
    """A client that has connected, joined and got its welcome."""
    link = await server.mint_link(session_id, name, role)
    client = clients(server, link["token"], **options)
    await client.connect()
    await client.wait_for(lambda: client.welcome is not None)
    return client


def foreign_token(secret: str, session_id: str, expires_in: float = 3600) -> str:
    """A well-formed token signed with `secret`."""
    now = time.time()
    start = min(now, now + expires_in - 60)
    grant = JoinGrant(
        session_id, new_participant_id(), "Mallory", Role.PATIENT, now + expires_in, False, start
    )
    return TokenSigner(secret).mint(grant)


# -- connecting ----------------------------------------------------------------------


async def test_connect_without_token_is_refused_with_token_missing(
    server: PeerCircleServer, clients: MakeClient
) -> None:
    client = clients(server, "")
    refusal = await client.connect_refused(auth={"protocol": PROTOCOL_VERSION})
    assert refusal["code"] == "token_missing"


@pytest.mark.parametrize(
    "token",
    ["not-a-token", "abc.def", "a.b.c", "x" * 3000 + ".y"],
    ids=["no-dot", "bad-signature", "two-dots", "too-long"],
)
async def test_connect_with_garbage_token_is_refused_with_token_invalid(
    server: PeerCircleServer, clients: MakeClient, token: str
) -> None:
    refusal = await clients(server, token).connect_refused()
    assert refusal["code"] == "token_invalid"


async def test_connect_with_tampered_token_is_refused_with_token_invalid(
    server: PeerCircleServer, clients: MakeClient
) -> None:
    session = await server.create_session()
    link = await server.mint_link(session["id"], "Alex")
    header, payload, signature = link["token"].split(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    refusal = await clients(server, f"{header}.{payload}.{flipped}").connect_refused()
    assert refusal["code"] == "token_invalid"


async def test_connect_with_expired_token_is_refused_with_token_expired(
    server: PeerCircleServer, clients: MakeClient
) -> None:
    session = await server.create_session()
    token = foreign_token(server.token_secret, session["id"], expires_in=-5)
    refusal = await clients(server, token).connect_refused()
    assert refusal["code"] == "token_expired"


async def test_connect_with_token_of_another_deployment_is_refused_with_token_invalid(
    server: PeerCircleServer, clients: MakeClient
) -> None:
    session = await server.create_session()
    token = foreign_token("another-deployment-secret-0123456789", session["id"])
    refusal = await clients(server, token).connect_refused()
    assert refusal["code"] == "token_invalid"


async def test_connect_to_unknown_session_is_refused_with_session_unknown(
    server: PeerCircleServer, clients: MakeClient
) -> None:
    token = foreign_token(server.token_secret, "s_00000000deadbeef")
    refusal = await clients(server, token).connect_refused()
    assert refusal["code"] == "session_unknown"


@pytest.mark.parametrize("protocol", [2, 0, "1"])
async def test_connect_with_unsupported_protocol_is_refused(
    server: PeerCircleServer, clients: MakeClient, protocol: object
) -> None:
    session = await server.create_session()
    link = await server.mint_link(session["id"], "Alex")
    client = clients(server, link["token"])
    refusal = await client.connect_refused(auth={"token": link["token"], "protocol": protocol})
    assert refusal["code"] == "protocol_unsupported"


async def test_captioner_token_connects_as_a_service_and_cannot_join_the_call(
    server: PeerCircleServer, clients: MakeClient
) -> None:
    session = await server.create_session()
    link = await server.mint_link(session["id"], "Caption bot", "captioner")
    bot = clients(server, link["token"])
    await bot.connect(join=False)
    for event, body in (("join", {}), ("chat", {"to": "room", "text": "hi"}), ("mute-all", {})):
        count = len(bot.errors)
        await bot.emit(event, body)
        await bot.wait_for(lambda count=count: len(bot.errors) > count)  # type: ignore[misc]
        assert bot.errors[-1]["code"] == "not_permitted", event
    assert bot.welcome is None and bot.offers_received == []
    state = await server.session_state(session["id"])
    assert link["participant_id"] not in {p["id"] for p in state["participants"]}


async def test_connect_to_full_session_is_refused_with_session_full(
    start_server: StartServer, clients: MakeClient
) -> None:
    server = await start_server(env={"PEERCIRCLE_MAX_PARTICIPANTS": "2"})
    session = await server.create_session()
    await joined(server, clients, session["id"], "Alex")
    await joined(server, clients, session["id"], "Sam")
    link = await server.mint_link(session["id"], "Jordan")
    refusal = await clients(server, link["token"]).connect_refused()
    assert refusal["code"] == "session_full"


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


async def test_second_connection_with_same_token_replaces_the_first(
    server: PeerCircleServer, clients: MakeClient
) -> None:
    session = await server.create_session()
    alex = await joined(server, clients, session["id"], "Alex", auto_answer=False)
    link = await server.mint_link(session["id"], "Sam")
    sam = clients(server, link["token"], auto_answer=False)
    await sam.connect()
    await sam.wait_for(lambda: sam.welcome is not None)

    sam_again = clients(server, link["token"], auto_answer=False)
    await sam_again.connect()
    assert await sam.next_event("session-left") == {"reason": "replaced"}
    await sam.wait_for(lambda: sam.disconnected)
    await sam_again.wait_for(lambda: sam_again.welcome is not None)
    assert sam_again.participant_id == link["participant_id"]
    await sam_again.wait_for(lambda: len(sam_again.offers_received) == 1)

    # Events reach a room in order: once Alex hears of Jordan, a participant-left
    # for Sam would have arrived already.
    jordan = await joined(server, clients, session["id"], "Jordan", auto_answer=False)
    await alex.next_event("participant-joined", lambda d: d["id"] == jordan.participant_id)
    assert not [d for e, d in alex.events if e == "participant-left"]
    state = await server.session_state(session["id"])
    by_id = {p["id"]: p["connection"] for p in state["participants"]}
    assert by_id == {
        alex.participant_id: "connected",
        link["participant_id"]: "connected",
        jordan.participant_id: "connected",
    }
    # The replaced socket heard nothing after it was told so.
    names = [e for e, _ in sam.events]
    assert names[names.index("session-left") :] == ["session-left", "disconnect"]


async def test_reconnect_within_grace_keeps_the_participant(
    server: PeerCircleServer, clients: MakeClient
) -> None:
    session = await server.create_session()
    alex = await joined(server, clients, session["id"], "Alex", "observer", auto_answer=False)
    sam_link = await server.mint_link(session["id"], "Sam")
    sam = clients(server, sam_link["token"], auto_answer=False)
    await sam.connect()
    jordan = await joined(server, clients, session["id"], "Jordan", auto_answer=False)
    sam_id, jordan_id = sam_link["participant_id"], jordan.participant_id

    def connection_of(pid: str, state: str) -> Callable[[Any], bool]:
        return lambda d: d["id"] == pid and d["connection"] == state

    await sam.close()
    dropped = await alex.next_event("participant-updated", connection_of(sam_id, "reconnecting"))
    assert dropped["name"] == "Sam"
    state = await server.session_state(session["id"])
    assert {p["id"]: p["connection"] for p in state["participants"]}[sam_id] == "reconnecting"

    # Jordan drops after Sam, so Jordan's grace period ends after Sam's.
    await jordan.close()
    await alex.next_event("participant-updated", connection_of(jordan_id, "reconnecting"))
    sam_back = clients(server, sam_link["token"], auto_answer=False)
    await sam_back.connect()
    await alex.next_event("participant-updated", connection_of(sam_id, "connected"))
    await sam_back.wait_for(lambda: sam_back.welcome is not None)
    assert sam_back.participant_id == sam_id

    timeout = await alex.next_event("participant-left", lambda d: d["id"] == jordan_id)
    assert timeout == {"id": jordan_id, "reason": "timeout"}
    # Sam's grace period ran out before Jordan's, and Sam was kept.
    assert [d for e, d in alex.events if e == "participant-left"] == [timeout]
    state = await server.session_state(session["id"])
    assert {p["id"]: p["connection"] for p in state["participants"]} == {
        alex.participant_id: "connected",
        sam_id: "connected",
    }


async def test_participant_who_does_not_return_times_out_after_grace(
    server: PeerCircleServer, clients: MakeClient
) -> None:
    session = await server.create_session()
    alex = await joined(server, clients, session["id"], "Alex", auto_answer=False)
    sam = await joined(server, clients, session["id"], "Sam", auto_answer=False)
    sam_id = sam.participant_id

    await sam.close()
    await alex.next_event(
        "participant-updated", lambda d: d["id"] == sam_id and d["connection"] == "reconnecting"
    )
    dropped_at = time.monotonic()
    left = await alex.next_event(
        "participant-left", lambda d: d["id"] == sam_id, within=server.reconnect_grace_s + 5
    )
    waited = time.monotonic() - dropped_at
    assert left == {"id": sam_id, "reason": "timeout"}
    assert waited >= server.reconnect_grace_s - 0.25
    state = await server.session_state(session["id"])
    assert [p["id"] for p in state["participants"]] == [alex.participant_id]

    # Coming back after the timeout is a fresh arrival, announced as such.
    sam_later = clients(server, sam.token, auto_answer=False)
    await sam_later.connect()
    await alex.next_event("participant-joined", lambda d: d["id"] == sam_id)


def stop_answering_pings(client: Client) -> None:
    """The client's device freezes: its socket stays open but it answers no more pings."""
    eio = client.sio.eio
    send = eio._send_packet

    async def send_all_but_pong(pkt: Any) -> None:
        if pkt.packet_type != engineio.packet.PONG:
            await send(pkt)

    eio._send_packet = send_all_but_pong


def about(participant_id: str) -> Callable[[Any], bool]:
    """Matches an event about this participant."""
    return lambda data: bool(data["id"] == participant_id)


async def test_participants_whose_clients_freeze_together_are_timed_out(
    start_server: StartServer, clients: MakeClient
) -> None:
    # Engine.IO notices a silent client at its next ping (interval + timeout); then
    # the reconnect grace runs. Two people on one network freeze at the same moment.
    server = await start_server(
        reconnect_grace_s=1.0,
        env={"PEERCIRCLE_PING_INTERVAL_S": "1", "PEERCIRCLE_PING_TIMEOUT_S": "1"},
    )
    session = await server.create_session()
    alex = await joined(server, clients, session["id"], "Alex", auto_answer=False)
    frozen = await asyncio.gather(
        *(joined(server, clients, session["id"], n, auto_answer=False) for n in ("Sam", "Jordan"))
    )
    for client in frozen:
        stop_answering_pings(client)

    # Ping interval + timeout + grace is 3 s.
    for client in frozen:
        left = await alex.next_event("participant-left", about(client.participant_id), within=8)
        assert left["reason"] == "timeout"
    state = await server.session_state(session["id"])
    assert [p["id"] for p in state["participants"]] == [alex.participant_id]
