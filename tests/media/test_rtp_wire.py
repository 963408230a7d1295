"""The forward path's wire format: rewritten packets parse as what we meant, keyframe
starts are found in every VP8 payload descriptor layout, the NACK cache, and the
mapping of media time through a publisher's sender report."""

from __future__ import annotations

import fractions

import av
import pytest
from aiortc.codecs import vpx
from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpParameters
from aiortc.rtp import HeaderExtensionsMap, RtpPacket

from media.packet_cache import ResendTimes
from media.published_track import PublishedTrack
from media.rtp_wire import (
    one_byte_extensions,
    rtp_packet,
    rtx_payload,
    seq_newer,
    vp8_keyframe_start,
)
from tests.media.test_aiortc_hooks import vp8_clip

MID_URI = "urn:ietf:params:rtp-hdrext:sdes:mid"
KEY, DELTA = 0x00, 0x01  # the P bit of a VP8 frame tag


def test_a_rewritten_packet_parses_with_the_fields_we_wrote() -> None:
    extensions_map = HeaderExtensionsMap()
    extensions_map.configure(
        RTCRtpParameters(headerExtensions=[RTCRtpHeaderExtensionParameters(id=3, uri=MID_URI)])
    )
    data = rtp_packet(
        payload_type=97,
        marker=1,
        sequence_number=65535,
        timestamp=0xFFFFFFFF,
        ssrc=0x12345678,
        extensions=one_byte_extensions([(3, b"12")]),
        payload=b"payload",
    )
    packet = RtpPacket.parse(data, extensions_map)
    assert (packet.payload_type, packet.marker, packet.sequence_number) == (97, 1, 65535)
    assert (packet.timestamp, packet.ssrc, packet.payload) == (0xFFFFFFFF, 0x12345678, b"payload")
    assert packet.extensions.mid == "12"

    plain = RtpPacket.parse(rtp_packet(111, 0, 1, 2, 3, b"", b"x"))
    assert (plain.payload_type, plain.marker, plain.payload) == (111, 0, b"x")


def test_extension_blocks_are_padded_to_words() -> None:
    block = one_byte_extensions([(1, b"0")])
    assert block == b"\xbe\xde\x00\x01" + b"\x10" + b"0" + b"\x00\x00"
    assert len(one_byte_extensions([(1, b"abcd")])) == 4 + 8
    assert one_byte_extensions([]) == b""


def test_rtx_payload_starts_with_the_original_sequence_number() -> None:
    assert rtx_payload(0x0102, b"abc") == b"\x01\x02abc"


@pytest.mark.parametrize(
    ("descriptor", "expected"),
    [
        (b"\x10", True),  # S=1, PID=0, no extension
        (b"\x00", False),  # not the start of a partition
        (b"\x11", False),  # start of partition 1
        (b"\x90\x80\x05", True),  # X, I with a 7-bit picture id
        (b"\x90\x80\x80\x05", True),  # X, I with a 15-bit picture id
        (b"\x90\xc0\x80\x05\x07", True),  # X, I (15 bits), L
        (b"\x90\xf0\x05\x07\x20", True),  # X, I (7 bits), L, T/K
        (b"\x90\x10\x20", True),  # X, K only
    ],
)
def test_vp8_keyframe_start_reads_every_descriptor_layout(
    descriptor: bytes, expected: bool
) -> None:
    assert vp8_keyframe_start(descriptor + bytes([KEY, 0x9D, 0x01, 0x2A])) is expected
    assert vp8_keyframe_start(descriptor + bytes([DELTA, 0x00, 0x00])) is False


def test_vp8_keyframe_start_refuses_truncated_payloads() -> None:
    for truncated in (b"", b"\x10", b"\x90", b"\x90\x80", b"\x90\x80\x80"):
        assert vp8_keyframe_start(truncated) is False


def test_vp8_keyframe_start_on_aiortcs_own_packetization() -> None:
    # What an aiortc publisher sends (browsers use the same descriptor fields).
    encoder = vpx.Vp8Encoder()
    first: list[bool] = []
    for n, frame in enumerate(vp8_clip(frames=5)):
        packet = av.Packet(frame)
        packet.pts, packet.time_base = n * 3000, fractions.Fraction(1, 90_000)
        payloads, _timestamp = encoder.pack(packet)
        first.append(vp8_keyframe_start(payloads[0]))
        assert not any(vp8_keyframe_start(p) for p in payloads[1:])
    assert first == [True, False, False, False, False]


def test_seq_newer_wraps_around() -> None:
    assert seq_newer(1, 0) and seq_newer(0, 65535) and seq_newer(100, 65500)
    assert not seq_newer(0, 1) and not seq_newer(65535, 0) and not seq_newer(5, 5)


def test_resend_times_allow_one_resend_per_interval() -> None:
    resends = ResendTimes(size=8)
    assert resends.may_resend(7, now=10.0, interval=0.1)
    assert not resends.may_resend(7, now=10.05, interval=0.1)
    assert resends.may_resend(7, now=10.2, interval=0.1)
    # Another packet under the same index: resendable at once.
    assert resends.may_resend(15, now=10.21, interval=0.1)
    assert not resends.may_resend(15, now=10.22, interval=0.1)


async def test_a_published_track_maps_media_time_through_its_senders_report() -> None:
    async def no_keyframes(ssrc: int) -> None:
        return None

    track = PublishedTrack("t", "video", no_keyframes)
    assert track.ntp_time_of(1000, 90_000) is None
    track.ssrc = 7
    track.on_sender_report(8, 1 << 32, 0)  # another stream's report: ignored
    assert track.ntp_time_of(1000, 90_000) is None
    track.on_sender_report(7, 100 << 32, 0xFFFFFF00)
    # 0x100 + 90,000 ticks after the reference (across the wrap): one second later.
    later = track.ntp_time_of(0xFFFFFF00 + 90_000 & 0xFFFFFFFF, 90_000)
    assert later == 101 << 32
    earlier = track.ntp_time_of(0xFFFFFF00 - 45_000, 90_000)
    assert earlier == (100 << 32) - (1 << 31)
