"""Packets out to subscribers, and the feedback they send us.

aiortc would read media from each sender's track and packetize, protect and send
it through four coroutines; the forwarder writes packets itself and hears the
subscriber's NACK and PLI/FIR. Internals touched (aiortc>=1.16,<1.17 and the aioice
that comes with it, pinned in pyproject.toml; checked by
tests/media/test_aiortc_packet_hooks.py):

- `RTCRtpSender.send`, `_handle_rtcp_packet`, `_ssrc`, `_rtx_ssrc` and its SR
  figures `__ntp_timestamp`, `__rtp_timestamp`, `__packet_count`, `__octet_count`
  (`forward_through_sender`, `SenderLink`);
- `RTCDtlsTransport._state`, `_tx_srtp` and pylibsrtp's `Session._srtp` handle, with
  libsrtp's `srtp_protect` from pylibsrtp's binding (`_SrtpWriter`; the compiled
  fan-out, media/_fanout.c, calls the same function);
- aioice's nominated candidate pair (`Connection._nominated`, its protocol's
  transport `_sock`), the socket forwarded packets go out on.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any, Protocol

import pylibsrtp
from aiortc import RTCRtpSender, clock
from aiortc.codecs import is_rtx
from aiortc.rtcdtlstransport import RTCDtlsTransport
from aiortc.rtcrtpparameters import RTCRtpSendParameters
from aiortc.rtp import (
    RTCP_PSFB_FIR,
    RTCP_PSFB_PLI,
    RTCP_RTPFB_NACK,
    AnyRtcpPacket,
    RtcpPsfbPacket,
    RtcpRtpfbPacket,
)
from pylibsrtp._binding import ffi as _srtp_ffi
from pylibsrtp._binding import lib as _srtp_lib

from .._fanout import Route
from .dtls import DTLS_CONNECTED, one_per_transport

_SRTP_WRITER = "_peercircle_srtp_writer"
_FIXED_HEADER = struct.Struct("!BBHII")
# The largest RTP packet forwarded, and room for libsrtp's trailer (auth tag, MKI).
_MAX_RTP = 1500
_SRTP_BUFFER = _MAX_RTP + 64
# libsrtp's srtp_protect, from the copy pylibsrtp carries (its sessions live there).
_SRTP_PROTECT = int(_srtp_ffi.cast("uintptr_t", _srtp_ffi.addressof(_srtp_lib, "srtp_protect")))
MID_EXTENSION_URI = "urn:ietf:params:rtp-hdrext:sdes:mid"

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
        if self.dtls._state is not DTLS_CONNECTED:
            for route in self.routes:
                route.close()
            self.routes.clear()

    def _sending_pair(self) -> Any:
        """The nominated candidate pair, if DTLS is up and its socket still open."""
        dtls = self.dtls
        if dtls._state is not DTLS_CONNECTED:
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
        return one_per_transport(dtls, _SRTP_WRITER, cls)

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
        return self._transport._state is DTLS_CONNECTED

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
