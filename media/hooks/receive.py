"""Packets in from publishers, and the feedback we send them.

aiortc would queue each datagram, decrypt it in the DTLS transport's task and
hand it to the receiver's jitter buffer and decoder; we take each decrypted RTP
packet at the door instead. Internals touched (aiortc>=1.16,<1.17 and the aioice
that comes with it, pinned in pyproject.toml; checked by
tests/media/test_aiortc_packet_hooks.py):

- aioice `Connection.data_received` (the socket callback) and the ICE transport's
  `_connection`;
- `RTCDtlsTransport._state`, `_rx_srtp`, `_rtp_header_extensions_map`,
  `_rtp_router.route_rtp` (`_FastReceive`);
- `RTCRtpReceiver.receive`, `_handle_rtp_packet`, `_handle_rtcp_packet`,
  `__started`, `__remote_streams` (its receiver-report statistics), `__rtcp_ssrc`,
  `_send_rtcp`, `_send_rtcp_nack`, `_send_rtcp_pli` (`tap_rtp_packets`,
  `send_bitrate_cap`, `request_keyframe`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import pylibsrtp
from aiortc import RTCRtpReceiver, clock
from aiortc.codecs import is_rtx
from aiortc.rtcdtlstransport import RTCDtlsTransport
from aiortc.rtcrtpparameters import RTCRtpReceiveParameters
from aiortc.rtcrtpreceiver import NackGenerator, StreamStatistics
from aiortc.rtp import (
    RTCP_PSFB_APP,
    AnyRtcpPacket,
    RtcpPsfbPacket,
    RtcpSrPacket,
    RtpPacket,
    pack_remb_fci,
    unwrap_rtx,
)

from ..background import in_background
from ..packet_budget import PACKET_BUDGET, PacketBudget
from .dtls import DTLS_CONNECTED, one_per_transport

log = logging.getLogger(__name__)

RtpSink = Callable[[RtpPacket], None]
"""Called on the event loop with each decrypted RTP packet of the primary codec."""

SenderReportSink = Callable[[int, int, int], None]
"""Called with (SSRC, NTP time, RTP timestamp) of each sender report (SR) a publisher sends."""

_RECEIVER_STARTED = "_RTCRtpReceiver__started"
_REMOTE_STREAMS = "_RTCRtpReceiver__remote_streams"
_FAST_RECEIVE = "_peercircle_fast_receive"
# The largest SRTP datagram accepted from a publisher (an Ethernet MTU's worth).
MAX_DATAGRAM = 1500
# RTP and RTCP share the port (RFC 5761): RTCP packet types 192-223 sit where an RTP
# packet has its marker bit and payload type.
_RTCP_TYPES = range(192, 224)


@dataclass
class TapCounters:
    """What a receiver tap dropped: padding probes, unknown payload types and RTX
    sources, and packets the forward path failed on (`dropped`); packets over the
    stream's rate limit (`over_rate`)."""

    dropped: int = 0
    over_rate: int = 0


class _ReceiveTap:
    """What `tap_rtp_packets` learns from the negotiated parameters and the stream."""

    def __init__(
        self,
        receiver: RTCRtpReceiver,
        sink: RtpSink,
        reports: SenderReportSink | None,
    ) -> None:
        self.receiver = receiver
        self.sink = sink
        self.reports = reports
        self.original_rtcp = receiver._handle_rtcp_packet
        self.original_receive = receiver.receive
        self.primary: set[int] = set()
        self.rtx_apt: dict[int, int] = {}
        self.rtx_ssrc: dict[int, int] = {}
        self.last_ssrc: int | None = None
        self.nacks: NackGenerator | None = None
        self.counters = TapCounters()
        self.budget = PacketBudget(*PACKET_BUDGET["audio"])
        # aiortc's receiver sends receiver reports (RR) from these, once a second: the
        # publisher's congestion control needs them to raise its bitrate.
        self.clock_rate = 48000
        self.streams: dict[int, StreamStatistics] = getattr(receiver, _REMOTE_STREAMS)

    async def receive(self, parameters: RTCRtpReceiveParameters) -> None:
        for codec in parameters.codecs:
            apt = codec.parameters.get("apt")
            if codec.payloadType is None:
                continue
            if is_rtx(codec) and isinstance(apt, int):
                self.rtx_apt[codec.payloadType] = apt
            else:
                self.primary.add(codec.payloadType)
                self.clock_rate = codec.clockRate
        for encoding in parameters.encodings:
            if encoding.rtx is not None:
                self.rtx_ssrc[encoding.rtx.ssrc] = encoding.ssrc
        if any(c.mimeType.lower().startswith("video/") for c in parameters.codecs):
            self.nacks = NackGenerator()
            self.budget = PacketBudget(*PACKET_BUDGET["video"])
        _FastReceive.install(self.receiver.transport).taps[self.receiver] = self
        await self.original_receive(parameters)

    async def handle_rtcp(self, packet: AnyRtcpPacket) -> None:
        if isinstance(packet, RtcpSrPacket) and self.reports is not None:
            info = packet.sender_info
            self.reports(packet.ssrc, info.ntp_timestamp, info.rtp_timestamp)
        await self.original_rtcp(packet)

    async def handle(self, packet: RtpPacket, arrival_time_ms: int) -> None:
        """aiortc's own route, for packets that came before the fast one was in place."""
        self.handle_now(packet)

    def handle_now(self, packet: RtpPacket) -> None:
        if not self.budget.take(time.monotonic()):
            self.counters.over_rate += 1
            return
        apt = self.rtx_apt.get(packet.payload_type)
        if apt is not None:
            # A retransmission we asked for, or (payload under 2 bytes) a padding probe.
            ssrc = self.rtx_ssrc.get(packet.ssrc, self.last_ssrc)
            if len(packet.payload) < 2 or ssrc is None:
                self.counters.dropped += 1
                return
            packet = unwrap_rtx(packet, payload_type=apt, ssrc=ssrc)
        elif packet.payload_type not in self.primary or not packet.payload:
            self.counters.dropped += 1
            return
        self.last_ssrc = packet.ssrc
        stream = self.streams.get(packet.ssrc)
        if stream is None:
            stream = self.streams[packet.ssrc] = StreamStatistics(self.clock_rate)
        stream.add(packet)
        try:
            if self.nacks is not None and self.nacks.add(packet):
                missing = sorted(self.nacks.missing)
                in_background(self.receiver._send_rtcp_nack(packet.ssrc, missing), "NACK")
            self.sink(packet)
        except Exception:
            # An exception here would end aiortc's receive loop for the whole
            # transport: every stream of this publisher would stop.
            self.counters.dropped += 1
            log.exception("forwarding an RTP packet failed")


class _FastReceive:
    """Takes a connection's SRTP media packets from the socket callback, decrypts,
    parses and hands them to their receiver's tap on the spot.

    aiortc's own route queues each datagram, wakes the DTLS transport's task, and
    goes through three coroutines before a receiver sees the packet: about half of
    what forwarding a packet costs. DTLS, RTCP and STUN still take that route; so
    does media until DTLS is up. Media for a receiver without a tap (none in the
    server) goes on to aiortc's handler. The DTLS transport's receive counters (its
    getStats figures) leave out the media taken here.
    """

    def __init__(self, dtls: RTCDtlsTransport) -> None:
        self.dtls = dtls
        self.taps: dict[object, _ReceiveTap] = {}
        self.dropped = 0
        connection = dtls.transport._connection
        self.queue_datagram = connection.data_received
        connection.data_received = self.data_received  # type: ignore[method-assign]

    @classmethod
    def install(cls, dtls: RTCDtlsTransport) -> _FastReceive:
        """The fast route of `dtls`'s connection, installed on first use."""
        return one_per_transport(dtls, _FAST_RECEIVE, cls)

    def data_received(self, data: bytes, component: int) -> None:
        dtls = self.dtls
        if (
            len(data) < 12
            or not 127 < data[0] < 192
            or data[1] in _RTCP_TYPES
            or dtls._state is not DTLS_CONNECTED
            or dtls._rx_srtp is None
        ):
            self.queue_datagram(data, component)
            return
        if len(data) > MAX_DATAGRAM:
            self.dropped += 1
            return
        try:
            plain = dtls._rx_srtp.unprotect(data)
            packet = RtpPacket.parse(plain, dtls._rtp_header_extensions_map)
        except (pylibsrtp.Error, ValueError):
            self.dropped += 1
            return
        receiver = dtls._rtp_router.route_rtp(packet)
        tap = self.taps.get(receiver)
        if tap is not None:
            tap.handle_now(packet)
        elif receiver is not None:
            handling = receiver._handle_rtp_packet(packet, arrival_time_ms=clock.current_ms())
            in_background(handling, "receiving RTP")
        else:
            self.dropped += 1


def tap_rtp_packets(
    receiver: RTCRtpReceiver,
    sink: RtpSink,
    reports: SenderReportSink | None = None,
) -> TapCounters:
    """Hand each decrypted RTP packet of `receiver` to `sink` instead of its jitter buffer.

    RTX retransmissions reach `sink` unwrapped, as the packet they repeat; padding
    probes and unknown payload types are dropped. For video, gaps are reported to
    the publisher with NACK. Packets come straight from the socket callback once
    DTLS is up (`_FastReceive`). The publisher's sender reports go to `reports`.
    Must be called before the receiver starts. Returns the tap's drop counters.
    """
    if not callable(getattr(receiver, "_handle_rtp_packet", None)) or not hasattr(
        receiver, _RECEIVER_STARTED
    ):
        raise RuntimeError("aiortc changed: RTCRtpReceiver has no RTP handler to tap")
    if not isinstance(getattr(receiver, _REMOTE_STREAMS, None), dict):
        raise RuntimeError("aiortc changed: RTCRtpReceiver has no stream statistics")
    if getattr(receiver, _RECEIVER_STARTED):
        raise RuntimeError("tap_rtp_packets: the receiver has already started")
    tap = _ReceiveTap(receiver, sink, reports)
    receiver.receive = tap.receive  # type: ignore[method-assign]
    receiver._handle_rtp_packet = tap.handle  # type: ignore[method-assign]
    receiver._handle_rtcp_packet = tap.handle_rtcp  # type: ignore[method-assign]
    return tap.counters


def undeliverable(receiver: RTCRtpReceiver) -> int:
    """Media datagrams the fast route of `receiver`'s connection dropped: oversized,
    failing SRTP or RTP parsing, or for no receiver (an unknown SSRC)."""
    fast = getattr(receiver.transport, _FAST_RECEIVE, None)
    return fast.dropped if isinstance(fast, _FastReceive) else 0


async def send_bitrate_cap(receiver: RTCRtpReceiver, bitrate: int) -> None:
    """Tell the publisher of `receiver`'s stream to send at most `bitrate` bit/s
    (REMB), for the SSRCs it has sent so far; nothing before it has sent any."""
    ssrcs = [ssrc for ssrc in getattr(receiver, _REMOTE_STREAMS) if ssrc]
    rtcp_ssrc = getattr(receiver, "_RTCRtpReceiver__rtcp_ssrc", None)
    if not ssrcs or rtcp_ssrc is None:
        return
    packet = RtcpPsfbPacket(
        fmt=RTCP_PSFB_APP, ssrc=rtcp_ssrc, media_ssrc=0, fci=pack_remb_fci(bitrate, ssrcs)
    )
    await receiver._send_rtcp(packet)


async def request_keyframe(receiver: RTCRtpReceiver, media_ssrc: int) -> None:
    """Send a PLI for `media_ssrc` to the publisher of `receiver`'s stream."""
    await receiver._send_rtcp_pli(media_ssrc)
