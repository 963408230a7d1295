"""Connections that are replaced, dropped, frozen or gone, and the grace period,
against a real server process."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import engineio
import pytest

from tests.integration.helpers import joined
from tests.support.client import Client
from tests.support.server import PeerCircleServer, StartServer

pytestmark = pytest.mark.integration

MakeClient = Callable[..., Client]


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
