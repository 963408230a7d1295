"""Media follows breakout rooms: real aiortc peers receive only their roommates, a move
swaps that on the same peer connection, closing brings everyone back."""

from __future__ import annotations

import pytest
import pytest_asyncio

from tests.media.test_forwarding import Call, MakeClient, Peer, new_call
from tests.support.client import Client
from tests.support.server import PeerCircleServer, StartServer

pytestmark = pytest.mark.media


@pytest_asyncio.fixture
async def server(start_server: StartServer) -> PeerCircleServer:
    """A server per test."""
    return await start_server()


async def still_and_flowing(
    call: Call, flowing: list[tuple[Peer, Peer]], still: list[tuple[Peer, Peer]]
) -> None:
    """Media in `flowing` pairs (receiver, sender) keeps arriving while `still` pairs
    receive nothing new, judged over 25 video frames of the flowing pairs."""
    await call.until(lambda: all(rx.video_from(tx) > 0 for rx, tx in flowing))
    start = {(rx.id, tx.id): rx.video_from(tx) for rx, tx in flowing}
    # Let what was in flight before the change arrive.
    await call.until(
        lambda: all(rx.video_from(tx) >= start[rx.id, tx.id] + 5 for rx, tx in flowing)
    )
    frozen = {(rx.id, tx.id): (rx.video_from(tx), rx.audio_from(tx)) for rx, tx in still}
    await call.until(
        lambda: all(rx.video_from(tx) >= start[rx.id, tx.id] + 30 for rx, tx in flowing)
    )
    assert {(rx.id, tx.id): (rx.video_from(tx), rx.audio_from(tx)) for rx, tx in still} == frozen


def pairs(*groups: list[Peer]) -> tuple[list[tuple[Peer, Peer]], list[tuple[Peer, Peer]]]:
    """(pairs in the same group, pairs in different groups)."""
    same: list[tuple[Peer, Peer]] = []
    apart: list[tuple[Peer, Peer]] = []
    for group in groups:
        for rx in group:
            for other in groups:
                for tx in other:
                    if rx is not tx:
                        (same if other is group else apart).append((rx, tx))
    return same, apart


async def test_media_follows_moves_without_a_new_peer_connection(
    server: PeerCircleServer, clients: MakeClient
) -> None:
    call = await new_call(server, clients, "Alex", "Sam", "Jordan", "Riley")
    alex, sam, jordan, riley = call.peers
    link = await server.mint_link(call.session_id, "Dr. Rivera", "therapist")
    therapist: Client = clients(server, link["token"])
    await therapist.connect()
    await therapist.next_event("welcome")
    await call.all_receiving(video=5, audio=10)
    connections = {p.id: p.client.pc for p in call.peers}

    await therapist.emit("breakout-rooms", {"names": ["Blue", "Green"]})
    for peer, room in ((alex, "r1"), (sam, "r1"), (jordan, "r2"), (riley, "r2")):
        await therapist.emit("breakout-move", {"participant": peer.id, "room": room})
    await therapist.emit("breakout-open", {})
    await therapist.next_event("breakouts", lambda b: b["open"])
    await still_and_flowing(call, *pairs([alex, sam], [jordan, riley]))

    await therapist.emit("breakout-move", {"participant": sam.id, "room": "r2"})
    await therapist.emit("breakout-move", {"participant": jordan.id, "room": "r1"})
    await still_and_flowing(call, *pairs([alex, jordan], [sam, riley]))

    await therapist.emit("breakout-close", {})
    await call.all_receiving(video=10, audio=10)
    # Renegotiated on the same connections: nobody rejoined.
    assert {p.id: p.client.pc for p in call.peers} == connections
    assert all(len([e for e, _ in p.client.events if e == "welcome"]) == 1 for p in call.peers)
