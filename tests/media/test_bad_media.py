"""Bad media from a publisher: dropped and counted at the door, the call goes on."""

from __future__ import annotations

import asyncio
import random
import struct
import time

import pytest
import pytest_asyncio
from aiortc import RTCPeerConnection

from tests.media.test_forwarding import MEDIA_WITHIN, MakeClient, flowing_call
from tests.support.server import PeerCircleServer, StartServer

pytestmark = pytest.mark.media

RTP_HEADER = struct.Struct("!BBHII")


@pytest_asyncio.fixture
async def server(start_server: StartServer) -> PeerCircleServer:
    return await start_server()


def mic_of(pc: RTCPeerConnection) -> tuple[int, int]:
    """(SSRC, Opus payload type) of a client's mic sender."""
    transceiver = next(t for t in pc.getTransceivers() if t.kind == "audio" and t.sender.track)
    opus = next(c for c in transceiver._codecs if c.mimeType.lower() == "audio/opus")
    assert opus.payloadType is not None
    return transceiver.sender._ssrc, opus.payloadType


async def test_malformed_unknown_oversized_and_flooding_media_is_dropped_and_counted(
    server: PeerCircleServer, clients: MakeClient
) -> None:
    call = await flowing_call(server, clients, "Alex", "Sam")
    alex = call.peers[0]
    assert alex.client.pc is not None
    dtls = alex.client.pc.getTransceivers()[0].sender.transport
    before = await server.metrics()

    # Valid SRTP (Alex's own keys), but RTP the server cannot use: an unknown SSRC
    # with an unknown payload type, and padding longer than the packet.
    for n in range(50):
        await dtls._send_rtp(RTP_HEADER.pack(0x80, 77, n, n * 960, 0x5EED0000 + n) + b"?" * 20)
    await dtls._send_rtp(RTP_HEADER.pack(0xA0, 111, 1, 1, 1) + b"\x00\xff")
    # Straight to the server's socket: a datagram larger than any packet a publisher
    # sends, and one that fails SRTP authentication.
    pair = dtls.transport._connection._nominated[1]
    pair.protocol.transport.sendto(b"\x80" + random.randbytes(1999), pair.remote_addr)
    pair.protocol.transport.sendto(b"\x80\x6f" + random.randbytes(200), pair.remote_addr)

    # A flood of Opus from a new SSRC of Alex's (the server takes it as his mic's
    # stream restarting): three thousand packets in bursts of a hundred, protected
    # with Alex's keys and written straight to the socket, so the flood outruns the
    # budget however slow this machine is (5,000 a second against 200). The pause
    # between bursts lets a busy server drain its socket before the kernel drops any.
    _ssrc, opus = mic_of(alex.client.pc)
    for burst in range(30):
        for n in range(burst * 100, burst * 100 + 100):
            packet = RTP_HEADER.pack(0x80, opus, n, n * 960, 0xF100D) + b"\xf8\xff\xfe"
            pair.protocol.transport.sendto(dtls._tx_srtp.protect(packet), pair.remote_addr)
        await asyncio.sleep(0.02)

    deadline = time.monotonic() + MEDIA_WITHIN
    while True:
        now = await server.metrics()
        dropped = now["packets_dropped"] - before["packets_dropped"]
        over_rate = now["packets_over_rate"] - before["packets_over_rate"]
        if dropped >= 50 and over_rate >= 1000:
            break
        assert time.monotonic() < deadline, f"dropped {dropped}, over rate {over_rate}"
        await asyncio.sleep(0.1)
    # ...and the call went on: both still get each other's audio and video.
    await call.all_receiving(video=15, audio=30, within=MEDIA_WITHIN)
