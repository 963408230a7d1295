"""The socket.io attacks of the outside audit, replayed against a real server: reserved
event names, re-authentication, knock and join floods, binary attachments, malformed
packets. Each test fails on the code before the fix."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from tests.integration.helpers import arrive
from tests.support.client import Client
from tests.support.raw_socket import RawSocket
from tests.support.server import PeerCircleServer

pytestmark = pytest.mark.integration

MakeClient = Callable[..., Client]


async def error_code(client: Client, event: str, *args: object) -> str:
    """Send `event` with exactly `args` and return the code of the error it got."""
    count = len(client.errors)
    await client.sio.emit(event, args if len(args) != 1 else args[0])
    await client.wait_for(lambda: len(client.errors) > count)
    return str(client.errors[count]["code"])


async def present_ids(server: PeerCircleServer, session_id: str) -> set[str]:
    state = await server.session_state(session_id)
    return {p["id"] for p in state["participants"] if p["connection"] == "connected"}


async def test_an_event_named_disconnect_leaves_no_ghost(
    server: PeerCircleServer, clients: MakeClient
) -> None:
    session = await server.create_session(waiting_room=True)
    sid = session["id"]
    therapist, _ = await arrive(server, clients, sid, "Dr. Rivera", "therapist")
    cofac, cofac_id = await arrive(server, clients, sid, "Co", "co-facilitator")
    alex, _ = await arrive(server, clients, sid, "Alex")

    assert await error_code(cofac, "disconnect") == "unknown_event"
    # Nothing happened to the person: still present, still in the call.
    assert cofac_id in await present_ids(server, sid)

    await therapist.emit("remove", {"participant": cofac_id})
    await cofac.wait_for(lambda: cofac.disconnected)
    # A patient's private message after the removal reaches the therapist only.
    seen_before = len(cofac.events)
    await alex.emit("chat", {"to": "facilitators", "text": "I am not safe at home"})
    await therapist.next_event("chat-message", lambda m: m["text"] == "I am not safe at home")
    assert [e for e, _ in cofac.events[seen_before:] if e == "chat-message"] == []


async def test_a_removed_participants_raw_socket_hears_nothing_more(
    server: PeerCircleServer, clients: MakeClient
) -> None:
    """The ghost attack at the packet level: `join`, then an event `disconnect`; after
    the removal the server disconnects the socket and sends it nothing more."""
    session = await server.create_session()
    sid = session["id"]
    therapist, _ = await arrive(server, clients, sid, "Dr. Rivera", "therapist")
    alex, _ = await arrive(server, clients, sid, "Alex")
    link = await server.mint_link(sid, "Co", "co-facilitator")
    raw = RawSocket(server.base_url)
    try:
        await raw.open(link["token"])
        await raw.emit("join", {"publish": {}})
        await raw.next_packet(lambda p: p.startswith('2["welcome"'))
        mark = len(raw.packets)
        await raw.emit("disconnect")
        errors = await raw.errors_after(mark, 1)
        assert errors[0]["code"] == "unknown_event"
        await therapist.emit("remove", {"participant": link["participant_id"]})
        # socket.io's DISCONNECT packet: the server let the socket go.
        await raw.next_packet(lambda p: p.startswith("1"), since=mark)
        gone = len(raw.packets)
        await alex.emit("chat", {"to": "facilitators", "text": "only for the therapist"})
        await alex.emit("raise-hand", {})
        await therapist.next_event("chat-message", lambda m: m["text"] == "only for the therapist")
        await therapist.next_event("hands", lambda body: alex.participant_id in body["queue"])
        assert raw.packets[gone:] == []
    finally:
        await raw.close()


async def test_a_connect_event_cannot_re_authenticate_a_socket(
    server: PeerCircleServer, clients: MakeClient
) -> None:
    session = await server.create_session()
    sid = session["id"]
    therapist, therapist_id = await arrive(server, clients, sid, "Dr. Rivera", "therapist")
    alex, alex_id = await arrive(server, clients, sid, "Alex")
    other = await server.mint_link(sid, "Sam", "patient", admitted=True)

    code = await error_code(alex, "connect", {}, {"token": other["token"], "protocol": 1})
    assert code == "unknown_event"
    # The socket is still Alex, and Sam never appeared.
    await alex.emit("chat", {"to": "room", "text": "still me"})
    message = await therapist.next_event("chat-message", lambda m: m["text"] == "still me")
    assert message["from"] == alex_id
    assert await present_ids(server, sid) == {therapist_id, alex_id}


async def test_an_event_named_star_cannot_address_an_error_to_a_room(
    server: PeerCircleServer, clients: MakeClient
) -> None:
    session = await server.create_session()
    sid = session["id"]
    therapist, _ = await arrive(server, clients, sid, "Dr. Rivera", "therapist")
    alex, _ = await arrive(server, clients, sid, "Alex")
    assert await error_code(alex, "*", f"session:{sid}", {}) == "unknown_event"
    # A round trip of the therapist's own: any stray error would have arrived before.
    await therapist.emit("raise-hand", {})
    await therapist.next_event("hand", lambda body: body["raised"])
    assert therapist.errors == []


@pytest.mark.parametrize("name", ["connect_error", "message", "no-such-event"])
async def test_reserved_and_unknown_names_get_unknown_event(
    server: PeerCircleServer, clients: MakeClient, name: str
) -> None:
    session = await server.create_session()
    alex, _ = await arrive(server, clients, session["id"], "Alex")
    assert await error_code(alex, name, {}) == "unknown_event"


async def test_malformed_packets_get_an_error_and_one_short_log_line(
    server: PeerCircleServer, clients: MakeClient
) -> None:
    session = await server.create_session()
    link = await server.mint_link(session["id"], "Alex", "patient")
    raw = RawSocket(server.base_url)
    bad = [
        "2not json",  # undecodable
        '2{"chat": 1}',  # not a list
        "2[]",  # no name
        "2[123]",  # a non-string name
        '2["chat", {"to": "room", "text": "a"}, "extra"]',  # an extra argument
        '31["chat"]',  # an ack the server never asked for
        '/other,2["chat"]',  # an unknown namespace
        "9",  # an unknown packet type
    ]
    log_before = server.log_text()
    try:
        await raw.open(link["token"])
        await raw.emit("join", {"publish": {}})
        await raw.next_packet(lambda p: p.startswith('2["welcome"'))
        mark = len(raw.packets)
        for packet in bad:
            await raw.send(packet)
        errors = await raw.errors_after(mark, len(bad))
        assert {e["code"] for e in errors} <= {"bad_packet", "bad_request", "unknown_event"}
        assert [e["code"] for e in errors].count("bad_request") == 1
        # Still served: a good event after the bad ones works.
        await raw.emit("raise-hand", {})
        await raw.next_packet(lambda p: p.startswith('2["hand"'), since=mark)
    finally:
        await raw.close()
    logged = server.log_text()[len(log_before) :]
    assert "Traceback" not in logged
    assert len(logged.splitlines()) <= len(bad) + 5


async def test_a_bare_engineio_socket_cannot_fill_the_log(server: PeerCircleServer) -> None:
    raw = RawSocket(server.base_url)
    log_before = server.log_text()
    try:
        await raw.open()  # no socket.io connect, no token
        for i in range(1000):
            await raw.send("2[" if i % 2 else '2["chat",{"to":"room","text":"x"}]')
        await raw.send_engineio("4" + "0{broken")  # a CONNECT with bad JSON
        # The server answers pings and our last probe (a clean connect refusal).
        await raw.send("0" + json.dumps({"protocol": 1}))
        refusal = await raw.next_packet(lambda p: p.startswith("4"), within=15)
        assert "token_missing" in refusal
    finally:
        await raw.close()
    logged = server.log_text()[len(log_before) :]
    assert "Traceback" not in logged
    # At most the log budget's lines (20 a minute) and a refusal or two.
    assert len(logged.splitlines()) <= 25, logged[-2000:]
    assert len(logged) < 5000


async def test_binary_attachments_are_refused_and_never_held(
    server: PeerCircleServer,
) -> None:
    session = await server.create_session()
    link = await server.mint_link(session["id"], "Alex", "patient")
    raw = RawSocket(server.base_url)
    frame = b"\0" * (200 * 1024)
    try:
        await raw.open(link["token"])
        rss_before = server.rss_bytes()
        mark = len(raw.packets)
        # Announce a million attachments, then send 100 frames of 200 KiB (20 MB).
        await raw.send('5999999-["chat",{"_placeholder":true,"num":0}]')
        for _ in range(100):
            await raw.send_binary(frame)
        errors = await raw.errors_after(mark, 101, within=30)
        assert {e["code"] for e in errors} == {"bad_packet"}
        growth = server.rss_bytes() - rss_before
        assert growth < 8 * 1024 * 1024, f"the server kept {growth / 1e6:.1f} MB"
        # Still served.
        await raw.emit("join", {"publish": {}})
        await raw.next_packet(lambda p: p.startswith('2["welcome"'), since=mark)
    finally:
        await raw.close()


async def test_a_knock_flood_is_limited_and_audited_once(
    server: PeerCircleServer, clients: MakeClient
) -> None:
    session = await server.create_session(waiting_room=True)
    sid = session["id"]
    therapist, _ = await arrive(server, clients, sid, "Dr. Rivera", "therapist")
    knocker, knocker_id = await arrive(
        server, clients, sid, "Knock", admitted=False, expect="waiting"
    )
    pushes_before = len([e for e, _ in therapist.events if e == "waiting-room"])
    for _ in range(200):
        await knocker.emit("join", {"publish": {}})
    await knocker.wait_for(
        lambda: sum(e["code"] == "rate_limited" for e in knocker.errors) >= 190, within=20
    )
    # One more connect-join-disconnect cycle per attempt: the link is held back too.
    refused = 0
    for _ in range(30):
        again = clients(server, knocker.token)
        try:
            await again.connect()
            await again.close()
        except Exception:
            refused += 1
        if again.refusal is not None:
            assert again.refusal["data"]["code"] == "rate_limited"
    assert refused > 0
    status, audit = await server.request("GET", f"/api/sessions/{sid}/audit")
    assert status == 200
    waits = [r for r in audit["records"] if r["action"] == "wait" and r["target"] == knocker_id]
    assert len(waits) <= 12, len(waits)
    pushes = len([e for e, _ in therapist.events if e == "waiting-room"]) - pushes_before
    assert pushes <= 25, pushes


async def test_joins_in_a_burst_open_few_peer_connections(
    server: PeerCircleServer, clients: MakeClient
) -> None:
    session = await server.create_session()
    alex, _ = await arrive(server, clients, session["id"], "Alex")
    await alex.next_event("offer")
    for _ in range(100):
        await alex.emit("join", {"publish": {}})
    await alex.wait_for(
        lambda: sum(e["code"] == "rate_limited" for e in alex.errors) >= 97, within=20
    )
    # A round trip after the burst: every welcome it caused has arrived by now.
    await alex.emit("raise-hand", {})
    await alex.next_event("hand", lambda body: body["raised"])
    welcomes = [e for e, _ in alex.events if e == "welcome"]
    assert len(welcomes) <= 4, len(welcomes)
