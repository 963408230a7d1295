"""A subscriber that cannot keep up is degraded (others' video paused, audio kept)
rather than slowing the room, and gets video back once its link recovers."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import pytest_asyncio

from tests.media.test_forwarding import new_call
from tests.media.test_packet_recovery import LossyLink
from tests.support.client import Client
from tests.support.server import PeerCircleServer, StartServer

pytestmark = pytest.mark.media

MakeClient = Callable[..., Client]


@pytest_asyncio.fixture
async def server(start_server: StartServer) -> PeerCircleServer:
    """A server per test."""
    return await start_server()


async def test_a_lossy_subscriber_loses_video_keeps_audio_and_recovers(
    server: PeerCircleServer, clients: MakeClient
) -> None:
    call = await new_call(server, clients, "Alex", "Sam", "Jordan")
    alex, sam, jordan = call.peers
    await call.all_receiving(video=5, audio=10)
    assert jordan.client.pc is not None
    link = LossyLink(every=3)  # a third of Jordan's incoming video is lost
    link.install(jordan.client.pc)

    paused = await jordan.client.next_event(
        "media-quality", lambda q: q["video"] == "paused", within=20
    )
    assert paused == {"video": "paused"}
    metrics = await server.metrics()
    assert metrics["video_paused_peers"] == 1
    # Jordan keeps hearing everyone; the others keep seeing everyone, Jordan included.
    heard = {tx.id: jordan.audio_from(tx) for tx in (alex, sam)}
    seen = {
        (rx.id, tx.id): rx.video_from(tx) for rx in (alex, sam) for tx in call.peers if rx is not tx
    }
    still = {tx.id: jordan.video_from(tx) for tx in (alex, sam)}
    await call.until(
        lambda: (
            all(jordan.audio_from(tx) >= heard[tx.id] + 50 for tx in (alex, sam))
            and all(
                rx.video_from(tx) >= seen[rx.id, tx.id] + 20
                for rx in (alex, sam)
                for tx in call.peers
                if rx is not tx
            )
        )
    )
    # ...while no video reaches Jordan (a frame in flight at the pause may arrive).
    assert all(jordan.video_from(tx) <= still[tx.id] + 2 for tx in (alex, sam))

    link.every = 10_000  # the link recovers
    since = len(jordan.client.events)
    await jordan.client.next_event(
        "media-quality", lambda q: q["video"] == "flowing", since, within=40
    )
    # The server sends Jordan video again (its slots start on a fresh keyframe). Whether
    # aiortc's own receiver then decodes at once depends on the holes the lossy spell
    # left in its jitter buffer (it waits for 128 packets); a browser recovers on the
    # keyframe. So this checks delivery, at the server and on Jordan's socket.
    delivered = link.video
    await jordan.client.wait_for(lambda: link.video >= delivered + 60, within=15)
    assert (await server.metrics())["video_paused_peers"] == 0
