"""The aiortc/aioice internals behind media/hooks/negotiation.py (loopback candidates),
media/hooks/codec_counters.py, the keyframe request of media/hooks/receive.py and the
test-only taps of tests/support/aiortc_taps.py still exist and behave, checked on real
aiortc peer connections over loopback (aiortc>=1.16,<1.17, pinned in pyproject.toml).
The packet-level hooks are checked in test_aiortc_packet_hooks.py."""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import inspect
import queue
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import aioice.ice
import av
import pytest
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpReceiver,
    RTCRtpSender,
    RTCRtpTransceiver,
)
from aiortc.codecs import vpx
from aiortc.mediastreams import MediaStreamError

from media.hooks.codec_counters import count_video_codec_use
from media.hooks.negotiation import offer_loopback_candidates
from media.hooks.receive import request_keyframe
from tests.support.aiortc_taps import (
    _DECODER_QUEUE,
    _FORCE_KEYFRAME,
    is_vp8_keyframe,
    take_keyframe_request,
    tap_encoded_frames,
)
from tests.support.media import FPS, HEIGHT, WIDTH, PatternVideoTrack

pytestmark = pytest.mark.media

WITHIN = 10.0
# The started-receiver guard in tap_encoded_frames reads this one.
_DECODER_THREAD = "_RTCRtpReceiver__decoder_thread"


async def until(predicate: Callable[[], bool], within: float = WITHIN) -> None:
    """Poll `predicate` (it reads state that aiortc changes without telling us)."""
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(0.01)


def vp8_clip(frames: int = 30) -> list[bytes]:
    """VP8 frames (first one a keyframe) encoded with PyAV, not through aiortc."""
    encoder = av.CodecContext.create("libvpx", "w")
    encoder.width, encoder.height = WIDTH, HEIGHT
    encoder.pix_fmt = "yuv420p"
    encoder.time_base = fractions.Fraction(1, FPS)
    encoder.options = {"deadline": "realtime", "cpu-used": "8"}
    encoder.gop_size = 1000
    clip: list[bytes] = []
    for n in range(frames):
        frame = av.VideoFrame(WIDTH, HEIGHT, "yuv420p")
        frame.planes[0].update(bytes([(n * 7) % 200 + 16]) * (WIDTH * HEIGHT))
        frame.planes[1].update(bytes([128]) * (WIDTH * HEIGHT // 4))
        frame.planes[2].update(bytes([128]) * (WIDTH * HEIGHT // 4))
        frame.pts = n
        clip += [bytes(p) for p in encoder.encode(frame)]
    clip += [bytes(p) for p in encoder.encode(None)]
    return clip


class PacketTrack(MediaStreamTrack):
    """Sends pre-encoded VP8 like the SFU's ForwardSlot does (av.Packet, never a Frame),
    so aiortc's sender packetizes without encoding and never consumes its keyframe flag."""

    kind = "video"

    def __init__(self, clip: list[bytes]) -> None:
        super().__init__()
        self._clip = clip
        self._sent = 0
        self._started: float | None = None

    async def recv(self) -> av.Packet:  # type: ignore[type-arg]
        if self.readyState != "live":
            raise MediaStreamError
        if self._started is None:
            self._started = time.monotonic()
        delay = self._started + self._sent / FPS - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)  # pacing, like a camera
        packet = av.Packet(self._clip[self._sent % len(self._clip)])
        packet.pts = self._sent * 90_000 // FPS
        packet.time_base = fractions.Fraction(1, 90_000)
        self._sent += 1
        return packet


def prefer_vp8(transceiver: RTCRtpTransceiver) -> None:
    codecs = RTCRtpSender.getCapabilities("video").codecs
    transceiver.setCodecPreferences([c for c in codecs if c.mimeType in ("video/VP8", "video/rtx")])


@dataclass
class Pair:
    """A publisher and a receiving side (laid out like the SFU: it makes the offer)."""

    publisher: RTCPeerConnection
    receiving: RTCPeerConnection
    sender: RTCRtpSender
    receiver: RTCRtpReceiver
    tapped: list[tuple[bytes, int]] = field(default_factory=list)


Connect = Callable[..., Awaitable[Pair]]


@pytest.fixture
async def connect() -> AsyncIterator[Connect]:
    """`await connect(track, tap=True, keep_decoding=False)`: a connected loopback pair."""
    pcs: list[RTCPeerConnection] = []
    consumers: list[asyncio.Task[None]] = []

    async def make(track: MediaStreamTrack, tap: bool = True, keep_decoding: bool = False) -> Pair:
        receiving = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        publisher = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        pcs.extend([receiving, publisher])
        transceiver = receiving.addTransceiver("video", direction="recvonly")
        prefer_vp8(transceiver)
        tapped: list[tuple[bytes, int]] = []
        if tap:
            tap_encoded_frames(
                transceiver.receiver,
                lambda data, timestamp: tapped.append((data, timestamp)),
                keep_decoding=keep_decoding,
            )
        await receiving.setLocalDescription(await receiving.createOffer())
        await publisher.setRemoteDescription(receiving.localDescription)
        (sending,) = publisher.getTransceivers()
        sending.direction = "sendonly"
        sending.sender.replaceTrack(track)
        await publisher.setLocalDescription(await publisher.createAnswer())
        await receiving.setRemoteDescription(publisher.localDescription)
        consumers.append(asyncio.ensure_future(_consume(transceiver.receiver.track)))
        return Pair(publisher, receiving, sending.sender, transceiver.receiver, tapped)

    yield make
    for task in consumers:
        task.cancel()
    for pc in pcs:
        await pc.close()


async def _consume(track: MediaStreamTrack) -> None:
    # Every received track must be consumed: aiortc queues frames without bound.
    with contextlib.suppress(MediaStreamError):
        while True:
            await track.recv()


# -- the internals exist ----------------------------------------------------------------------


async def test_the_internals_the_hooks_use_are_there() -> None:
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    transceiver = pc.addTransceiver("video")
    receiver, sender = transceiver.receiver, transceiver.sender
    assert isinstance(getattr(receiver, _DECODER_QUEUE), queue.Queue)
    assert getattr(receiver, _DECODER_THREAD) is None
    assert getattr(sender, _FORCE_KEYFRAME) is False
    assert inspect.iscoroutinefunction(receiver._send_rtcp_pli)
    assert receiver.getSynchronizationSources() == []
    assert callable(vpx.Vp8Encoder.encode) and callable(vpx.Vp8Decoder.decode)
    assert callable(aioice.ice.get_host_addresses)
    await pc.close()


# -- tapping encoded frames --------------------------------------------------------------------


async def test_tap_receives_encoded_frames_and_the_decoder_sees_none(connect: Connect) -> None:
    counters = count_video_codec_use()
    camera = PatternVideoTrack(level=100)
    decodes_before = counters.video_decodes

    pair = await connect(camera)
    await until(lambda: len(pair.tapped) >= 15)

    # Reassembled VP8 frames, the first a keyframe, in media-time order.
    assert is_vp8_keyframe(pair.tapped[0][0])
    assert not all(is_vp8_keyframe(data) for data, _ in pair.tapped)
    timestamps = [timestamp for _, timestamp in pair.tapped]
    assert timestamps == sorted(timestamps) and len(set(timestamps)) == len(timestamps)
    # aiortc encoded on the publisher's side; nothing was decoded on ours.
    assert counters.video_encodes > 0
    assert counters.video_decodes == decodes_before
    camera.stop()


async def test_tap_can_keep_decoding(connect: Connect) -> None:
    counters = count_video_codec_use()
    camera = PatternVideoTrack(level=100)
    decodes_before = counters.video_decodes
    pair = await connect(camera, keep_decoding=True)
    await until(lambda: len(pair.tapped) >= 10 and counters.video_decodes >= decodes_before + 5)
    camera.stop()


async def test_tap_refuses_a_receiver_that_has_started(connect: Connect) -> None:
    camera = PatternVideoTrack(level=100)
    pair = await connect(camera, tap=False)
    await until(lambda: bool(pair.receiver.getSynchronizationSources()))
    with pytest.raises(RuntimeError):
        tap_encoded_frames(pair.receiver, lambda data, timestamp: None)
    camera.stop()


# -- keyframe requests --------------------------------------------------------------------------


async def take_within(sender: RTCRtpSender, within: float = WITHIN) -> None:
    """Until take_keyframe_request(sender) says a keyframe was asked for."""
    await until(lambda: take_keyframe_request(sender), within)


async def test_take_keyframe_request_flips_after_the_remote_sends_pli(connect: Connect) -> None:
    # Start the stream on a delta frame: the remote's decoder fails and aiortc, on
    # its own, sends PLI (as a browser subscriber would).
    clip = vp8_clip()
    track = PacketTrack(clip[1:])
    pair = await connect(track, tap=False)
    assert take_keyframe_request(pair.sender) is False

    await take_within(pair.sender)
    # Taking it clears it.
    assert take_keyframe_request(pair.sender) is False
    track.stop()


async def test_request_keyframe_sets_the_remote_senders_keyframe_flag(connect: Connect) -> None:
    track = PacketTrack(vp8_clip())
    pair = await connect(track)
    await until(lambda: len(pair.tapped) >= 3)
    [source] = pair.receiver.getSynchronizationSources()
    # The publisher's own encoder never asked: the flag is down until we send PLI.
    assert take_keyframe_request(pair.sender) is False
    await request_keyframe(pair.receiver, source.source)
    await take_within(pair.sender)
    assert take_keyframe_request(pair.sender) is False

    # And again: each PLI raises it once more.
    await request_keyframe(pair.receiver, source.source)
    await take_within(pair.sender)
    track.stop()


async def test_a_real_encoder_answers_pli_with_a_keyframe(connect: Connect) -> None:
    # The SFU forwards the request to publishers whose aiortc/browser encoder makes a
    # keyframe; aiortc's encoder otherwise keyframes only every few minutes.
    camera = PatternVideoTrack(level=100)
    pair = await connect(camera)
    await until(lambda: len(pair.tapped) >= 10)
    seen = len(pair.tapped)
    assert not any(is_vp8_keyframe(data) for data, _ in pair.tapped[1:])

    [source] = pair.receiver.getSynchronizationSources()
    await request_keyframe(pair.receiver, source.source)
    await until(lambda: any(is_vp8_keyframe(data) for data, _ in pair.tapped[seen:]))
    camera.stop()


# -- loopback candidates --------------------------------------------------------------------------


async def local_candidates() -> str:
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    try:
        pc.addTransceiver("audio")
        await pc.setLocalDescription(await pc.createOffer())
        return "\n".join(
            line for line in pc.localDescription.sdp.splitlines() if "a=candidate" in line
        )
    finally:
        await pc.close()


async def test_offer_loopback_candidates_adds_127_0_0_1() -> None:
    try:
        offer_loopback_candidates(False)
        assert "127.0.0.1" not in aioice.ice.get_host_addresses(use_ipv4=True, use_ipv6=False)
        assert " 127.0.0.1 " not in await local_candidates()

        offer_loopback_candidates(True)
        offer_loopback_candidates(True)
        addresses = aioice.ice.get_host_addresses(use_ipv4=True, use_ipv6=False)
        assert addresses.count("127.0.0.1") == 1
        assert "127.0.0.1" not in aioice.ice.get_host_addresses(use_ipv4=False, use_ipv6=True)
        assert " 127.0.0.1 " in await local_candidates()
    finally:
        offer_loopback_candidates(True)


# -- codec counters -------------------------------------------------------------------------------


def test_count_video_codec_use_counts_encodes_and_decodes() -> None:
    counters = count_video_codec_use()
    assert count_video_codec_use() is counters
    encodes, decodes = counters.video_encodes, counters.video_decodes

    encoder = vpx.Vp8Encoder()
    frame = av.VideoFrame(WIDTH, HEIGHT, "yuv420p")
    frame.pts, frame.time_base = 0, fractions.Fraction(1, 90_000)
    payloads, _ = encoder.encode(frame)
    assert payloads
    assert counters.video_encodes == encodes + 1

    from aiortc.jitterbuffer import JitterFrame

    clip = vp8_clip(frames=2)
    vpx.Vp8Decoder().decode(JitterFrame(data=clip[0], timestamp=0))
    assert counters.video_decodes == decodes + 1
