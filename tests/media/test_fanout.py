"""The compiled forward loop (media/_fanout.c) against real SRTP sessions and sockets."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator

import pylibsrtp
import pytest
from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpParameters
from aiortc.rtp import HeaderExtensionsMap, RtpPacket
from pylibsrtp._binding import ffi

from media._fanout import CACHE_PACKETS, Route, forward
from media.hooks.send import _SRTP_PROTECT
from media.rtp_wire import one_byte_extensions

MID_URI = "urn:ietf:params:rtp-hdrext:sdes:mid"
KEY = bytes(range(30))
SSRC = 0x0BADCAFE


class Subscriber:
    """A UDP socket and the inbound SRTP session that matches the route's outbound one."""

    def __init__(self) -> None:
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.bind(("127.0.0.1", 0))
        self.socket.settimeout(2)
        self.session = pylibsrtp.Session(
            pylibsrtp.Policy(key=KEY, ssrc_type=pylibsrtp.Policy.SSRC_ANY_INBOUND)
        )
        self.extensions = HeaderExtensionsMap()
        self.extensions.configure(
            RTCRtpParameters(headerExtensions=[RTCRtpHeaderExtensionParameters(id=4, uri=MID_URI)])
        )

    def receive(self) -> RtpPacket:
        data = self.socket.recv(2048)
        return RtpPacket.parse(self.session.unprotect(data), self.extensions)

    def nothing_more(self) -> bool:
        self.socket.settimeout(0.2)
        try:
            self.socket.recv(2048)
        except TimeoutError:
            return True
        return False


@pytest.fixture
def subscriber() -> Iterator[Subscriber]:
    sub = Subscriber()
    yield sub
    sub.socket.close()


@pytest.fixture
def sender() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    yield sock
    sock.close()


def make_route(sender: socket.socket, subscriber: Subscriber, payload_type: int = 96) -> Route:
    outbound = pylibsrtp.Session(
        pylibsrtp.Policy(key=KEY, ssrc_type=pylibsrtp.Policy.SSRC_ANY_OUTBOUND)
    )
    host, port = subscriber.socket.getsockname()
    return Route(
        sender.fileno(),
        host,
        port,
        int(ffi.cast("uintptr_t", outbound._srtp[0])),
        _SRTP_PROTECT,
        outbound,
        payload_type,
        SSRC,
        one_byte_extensions([(4, b"7")]),
    )


def test_a_route_sends_the_packet_rewritten_and_protected(
    sender: socket.socket, subscriber: Subscriber
) -> None:
    route = make_route(sender, subscriber, payload_type=100)
    route.set_offsets(1000, 0x10)
    payload = os.urandom(1100)
    assert forward([route], payload, 65000, 0xFFFFFFF8, 1, 1, 5.0) == 1
    packet = subscriber.receive()
    assert packet.payload_type == 100 and packet.marker == 1 and packet.ssrc == SSRC
    assert packet.sequence_number == (65000 + 1000) & 0xFFFF  # wraps
    assert packet.timestamp == (0xFFFFFFF8 + 0x10) & 0xFFFFFFFF
    assert packet.extensions.mid == "7"
    assert packet.payload == payload
    assert (route.packets, route.octets, route.frames, route.failures) == (1, 1100, 1, 0)
    assert route.last == (((65000 + 1000) & 0xFFFF), 8, 0xFFFFFFF8, 5.0)


def test_one_packet_goes_to_every_route_with_its_own_numbering(
    sender: socket.socket,
) -> None:
    subscribers = [Subscriber() for _ in range(3)]
    routes = [make_route(sender, sub) for sub in subscribers]
    for n, route in enumerate(routes):
        route.set_offsets(n * 100, n * 1000)
    assert forward(routes, b"\x10abc", 1, 2, 0, 0, 0.0) == 3
    for n, sub in enumerate(subscribers):
        packet = sub.receive()
        assert (packet.sequence_number, packet.timestamp) == (1 + n * 100, 2 + n * 1000)
        assert packet.payload == b"\x10abc"
        sub.socket.close()


def test_the_cache_keeps_what_was_sent_and_a_duplicate_is_not_sent_again(
    sender: socket.socket, subscriber: Subscriber
) -> None:
    route = make_route(sender, subscriber)
    assert forward([route], b"first", 10, 900, 1, 1, 0.0) == 1
    assert route.cached(10) == (900, 1, b"first")
    assert route.cached(11) is None
    # The same source packet again (a late retransmission): not sent twice.
    assert forward([route], b"first", 10, 900, 1, 1, 0.0) == 0
    subscriber.receive()
    assert subscriber.nothing_more()
    # The ring holds CACHE_PACKETS: a packet that many later evicts it.
    assert forward([route], b"later", 10 + CACHE_PACKETS, 901, 0, 0, 0.0) == 1
    assert route.cached(10) is None
    assert route.cached(10 + CACHE_PACKETS) == (901, 0, b"later")


def test_a_closed_route_sends_nothing(sender: socket.socket, subscriber: Subscriber) -> None:
    route = make_route(sender, subscriber)
    route.close()
    route.close()
    assert route.closed
    assert forward([route], b"x", 1, 1, 0, 0, 0.0) == 0
    assert subscriber.nothing_more()


def test_the_route_keeps_its_own_descriptor(subscriber: Subscriber) -> None:
    # aioice may close its socket before the route hears the transport went down: the
    # route's duplicate keeps the socket, so a descriptor number reused meanwhile by
    # another socket is never written to.
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    route = make_route(sock, subscriber)
    sock.close()
    assert forward([route], b"still", 1, 1, 0, 0, 0.0) == 1
    assert subscriber.receive().payload == b"still"
    route.close()


def test_an_oversized_packet_is_counted_and_not_sent(
    sender: socket.socket, subscriber: Subscriber
) -> None:
    route = make_route(sender, subscriber)
    assert forward([route], b"x" * 1490, 1, 1, 0, 0, 0.0) == 0
    assert route.failures == 1 and route.packets == 0
    assert subscriber.nothing_more()


def test_fault_injection_loses_every_nth_packet_but_caches_it(
    sender: socket.socket, subscriber: Subscriber
) -> None:
    route = make_route(sender, subscriber)
    route.drop_every = 3
    for seq in range(1, 7):
        forward([route], bytes([seq]), seq, seq, 0, 0, 0.0)
    received = [subscriber.receive().sequence_number for _ in range(4)]
    assert received == [1, 2, 4, 5] and subscriber.nothing_more()
    assert route.faults == 2 and route.packets == 6
    assert route.cached(3) == (3, 0, bytes([3])) and route.cached(6) == (6, 0, bytes([6]))


def test_the_newest_packet_is_what_the_route_remembers(
    sender: socket.socket, subscriber: Subscriber
) -> None:
    route = make_route(sender, subscriber)
    route.set_offsets(0, 0)
    forward([route], b"a", 0xFFFF, 100, 0, 0, 1.0)
    forward([route], b"b", 0, 200, 0, 0, 2.0)  # after the wrap: newer
    forward([route], b"c", 0xFFFE, 50, 0, 0, 3.0)  # late: older
    assert route.last == (0, 200, 200, 2.0)


def test_bad_arguments_are_refused(sender: socket.socket, subscriber: Subscriber) -> None:
    route = make_route(sender, subscriber)
    with pytest.raises(TypeError):
        forward([object()], b"x", 1, 1, 0, 0, 0.0)  # type: ignore[list-item]
    with pytest.raises(TypeError):
        forward([route], bytearray(b"x"), 1, 1, 0, 0, 0.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Route(sender.fileno(), "not an address", 1, 1, 1, None, 96, 1, b"")
    with pytest.raises(ValueError):
        Route(sender.fileno(), "127.0.0.1", 1, 1, 1, None, 96, 1, b"x" * 65)
