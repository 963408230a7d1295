"""Every reliance on aiortc and aioice internals, in one place.

aiortc decodes whatever its receivers get and encodes whatever its senders are
given. An SFU must do neither, so we reach into these spots:

- a receiver's RTP handler and `receive()`, to take each decrypted RTP packet (and
  its negotiated codecs) before the jitter buffer; and its NACK/PLI senders, to ask
  the publisher for lost packets and keyframes (`tap_rtp_packets`, `request_keyframe`);
- the aioice connection's datagram callback and the DTLS transport's SRTP session,
  header-extension map and RTP router, to decrypt and route media packets as they
  arrive instead of through aiortc's queue and coroutines (`_FastReceive`);
- a sender's `send()`, RTCP handler, SR figures, its DTLS transport's state and SRTP
  session, and the nominated ICE pair's socket,
  so forwarded packets go out under the sender's SSRC and the subscriber's feedback
  (NACK, PLI/FIR) reaches the forwarder (`forward_through_sender`, `SenderLink`);
- a receiver's decoder queue, to take each reassembled *encoded* frame (after the
  jitter buffer, before the decoder): the mic tap and the test clients use it;
- a sender's keyframe flag, set when the far side sends PLI/FIR (test clients);
- a sender's stream id, which its m-line's `a=msid` carries (`set_stream_id`);
- aioice's host-address discovery, to offer 127.0.0.1 (tests and one-machine demos).

`tests/media/test_aiortc_hooks.py` checks each of these against the installed aiortc
and fails loudly when an upgrade moves them. pyproject pins aiortc to 1.16.x.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import struct
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import aioice.ice
import pylibsrtp
from aiortc import RTCRtpReceiver, RTCRtpSender, clock
from aiortc.codecs import is_rtx, vpx
from aiortc.rtcdtlstransport import RTCDtlsTransport
from aiortc.rtcdtlstransport import State as DtlsState
from aiortc.rtcrtpparameters import (
    RTCRtpCodecParameters,
    RTCRtpReceiveParameters,
    RTCRtpSendParameters,
)
from aiortc.rtcrtpreceiver import NackGenerator, StreamStatistics
from aiortc.rtp import (
    RTCP_PSFB_APP,
    RTCP_PSFB_FIR,
    RTCP_PSFB_PLI,
    RTCP_RTPFB_NACK,
    AnyRtcpPacket,
    RtcpPsfbPacket,
    RtcpRtpfbPacket,
    RtcpSrPacket,
    RtpPacket,
    pack_remb_fci,
    unwrap_rtx,
)
from pylibsrtp._binding import ffi as _srtp_ffi
from pylibsrtp._binding import lib as _srtp_lib

from ._fanout import Route

EncodedFrameSink = Callable[[bytes, int], None]
"""Called on the event loop with (frame bytes, media timestamp) for each reassembled frame."""

log = logging.getLogger(__name__)

_DECODER_QUEUE = "_RTCRtpReceiver__decoder_queue"
_FORCE_KEYFRAME = "_RTCRtpSender__force_keyframe"


class _TapQueue:
    """Stands in for a receiver's decoder queue and diverts frames to a sink.

    aiortc's decoder thread blocks on `get()`; it only ever sees the stop marker
    (None), unless decoding is wanted too, so no video is ever decoded.
    """

    def __init__(self, sink: EncodedFrameSink, keep_decoding: bool) -> None:
        self._sink = sink
        self._keep_decoding = keep_decoding
        self._to_decoder: queue.Queue[Any] = queue.Queue()

    def put(self, task: tuple[RTCRtpCodecParameters, Any] | None) -> None:
        if task is None:
            self._to_decoder.put(None)
            return
        _codec, frame = task
        self._sink(frame.data, frame.timestamp)
        if self._keep_decoding:
            self._to_decoder.put(task)

    def get(self) -> Any:
        return self._to_decoder.get()


def tap_encoded_frames(
    receiver: RTCRtpReceiver, sink: EncodedFrameSink, keep_decoding: bool = False
) -> None:
    """Send each encoded frame the receiver reassembles to `sink` instead of its decoder.

    Must be called before the receiver starts (before the answer is applied).
    """
    current = getattr(receiver, _DECODER_QUEUE, None)
    if not isinstance(current, queue.Queue | _TapQueue):
        raise RuntimeError("aiortc changed: RTCRtpReceiver has no decoder queue to tap")
    if getattr(receiver, "_RTCRtpReceiver__decoder_thread", None) is not None:
        raise RuntimeError("tap_encoded_frames: the receiver has already started")
    setattr(receiver, _DECODER_QUEUE, _TapQueue(sink, keep_decoding))


def take_keyframe_request(sender: RTCRtpSender) -> bool:
    """Whether the subscriber asked for a keyframe (PLI/FIR) since the last call."""
    if not hasattr(sender, _FORCE_KEYFRAME):
        raise RuntimeError("aiortc changed: RTCRtpSender has no keyframe flag")
    wanted = bool(getattr(sender, _FORCE_KEYFRAME))
    if wanted:
        setattr(sender, _FORCE_KEYFRAME, False)
    return wanted


def set_stream_id(sender: RTCRtpSender, stream_id: str) -> None:
    """The MediaStream id the next offer gives `sender`'s track (`a=msid`).

    aiortc gives every sender of a connection the same one. A browser keeps audio
    and video of one stream in sync (lip sync), so each publisher's tracks must
    share a stream of their own on every subscriber.
    """
    if not isinstance(getattr(sender, "_stream_id", None), str):
        raise RuntimeError("aiortc changed: RTCRtpSender has no stream id")
    if not stream_id or any(c.isspace() for c in stream_id):
        raise ValueError(f"not a stream id: {stream_id!r}")
    sender._stream_id = stream_id


_original_host_addresses = aioice.ice.get_host_addresses


def offer_loopback_candidates(enabled: bool) -> None:
    """Make aioice offer 127.0.0.1 as a host candidate (it skips loopback by default)."""

    def with_loopback(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        addresses = _original_host_addresses(use_ipv4=use_ipv4, use_ipv6=use_ipv6)
        if use_ipv4 and "127.0.0.1" not in addresses:
            addresses.append("127.0.0.1")
        return addresses

    aioice.ice.get_host_addresses = with_loopback if enabled else _original_host_addresses


@dataclass
class CodecCounters:
    """How often this process encoded or decoded video; an SFU should keep both at zero."""

    video_encodes: int = 0
    video_decodes: int = 0


_counters: CodecCounters | None = None
_counters_lock = threading.Lock()


def count_video_codec_use() -> CodecCounters:
    """Count every VP8 encode and decode aiortc does in this process (installed once)."""
    global _counters
    with _counters_lock:
        if _counters is not None:
            return _counters
        counters = CodecCounters()
        encode = vpx.Vp8Encoder.encode
        decode = vpx.Vp8Decoder.decode

        def counted_encode(self: Any, frame: Any, force_keyframe: bool = False) -> Any:
            counters.video_encodes += 1
            return encode(self, frame, force_keyframe)

        def counted_decode(self: Any, encoded_frame: Any) -> Any:
            counters.video_decodes += 1
            return decode(self, encoded_frame)

        vpx.Vp8Encoder.encode = counted_encode  # type: ignore[method-assign]
        vpx.Vp8Decoder.decode = counted_decode  # type: ignore[method-assign]
        _counters = counters
        return counters


# -- packet level: publishers --------------------------------------------------------

RtpSink = Callable[[RtpPacket], None]
"""Called on the event loop with each decrypted RTP packet of the primary codec."""

SenderReportSink = Callable[[int, int, int], None]
"""Called with (SSRC, NTP time, RTP timestamp) of each sender report (SR) a publisher sends."""

_RECEIVER_STARTED = "_RTCRtpReceiver__started"
_REMOTE_STREAMS = "_RTCRtpReceiver__remote_streams"
_DTLS_CONNECTED = DtlsState.CONNECTED
_FAST_RECEIVE = "_peercircle_fast_receive"
_SRTP_WRITER = "_peercircle_srtp_writer"
_FIXED_HEADER = struct.Struct("!BBHII")
# The largest RTP packet forwarded, and room for libsrtp's trailer (auth tag, MKI).
_MAX_RTP = 1500
_SRTP_BUFFER = _MAX_RTP + 64
# libsrtp's srtp_protect, from the copy pylibsrtp carries (its sessions live there).
_SRTP_PROTECT = int(_srtp_ffi.cast("uintptr_t", _srtp_ffi.addressof(_srtp_lib, "srtp_protect")))
MID_EXTENSION_URI = "urn:ietf:params:rtp-hdrext:sdes:mid"
# Packets a second and burst size a publisher's stream may send; beyond, they are
# dropped and counted. Opus sends 50 a second; 2.5 Mbit/s of screen share in
# 1,200-byte packets is about 260, and a keyframe comes in a burst of a hundred or so.
PACKET_BUDGET = {"audio": (200.0, 100.0), "video": (1000.0, 600.0)}
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


class PacketBudget:
    """A token bucket of packets: `rate` a second, bursts of up to `burst`.

    A publisher's stream past its budget (a flood, or a client gone wrong) is cut
    down to it at the door, before it costs a fan-out to every subscriber.
    """

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = burst
        self._tokens = burst
        self._at = 0.0

    def take(self, now: float) -> bool:
        """Whether one more packet fits, at monotonic time `now`."""
        tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now
        if tokens < 1.0:
            self._tokens = tokens
            return False
        self._tokens = tokens - 1.0
        return True


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


_T = TypeVar("_T")


def _one_per_transport(
    dtls: RTCDtlsTransport, name: str, make: Callable[[RTCDtlsTransport], _T]
) -> _T:
    """The object kept on `dtls` under `name`, made by `make` on first use."""
    found: _T | None = getattr(dtls, name, None)
    if found is None:
        found = make(dtls)
        setattr(dtls, name, found)
    return found


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
        return _one_per_transport(dtls, _FAST_RECEIVE, cls)

    def data_received(self, data: bytes, component: int) -> None:
        dtls = self.dtls
        if (
            len(data) < 12
            or not 127 < data[0] < 192
            or data[1] in _RTCP_TYPES
            or dtls._state is not _DTLS_CONNECTED
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


def in_background(work: Awaitable[None], what: str) -> None:
    """Run `work` (an RTCP send, a keyframe request) without waiting for it; a failure
    is logged at debug level: the stream goes on, and the next report or request
    tries again."""

    def done(task: asyncio.Future[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.debug("%s failed: %r", what, task.exception())

    asyncio.ensure_future(work).add_done_callback(done)


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


# -- packet level: subscribers --------------------------------------------------------

_SENDER_FIGURES = (
    "_RTCRtpSender__ntp_timestamp",
    "_RTCRtpSender__rtp_timestamp",
    "_RTCRtpSender__packet_count",
    "_RTCRtpSender__octet_count",
)


@dataclass(frozen=True)
class SendParameters:
    """What a subscriber's answer fixed for one sender: the header fields we must write."""

    ssrc: int
    rtx_ssrc: int
    payload_type: int
    rtx_payload_type: int | None
    clock_rate: int
    mid: str | None
    mid_extension_id: int | None


class _SrtpWriter:
    """Writes RTP packets straight into a buffer of libsrtp's, protects them there with
    one DTLS transport's outbound SRTP session and sends them on the nominated ICE
    pair's socket: one copy of the payload, no intermediate packets, no coroutines.

    pylibsrtp's `protect` would copy the packet in, the result out, and allocate on
    each call; the session's own libsrtp handle is used through pylibsrtp's binding.
    """

    def __init__(self, dtls: RTCDtlsTransport) -> None:
        self.dtls = dtls
        self.session: pylibsrtp.Session | None = None
        self.handle: Any = None
        self.cdata = _srtp_ffi.new("char[]", _SRTP_BUFFER)
        self.buffer = _srtp_ffi.buffer(self.cdata)
        self.length = _srtp_ffi.new("int *")
        self.failures = 0
        self.routes: list[Route] = []
        dtls.on("statechange", self._state_changed)

    def _state_changed(self) -> None:
        if self.dtls._state is not _DTLS_CONNECTED:
            for route in self.routes:
                route.close()
            self.routes.clear()

    def _sending_pair(self) -> Any:
        """The nominated candidate pair, if DTLS is up and its socket still open."""
        dtls = self.dtls
        if dtls._state is not _DTLS_CONNECTED:
            return None
        pair = dtls.transport._connection._nominated.get(1)
        if pair is None or pair.protocol.transport is None:
            return None
        return pair

    def open_route(self, payload_type: int, ssrc: int, extensions: bytes) -> Route | None:
        """A route for the compiled fan-out (media/_fanout.c) over this transport, or
        None unless DTLS is up with a nominated pair. It is closed (sends nothing
        more) when the transport leaves the connected state."""
        pair = self._sending_pair()
        if pair is None:
            return None
        session = self.dtls._tx_srtp
        route = Route(
            pair.protocol.transport._sock.fileno(),
            pair.remote_addr[0],
            pair.remote_addr[1],
            int(_srtp_ffi.cast("uintptr_t", session._srtp[0])),
            _SRTP_PROTECT,
            session,
            payload_type,
            ssrc,
            extensions,
        )
        self.routes.append(route)
        return route

    @classmethod
    def of(cls, dtls: RTCDtlsTransport) -> _SrtpWriter:
        """The writer of `dtls`, made on first use (its senders share it)."""
        return _one_per_transport(dtls, _SRTP_WRITER, cls)

    def write(
        self,
        marker_and_type: int,
        sequence_number: int,
        timestamp: int,
        ssrc: int,
        extensions: bytes,
        payload: bytes,
    ) -> bool:
        """Send one RTP packet (`extensions`: an RFC 8285 block, or b""); False if it
        could not go out: DTLS down, no nominated pair, SRTP refusing it (a repeated
        sequence number), or a full socket buffer (dropped, never queued)."""
        pair = self._sending_pair()
        if pair is None:
            return False
        session = self.dtls._tx_srtp
        if session is not self.session:
            self.session = session
            self.handle = session._srtp[0]
        header = len(extensions) + 12
        end = header + len(payload)
        if end > _MAX_RTP:
            self.failures += 1
            return False
        buffer = self.buffer
        _FIXED_HEADER.pack_into(
            buffer,
            0,
            0x90 if extensions else 0x80,
            marker_and_type,
            sequence_number,
            timestamp,
            ssrc,
        )
        buffer[12:header] = extensions
        buffer[header:end] = payload
        length = self.length
        length[0] = end
        if _srtp_lib.srtp_protect(self.handle, self.cdata, length) != 0:
            self.failures += 1
            return False
        try:
            pair.protocol.transport._sock.sendto(buffer[0 : length[0]], pair.remote_addr)
        except OSError:
            self.failures += 1
            return False
        return True


class SenderLink:
    """Sends forwarded RTP through one aiortc sender's DTLS transport (SRTP-protected
    with the subscriber's keys) and keeps the figures its sender reports (SR) carry.

    `send` is synchronous (`_SrtpWriter`): it skips the four coroutines (DTLS, ICE
    transport, aioice connection, aioice protocol) aiortc's own send goes through
    for each packet. The DTLS transport's byte and packet counters (its getStats
    figures) therefore leave out forwarded media.
    """

    def __init__(self, sender: RTCRtpSender) -> None:
        self._sender = sender
        self._transport = sender.transport
        self._writer = _SrtpWriter.of(sender.transport)
        self.packets = 0
        self.octets = 0

    @property
    def connected(self) -> bool:
        """Whether packets can go out (DTLS up, SRTP keys ready)."""
        return self._transport._state is _DTLS_CONNECTED

    def send(
        self,
        payload_type: int,
        marker: int,
        sequence_number: int,
        timestamp: int,
        ssrc: int,
        extensions: bytes,
        payload: bytes,
    ) -> bool:
        """Protect and send one RTP packet now; False if it could not go out.

        SRTP refuses to protect a sequence number twice (its replay check runs on
        the sending side too); that, a transport not (or no longer) connected, no
        nominated candidate pair, or a full socket buffer drops the packet.
        """
        return self._writer.write(
            (marker << 7) | payload_type, sequence_number, timestamp, ssrc, extensions, payload
        )

    def open_route(self, payload_type: int, ssrc: int, extensions: bytes) -> Route | None:
        """A route to this subscriber for the compiled fan-out (`_SrtpWriter.open_route`)."""
        return self._writer.open_route(payload_type, ssrc, extensions)

    def report(self, rtp_timestamp: int, ntp_time: int, packets: int, octets: int) -> None:
        """What the sender's next SR says: media time `rtp_timestamp` is wall-clock
        time `ntp_time`, after `packets` packets of `octets` payload octets."""
        self.packets = packets
        self.octets = octets
        sender = self._sender
        sender._RTCRtpSender__ntp_timestamp = ntp_time  # type: ignore[attr-defined]
        sender._RTCRtpSender__rtp_timestamp = rtp_timestamp  # type: ignore[attr-defined]
        sender._RTCRtpSender__packet_count = packets  # type: ignore[attr-defined]
        sender._RTCRtpSender__octet_count = octets  # type: ignore[attr-defined]

    def sent(self, rtp_timestamp: int, payload_size: int, ntp_time: int | None = None) -> None:
        """Count a media packet for the sender's next SR: `ntp_time` (by default now)
        is the wall-clock time of `rtp_timestamp`."""
        self.report(
            rtp_timestamp,
            clock.current_ntp_time() if ntp_time is None else ntp_time,
            self.packets + 1,
            self.octets + payload_size,
        )


class SubscriberFeedback(Protocol):
    """What a forwarding slot hears from its aiortc sender."""

    def sender_started(self, parameters: SendParameters, link: SenderLink) -> None:
        """The subscriber's answer is applied and DTLS is up: packets may flow."""

    async def retransmit(self, sequence_numbers: list[int]) -> None:
        """The subscriber lost these (outgoing) sequence numbers (NACK)."""

    def keyframe_requested(self) -> None:
        """The subscriber sent PLI or FIR."""


def _send_parameters(sender: RTCRtpSender, parameters: RTCRtpSendParameters) -> SendParameters:
    codec = parameters.codecs[0]
    if codec.payloadType is None:
        raise ValueError("the negotiated codec has no payload type")
    rtx = next(
        (
            c.payloadType
            for c in parameters.codecs
            if is_rtx(c) and c.parameters.get("apt") == codec.payloadType
        ),
        None,
    )
    mid_id = next((e.id for e in parameters.headerExtensions if e.uri == MID_EXTENSION_URI), None)
    return SendParameters(
        ssrc=sender._ssrc,
        rtx_ssrc=sender._rtx_ssrc,
        payload_type=codec.payloadType,
        rtx_payload_type=rtx,
        clock_rate=codec.clockRate,
        mid=parameters.muxId or None,
        mid_extension_id=mid_id,
    )


def forward_through_sender(sender: RTCRtpSender, feedback: SubscriberFeedback) -> None:
    """Let `feedback` send through `sender` and hear its subscriber's NACK and PLI/FIR.

    aiortc still negotiates the sender, routes RTCP to it by SSRC and sends its
    SR/SDES (with the figures `SenderLink.sent` keeps); its track is never read for
    media. Must be called before the sender starts.
    """
    for name in (*_SENDER_FIGURES, "_ssrc", "_rtx_ssrc", "_handle_rtcp_packet"):
        if not hasattr(sender, name):
            raise RuntimeError(f"aiortc changed: RTCRtpSender has no {name}")
    original_send = sender.send
    original_rtcp = sender._handle_rtcp_packet
    started: list[bool] = []

    async def send(parameters: RTCRtpSendParameters) -> None:
        await original_send(parameters)
        if not started:
            started.append(True)
            feedback.sender_started(_send_parameters(sender, parameters), SenderLink(sender))

    async def handle_rtcp(packet: AnyRtcpPacket) -> None:
        if isinstance(packet, RtcpRtpfbPacket) and packet.fmt == RTCP_RTPFB_NACK:
            await feedback.retransmit(list(packet.lost))
        elif isinstance(packet, RtcpPsfbPacket) and packet.fmt in (RTCP_PSFB_PLI, RTCP_PSFB_FIR):
            feedback.keyframe_requested()
        else:
            await original_rtcp(packet)

    sender.send = send  # type: ignore[method-assign]
    sender._handle_rtcp_packet = handle_rtcp  # type: ignore[method-assign]
