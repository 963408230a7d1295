"""Between real aiortc peers through the server process: packet loss towards a
subscriber is repaired by NACK and RTX from the forwarding slot's cache, and a
publisher that changes its SSRC keeps its subscribers watching."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
import pytest_asyncio
from aiortc import RTCPeerConnection

from tests.media.test_forwarding import new_call
from tests.support.client import Client
from tests.support.server import PeerCircleServer, StartServer

pytestmark = pytest.mark.media

MakeClient = Callable[..., Client]
LOSE_EVERY = 50  # 2% of the video packets the subscriber gets


@pytest_asyncio.fixture
async def server(start_server: StartServer) -> PeerCircleServer:
    """A server per test: its retransmission counters start from nothing."""
    return await start_server()


@dataclass
class LossyLink:
    """Drops every `every`-th first-time video packet a client receives (after SRTP,
    before aiortc routes it), as a lossy network would; retransmissions (RTX) pass."""

    every: int
    video: int = 0
    dropped: int = 0

    def install(self, pc: RTCPeerConnection) -> None:
        transceivers = pc.getTransceivers()
        vp8 = {
            c.payloadType
            for t in transceivers
            for c in t._codecs
            if t.kind == "video" and c.mimeType == "video/VP8"
        }
        dtls = transceivers[0].receiver.transport
        deliver = dtls._handle_rtp_data

        async def lossy(data: bytes, arrival_time_ms: int) -> None:
            if data[1] & 0x7F in vp8:
                self.video += 1
                if self.video % self.every == 0:
                    self.dropped += 1
                    return
            await deliver(data, arrival_time_ms)

        dtls._handle_rtp_data = lossy  # type: ignore[method-assign]


async def test_video_keeps_flowing_through_two_percent_loss(
    server: PeerCircleServer, clients: MakeClient
) -> None:
    call = await new_call(server, clients, "Alex", "Sam")
    await call.all_receiving(video=5, audio=10)
    links = []
    for peer in call.peers:
        assert peer.client.pc is not None
        link = LossyLink(LOSE_EVERY)
        link.install(peer.client.pc)
        links.append(link)
    before = await server.metrics()
    keyframes = [p.camera.keyframes_sent for p in call.peers]

    # Four seconds of video at 15 fps, each frame one packet: about one in 50 lost.
    await call.all_receiving(video=60, audio=100, within=20)

    after = await server.metrics()
    assert all(link.dropped >= 1 for link in links), links
    lost = sum(link.dropped for link in links)
    # The subscribers asked for what they lost and the slots had it cached.
    assert after["retransmitted"] - before["retransmitted"] >= lost // 2, (lost, after)
    # NACK did the repair, not a keyframe per loss.
    extra = sum(p.camera.keyframes_sent for p in call.peers) - sum(keyframes)
    assert extra < lost, (extra, lost)


async def test_a_publisher_that_changes_its_ssrc_keeps_its_subscribers_watching(
    server: PeerCircleServer, clients: MakeClient
) -> None:
    call = await new_call(server, clients, "Alex", "Sam")
    alex, sam = call.peers
    await call.all_receiving(video=5, audio=10)
    sender = alex.camera.sender
    assert sender is not None
    keyframes = alex.camera.keyframes_sent

    # As a browser does when it restarts its camera: the same m-line, a new SSRC
    # (aiortc's sender reads `_ssrc` for every packet; its router must know it too).
    new_ssrc = (sender._ssrc + 1) & 0xFFFFFFFF
    sender.transport._rtp_router.register_sender(sender, new_ssrc)
    sender._ssrc = new_ssrc

    seen = sam.video_from(alex)
    await call.until(lambda: sam.video_from(alex) >= seen + 30, within=15)
    # Sam's slot started over on a keyframe it asked the publisher for.
    assert alex.camera.keyframes_sent > keyframes
    assert sam.wrong_slot == 0
