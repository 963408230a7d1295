"""The smaller findings of the outside audit, replayed over the real protocol: an
observer approved to present, relayed control and direction-override characters, the
candidate cap that restarted with every join."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.integration.helpers import arrive
from tests.support.client import Client
from tests.support.server import PeerCircleServer

pytestmark = pytest.mark.integration

MakeClient = Callable[..., Client]
CANDIDATE = "candidate:1 1 udp 2122260223 127.0.0.1 {port} typ host"


async def last_error(client: Client, event: str, body: object) -> str:
    count = len(client.errors)
    await client.emit(event, body)
    await client.wait_for(lambda: len(client.errors) > count)
    return str(client.errors[-1]["code"])


async def test_an_observer_cannot_be_approved_to_present(
    server: PeerCircleServer, clients: MakeClient
) -> None:
    session = await server.create_session()
    sid = session["id"]
    therapist, _ = await arrive(server, clients, sid, "Dr. Rivera", "therapist")
    observer, observer_id = await arrive(server, clients, sid, "Observer", "observer")
    assert await last_error(therapist, "share-approve", {"participant": observer_id}) == (
        "not_permitted"
    )
    assert [e for e, _ in observer.events if e == "share-answer"] == []
    assert await last_error(observer, "share-start", {}) == "not_permitted"
    state = await server.session_state(sid)
    assert [t for t in state["tracks"] if t["participant"] == observer_id] == []


@pytest.mark.parametrize("text", ["gpj.\u202eexe", "ring\x07", "\x1b[2Jcleared"])
async def test_chat_and_room_names_do_not_relay_controls_or_overrides(
    server: PeerCircleServer, clients: MakeClient, text: str
) -> None:
    session = await server.create_session()
    sid = session["id"]
    therapist, _ = await arrive(server, clients, sid, "Dr. Rivera", "therapist")
    alex, _ = await arrive(server, clients, sid, "Alex", "patient")
    assert await last_error(alex, "chat", {"to": "room", "text": text}) == "invalid_payload"
    names = {"names": [f"Room {text}"]}
    assert await last_error(therapist, "breakout-rooms", names) == "invalid_payload"
    # A clean message after the refused one is the first chat anyone sees.
    await alex.emit("chat", {"to": "room", "text": "hello"})
    first = await therapist.next_event("chat-message")
    assert first["text"] == "hello"


async def test_the_candidate_budget_survives_a_new_join(
    server: PeerCircleServer, clients: MakeClient
) -> None:
    session = await server.create_session()
    alex, _ = await arrive(server, clients, session["id"], "Alex", "patient")
    await alex.next_event("offer")
    for i in range(64):
        body = {"candidate": CANDIDATE.format(port=10000 + i), "sdpMid": "0"}
        await alex.emit("ice-candidate", body)
    offers = len(alex.offers_received)
    await alex.join()  # a fresh peer connection: the old cap restarted here
    await alex.wait_for(lambda: len(alex.offers_received) > offers)
    errors = len(alex.errors)
    for i in range(10):
        body = {"candidate": CANDIDATE.format(port=20000 + i), "sdpMid": "0"}
        await alex.emit("ice-candidate", body)
    await alex.wait_for(
        lambda: any(e["code"] == "rate_limited" for e in alex.errors[errors:]), within=10
    )
