"""Every aiortc/aioice internal the lean load generator relies on, in one place.

aiortc does ICE and DTLS for the lean load generator, then gets out of the way:

- senders go through `media.hooks.send.forward_through_sender` (already checked by
  tests/media), so pre-packetized RTP goes out SRTP-protected under the sender's SSRC
  and PLI/FIR from the server reaches us;
- receivers are silenced (`silence_receiver`): packets that arrive before the takeover
  are counted and dropped, never reassembled or decoded;
- once DTLS is up, `FastReceiver` stops the event loop reading the UDP sockets of
  the connection's ICE agent (`pause_reading`) and drains them from one thread per
  process with a non-blocking `recvmsg` loop (kernel arrival stamps): SRTP is
  unprotected there (the receive session is then used by that thread only), RTP goes
  to a counter and never touches the event loop, RTCP, STUN and DTLS are handed back
  to the loop. That costs a few microseconds per packet instead of the tens asyncio
  and aiortc's receive path cost.

`check_internals` fails loudly when aiortc or aioice move what we reach for.
"""

from __future__ import annotations

import asyncio
import logging
import os
import select
import socket
import struct
import threading
import time
from collections.abc import Callable
from typing import Any, cast

import pylibsrtp
from aiortc import RTCPeerConnection, RTCRtpReceiver
from aiortc.rtcdtlstransport import RTCDtlsTransport

log = logging.getLogger(__name__)

RtpCounter = Callable[[int, bytes, int], None]
"""Called in the reader thread with (slot, decrypted RTP packet, arrival ns): the
kernel's CLOCK_REALTIME stamp of the datagram, so our own reading lag does not count."""
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)  # Linux; SCM_TIMESTAMPNS is the same
TIMESPEC = struct.Struct("@qq")


def check_internals(pc: RTCPeerConnection) -> None:
    """Raise if aiortc/aioice no longer have what `FastReceiver.take_over` uses."""
    for transceiver in pc.getTransceivers():
        dtls = transceiver.receiver.transport
        for name in ("_rx_srtp", "_handle_rtcp_data", "transport"):
            if not hasattr(dtls, name):
                raise RuntimeError(f"aiortc changed: RTCDtlsTransport has no {name}")
        if not hasattr(dtls.transport, "_connection"):
            raise RuntimeError("aiortc changed: RTCIceTransport has no _connection")
        for name in ("_nominated", "_protocols", "_queue"):
            if not hasattr(dtls.transport._connection, name):
                raise RuntimeError(f"aioice changed: Connection has no {name}")
        if not callable(getattr(transceiver.receiver, "_handle_rtp_packet", None)):
            raise RuntimeError("aiortc changed: RTCRtpReceiver has no _handle_rtp_packet")


def silence_receiver(receiver: RTCRtpReceiver, early: list[int]) -> None:
    """Count (in `early[0]`) and drop what reaches the receiver through aiortc."""

    async def drop(packet: Any, arrival_time_ms: int) -> None:
        early[0] += 1

    receiver._handle_rtp_packet = drop  # type: ignore[method-assign]


def dtls_transport(pc: RTCPeerConnection) -> RTCDtlsTransport:
    """The connection's one DTLS transport (max-bundle)."""
    transports = {id(t.receiver.transport): t.receiver.transport for t in pc.getTransceivers()}
    if len(transports) != 1:
        raise RuntimeError(f"expected one bundled transport, found {len(transports)}")
    return next(iter(transports.values()))


class _Taken:
    """One socket the reader thread drains."""

    def __init__(
        self, slot: int, sock: socket.socket, protocol: Any, dtls: RTCDtlsTransport
    ) -> None:
        self.slot = slot
        self.sock = sock
        self.protocol = protocol
        self.dtls = dtls
        self.rx: pylibsrtp.Session = dtls._rx_srtp


class FastReceiver:
    """Reads the media sockets of this process's peer connections in one thread."""

    def __init__(self, count: RtpCounter) -> None:
        self._count = count
        self._loop = asyncio.get_running_loop()
        self._poll = select.poll()
        self._taken: dict[int, _Taken] = {}
        self._lock = threading.Lock()
        self._stop = False
        self.unprotect_errors = 0
        self.rtcp = 0
        self.packets = 0
        self._tasks: set[asyncio.Future[None]] = set()
        self._thread = threading.Thread(target=self._run, name="fast-receiver", daemon=True)
        self._thread.start()

    async def take_over(self, slot: int, pc: RTCPeerConnection) -> None:
        """From now on, read `pc`'s nominated socket here; `slot` tags its packets."""
        check_internals(pc)
        dtls = dtls_transport(pc)
        if dtls.state != "connected":
            raise RuntimeError("take_over: DTLS is not connected yet")
        connection = dtls.transport._connection
        if not connection._nominated:
            raise RuntimeError("take_over: no nominated candidate pair")
        # Every local socket, not only the nominated pair's: which one the far side
        # sends to is its choice.
        protocols = list(connection._protocols)
        for protocol in protocols:
            # Selector datagram transports can pause; typeshed does not say so.
            cast(Any, protocol.transport).pause_reading()
        # Let aiortc finish what it already queued, so the SRTP session has one user.
        while not connection._queue.empty():  # noqa: ASYNC110 (aioice's queue, no event)
            await asyncio.sleep(0.001)
        await asyncio.sleep(0.01)
        for protocol in protocols:
            fd = os.dup(protocol.transport.get_extra_info("socket").fileno())
            sock = socket.socket(fileno=fd)
            sock.setblocking(False)
            sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            with self._lock:
                self._taken[fd] = _Taken(slot, sock, protocol, dtls)
                self._poll.register(fd, select.POLLIN)

    def _run(self) -> None:
        while not self._stop:
            for fd, _event in self._poll.poll(100):
                with self._lock:
                    taken = self._taken.get(fd)
                if taken is not None:
                    self._drain(taken)

    def _drain(self, taken: _Taken) -> None:
        count, slot, rx = self._count, taken.slot, taken.rx
        while True:
            try:
                data, ancillary, _flags, addr = taken.sock.recvmsg(2048, 64)
            except BlockingIOError:
                return
            except OSError:
                return
            first = data[0] if data else 0
            if 127 < first < 192 and len(data) > 12:
                try:
                    if 191 < data[1] < 224:
                        plain = rx.unprotect_rtcp(data)
                        self.rtcp += 1
                        self._loop.call_soon_threadsafe(self._rtcp, taken.dtls, plain)
                    else:
                        plain = rx.unprotect(data)
                        self.packets += 1
                        arrival = time.time_ns()
                        for level, kind, value in ancillary:
                            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                                seconds, nanoseconds = TIMESPEC.unpack_from(value)
                                arrival = seconds * 1_000_000_000 + nanoseconds
                        count(slot, plain, arrival)
                except pylibsrtp.Error:
                    self.unprotect_errors += 1
            else:  # STUN (consent checks), DTLS: aioice and aiortc handle them
                self._loop.call_soon_threadsafe(taken.protocol.datagram_received, data, addr)

    def _rtcp(self, dtls: RTCDtlsTransport, plain: bytes) -> None:
        task = asyncio.ensure_future(dtls._handle_rtcp_data(plain))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def stop(self) -> None:
        """Stop the thread (sockets stay open; their peer connections own them)."""
        self._stop = True
        self._thread.join(1.0)
        with self._lock:
            for fd, taken in self._taken.items():
                self._poll.unregister(fd)
                taken.sock.close()
            self._taken.clear()
