"""The lean load generator's path through aiortc: paced RTP out, reader-thread counting in.

Two aiortc peers on loopback, one sending a clip through `PacedStream`, the other
handing its socket to `FastReceiver`. Fails when aiortc or aioice move what
`bench/forwarding/lean_wire.py` reaches for, or when the trailer stops surviving the trip.
"""

from __future__ import annotations

import asyncio

from aiortc import RTCBundlePolicy, RTCConfiguration, RTCPeerConnection, RTCRtpReceiver

from bench.forwarding.clips import Clip
from bench.forwarding.lean_gen import IdleTrack, wait_connected
from bench.forwarding.lean_streams import PacedStream, ReceiveTally, Window, stream_id
from bench.forwarding.lean_wire import FastReceiver, silence_receiver
from media.hooks.negotiation import offer_loopback_candidates
from media.hooks.send import forward_through_sender


def _clip() -> Clip:
    keyframe = bytes([0x10]) + b"\x9d\x01\x2a" + b"k" * 2996  # frame tag bit 0 = key
    delta = bytes([0x11]) + b"d" * 499
    return Clip("video", (keyframe,) + (delta,) * 29, (0,), 90_000, 3000)


async def test_paced_packets_reach_the_reader_thread_with_their_trailer() -> None:
    offer_loopback_candidates(True)
    config = RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
    sender_pc, receiver_pc = RTCPeerConnection(config), RTCPeerConnection(config)
    window = Window(0, 1 << 62)
    tally = ReceiveTally(window)
    fast = FastReceiver(tally.count)
    early = [0]
    paced = PacedStream(stream_id(3, "video"), _clip(), window)
    try:
        transceiver = sender_pc.addTransceiver(IdleTrack("video"), direction="sendonly")
        forward_through_sender(transceiver.sender, paced)

        @receiver_pc.on("track")
        def on_track(track: object) -> None:
            for t in receiver_pc.getTransceivers():
                if isinstance(t.receiver, RTCRtpReceiver) and t.receiver.track is track:
                    silence_receiver(t.receiver, early)

        await sender_pc.setLocalDescription(await sender_pc.createOffer())
        await receiver_pc.setRemoteDescription(sender_pc.localDescription)
        await receiver_pc.setLocalDescription(await receiver_pc.createAnswer())
        await sender_pc.setRemoteDescription(receiver_pc.localDescription)
        await wait_connected(receiver_pc, within=10)
        await fast.take_over(7, receiver_pc)

        key = (7, stream_id(3, "video"))
        async with asyncio.timeout(10):
            while tally.frames[key] < 20:  # noqa: ASYNC110 (counted in the reader thread)
                await asyncio.sleep(0.05)
        assert fast.packets >= 20 and fast.unprotect_errors == 0
        assert tally.untagged == 0
        assert sum(sum(h.values()) for h in tally.latency) == tally.packets
    finally:
        paced.stop()
        fast.stop()
        await sender_pc.close()
        await receiver_pc.close()
