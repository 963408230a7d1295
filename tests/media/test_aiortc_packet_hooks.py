"""The packet-level hooks of media/hooks/receive.py (and the packet budget it applies),
media/hooks/send.py and media/hooks/dtls.py, and the stream id of
media/hooks/negotiation.py, against the installed aiortc (>=1.16,<1.17, pinned in
pyproject.toml), on real peer connections over loopback: they fail loudly when an
upgrade moves them."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import pytest
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpReceiver,
    RTCRtpSender,
    RTCRtpTransceiver,
)
from aiortc.mediastreams import MediaStreamError
from aiortc.rtcdtlstransport import RTCDtlsTransport

from media.hooks.negotiation import set_stream_id
from media.hooks.receive import (
    _RECEIVER_STARTED,
    _REMOTE_STREAMS,
    request_keyframe,
    tap_rtp_packets,
)
from media.hooks.send import _SENDER_FIGURES, SenderLink, SendParameters, forward_through_sender
from media.packet_budget import PacketBudget
from media.rtp_wire import InboundRtp, one_byte_extensions, vp8_keyframe_start
from tests.media.test_aiortc_hooks import PacketTrack, vp8_clip
from tests.support.aiortc_taps import take_keyframe_request, tap_encoded_frames

pytestmark = pytest.mark.media

WITHIN = 10.0


async def until(predicate: Callable[[], bool], within: float = WITHIN) -> None:
    """Poll `predicate` (it reads state that aiortc changes without telling us)."""
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(0.01)


def prefer_vp8(transceiver: RTCRtpTransceiver) -> None:
    codecs = RTCRtpSender.getCapabilities("video").codecs
    transceiver.setCodecPreferences([c for c in codecs if c.mimeType in ("video/VP8", "video/rtx")])


class IdleTrack(MediaStreamTrack):
    """A sender's track that never yields media, like the SFU's ForwardSlot."""

    kind = "video"

    def __init__(self) -> None:
        super().__init__()
        self._ended = asyncio.Event()

    async def recv(self) -> None:  # type: ignore[override]
        await self._ended.wait()
        raise MediaStreamError

    def stop(self) -> None:
        super().stop()
        self._ended.set()


@dataclass
class Feedback:
    """A SubscriberFeedback that records what it hears."""

    started: asyncio.Event = field(default_factory=asyncio.Event)
    parameters: SendParameters | None = None
    link: SenderLink | None = None
    nacked: list[list[int]] = field(default_factory=list)
    keyframe_requests: int = 0

    def sender_started(self, parameters: SendParameters, link: SenderLink) -> None:
        self.parameters, self.link = parameters, link
        self.started.set()

    async def retransmit(self, sequence_numbers: list[int]) -> None:
        self.nacked.append(sequence_numbers)

    def keyframe_requested(self) -> None:
        self.keyframe_requests += 1


Pcs = Callable[[], RTCPeerConnection]


@pytest.fixture
async def pcs() -> AsyncIterator[Pcs]:
    made: list[RTCPeerConnection] = []

    def make() -> RTCPeerConnection:
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        made.append(pc)
        return pc

    yield make
    for pc in made:
        await pc.close()


async def offer_answer(offerer: RTCPeerConnection, answerer: RTCPeerConnection) -> None:
    await offerer.setLocalDescription(await offerer.createOffer())
    await answerer.setRemoteDescription(offerer.localDescription)
    await answerer.setLocalDescription(await answerer.createAnswer())
    await offerer.setRemoteDescription(answerer.localDescription)


async def _count_frames(track: MediaStreamTrack, decoded: list[int]) -> None:
    # Every received track must be consumed: aiortc queues frames without bound.
    with contextlib.suppress(MediaStreamError):
        while True:
            await track.recv()
            decoded.append(1)


def test_the_internals_the_packet_hooks_use_are_there() -> None:
    assert inspect.iscoroutinefunction(RTCRtpReceiver._handle_rtp_packet)
    assert list(inspect.signature(RTCRtpReceiver._handle_rtp_packet).parameters) == [
        "self",
        "packet",
        "arrival_time_ms",
    ]
    assert inspect.iscoroutinefunction(RTCRtpReceiver.receive)
    assert inspect.iscoroutinefunction(RTCRtpReceiver._send_rtcp_nack)
    assert inspect.iscoroutinefunction(RTCRtpReceiver._send_rtcp_pli)
    assert inspect.iscoroutinefunction(RTCRtpSender.send)
    assert inspect.iscoroutinefunction(RTCRtpSender._handle_rtcp_packet)
    assert inspect.iscoroutinefunction(RTCDtlsTransport._send_rtp)


async def test_receivers_and_senders_have_the_fields_the_hooks_touch(pcs: Pcs) -> None:
    transceiver = pcs().addTransceiver("video")
    assert getattr(transceiver.receiver, _RECEIVER_STARTED) is False
    for name in (*_SENDER_FIGURES, "_ssrc", "_rtx_ssrc"):
        assert isinstance(getattr(transceiver.sender, name), int), name
    # The fast receive and send paths, receiver reports, REMB and msid.
    receiver, sender = transceiver.receiver, transceiver.sender
    assert isinstance(getattr(receiver, _REMOTE_STREAMS), dict)
    assert isinstance(receiver._RTCRtpReceiver__rtcp_ssrc, int)  # type: ignore[attr-defined]
    assert inspect.iscoroutinefunction(receiver._send_rtcp)
    assert isinstance(sender._stream_id, str)
    dtls = receiver.transport
    for name in ("_state", "_rx_srtp", "_tx_srtp", "_rtp_router", "_rtp_header_extensions_map"):
        assert hasattr(dtls, name), name
    connection = dtls.transport._connection
    assert callable(connection.data_received) and isinstance(connection._nominated, dict)
    set_stream_id(sender, "s_someone")
    assert sender._stream_id == "s_someone"
    with pytest.raises(ValueError):
        set_stream_id(sender, "two words")


def test_a_packet_budget_lets_bursts_through_and_holds_the_rate() -> None:
    budget = PacketBudget(rate=100.0, burst=10.0)
    assert all(budget.take(0.0) for _ in range(10))
    assert not budget.take(0.0)
    assert budget.take(0.01)  # one more earned in 10 ms
    assert not budget.take(0.01)
    # A second at the rate: about a hundred, never the whole second's burst at once.
    taken = sum(budget.take(1.0 + n / 1000) for n in range(1000))
    assert 100 <= taken <= 111


async def test_tap_rtp_packets_sees_each_packet_and_nothing_reaches_the_decoder(pcs: Pcs) -> None:
    server, publisher = pcs(), pcs()
    transceiver = server.addTransceiver("video", direction="recvonly")
    prefer_vp8(transceiver)
    packets: list[InboundRtp] = []
    frames: list[bytes] = []

    reports: list[tuple[int, int, int]] = []

    def sink(packet: InboundRtp) -> None:
        packets.append(packet)

    tap_rtp_packets(transceiver.receiver, sink, reports=lambda *sr: reports.append(sr))
    # Once DTLS is up, media goes straight from the socket callback to the tap: aiortc's
    # queued route (which ends in `_handle_rtp_data`) carries none of it.
    dtls = transceiver.receiver.transport
    queued = dtls._handle_rtp_data
    queued_rtp: list[bytes] = []

    async def counting(data: bytes, arrival_time_ms: int) -> None:
        queued_rtp.append(data)
        await queued(data, arrival_time_ms)

    dtls._handle_rtp_data = counting  # type: ignore[method-assign]
    # Were anything to reach the jitter buffer, this would see reassembled frames.
    tap_encoded_frames(transceiver.receiver, lambda data, ts: frames.append(data))
    await server.setLocalDescription(await server.createOffer())
    await publisher.setRemoteDescription(server.localDescription)
    (sending,) = publisher.getTransceivers()
    sending.direction = "sendonly"
    track = PacketTrack(vp8_clip())
    sending.sender.replaceTrack(track)
    await publisher.setLocalDescription(await publisher.createAnswer())
    await server.setRemoteDescription(publisher.localDescription)

    await until(lambda: sum(p.marker for p in packets) >= 10)
    vp8 = next(c.payloadType for c in transceiver._codecs if c.mimeType == "video/VP8")
    assert {p.payload_type for p in packets} == {vp8}
    assert {p.ssrc for p in packets} == {sending.sender._ssrc}
    assert vp8_keyframe_start(packets[0].payload)
    assert not any(vp8_keyframe_start(p.payload) for p in packets[1:])
    assert frames == []
    assert queued_rtp == []
    with pytest.raises(RuntimeError):
        tap_rtp_packets(transceiver.receiver, sink)

    # The publisher's sender reports come through, with its SSRC and media clock.
    await until(lambda: bool(reports))
    ssrc, ntp_time, rtp_timestamp = reports[0]
    assert ssrc == sending.sender._ssrc and ntp_time > 0
    assert abs(((rtp_timestamp - packets[-1].timestamp + 2**31) % 2**32) - 2**31) < 90_000 * 10

    # A PLI for the publisher's SSRC raises its sender's keyframe flag.
    assert take_keyframe_request(sending.sender) is False
    await request_keyframe(transceiver.receiver, packets[0].ssrc)
    await until(lambda: take_keyframe_request(sending.sender))
    track.stop()


async def test_forward_through_sender_sends_rewritten_packets_and_hears_feedback(
    pcs: Pcs,
) -> None:
    server, subscriber = pcs(), pcs()
    idle = IdleTrack()
    transceiver = server.addTransceiver(idle, direction="sendonly")
    prefer_vp8(transceiver)
    feedback = Feedback()
    forward_through_sender(transceiver.sender, feedback)
    await offer_answer(server, subscriber)
    (receiving,) = subscriber.getTransceivers()
    decoded: list[int] = []
    consumer = asyncio.ensure_future(_count_frames(receiving.receiver.track, decoded))

    await asyncio.wait_for(feedback.started.wait(), WITHIN)
    params, link = feedback.parameters, feedback.link
    assert params is not None and link is not None and link.connected
    assert params.ssrc == transceiver.sender._ssrc
    assert params.mid is not None and params.mid == transceiver.mid
    assert params.mid_extension_id is not None
    assert params.clock_rate == 90_000 and params.rtx_payload_type is not None

    # Forwarded packets, protected with the subscriber's keys, decode on its side.
    extensions = one_byte_extensions([(params.mid_extension_id, params.mid.encode())])
    for n, frame in enumerate(vp8_clip(frames=10)):
        timestamp = 1000 + n * 6000
        assert link.send(
            params.payload_type, 1, 100 + n, timestamp, params.ssrc, extensions, b"\x10" + frame
        )
        link.sent(timestamp, len(frame) + 1)
    await until(lambda: len(decoded) >= 5)
    sources = receiving.receiver.getSynchronizationSources()
    assert [s.source for s in sources] == [params.ssrc]

    # PLI and NACK from the subscriber reach the feedback, not aiortc's sender.
    await receiving.receiver._send_rtcp_pli(params.ssrc)
    await receiving.receiver._send_rtcp_nack(params.ssrc, [104, 105])
    await until(lambda: feedback.keyframe_requests == 1 and feedback.nacked == [[104, 105]])
    assert take_keyframe_request(transceiver.sender) is False

    # Its sender reports carry the figures the link keeps.
    async def packets_reported() -> int:
        stats = await receiving.receiver.getStats()
        return max(
            (s.packetsSent for s in stats.values() if s.type == "remote-outbound-rtp"), default=0
        )

    deadline = time.monotonic() + WITHIN
    while await packets_reported() != 10:
        assert time.monotonic() < deadline, "no sender report with our figures"
        await asyncio.sleep(0.1)
    consumer.cancel()
    idle.stop()


async def test_a_failing_sink_is_counted_and_the_stream_goes_on(pcs: Pcs) -> None:
    # An exception escaping into aiortc would end the transport's receive loop.
    server, publisher = pcs(), pcs()
    transceiver = server.addTransceiver("video", direction="recvonly")
    prefer_vp8(transceiver)
    seen: list[int] = []

    def flaky(packet: InboundRtp) -> None:
        seen.append(packet.sequence_number)
        if len(seen) % 5 == 0:
            raise ValueError("bad packet")

    counters = tap_rtp_packets(transceiver.receiver, flaky)
    assert counters.dropped == 0
    await server.setLocalDescription(await server.createOffer())
    await publisher.setRemoteDescription(server.localDescription)
    (sending,) = publisher.getTransceivers()
    sending.direction = "sendonly"
    track = PacketTrack(vp8_clip())
    sending.sender.replaceTrack(track)
    await publisher.setLocalDescription(await publisher.createAnswer())
    await server.setRemoteDescription(publisher.localDescription)

    await until(lambda: len(seen) >= 30)
    assert counters.dropped == len(seen) // 5
    track.stop()
