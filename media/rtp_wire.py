"""RTP wire format for the forward path: header rewriting and VP8 keyframe detection.

Pure functions over bytes, no I/O. A packet is rebuilt per subscriber from the
fields the forwarder keeps (RFC 3550 fixed header, RFC 8285 one-byte header
extensions, RFC 4588 RTX, RFC 7741 VP8 payload descriptor).
"""

from __future__ import annotations

import struct
from typing import Protocol

RTP_VERSION_BITS = 0x80
EXTENSION_BIT = 0x10
ONE_BYTE_EXTENSION_PROFILE = 0xBEDE
_FIXED_HEADER = struct.Struct("!BBHII")


class InboundRtp(Protocol):
    """The decrypted, parsed fields of one RTP packet from a publisher."""

    payload_type: int
    sequence_number: int
    timestamp: int
    ssrc: int
    marker: int
    payload: bytes


def seq_newer(a: int, b: int) -> bool:
    """Whether 16-bit sequence number `a` comes after `b` (RFC 3550 wrap-around)."""
    return a != b and ((a - b) & 0xFFFF) < 0x8000


def one_byte_extensions(elements: list[tuple[int, bytes]]) -> bytes:
    """An RFC 8285 one-byte-header extension block (profile, length, padded elements)."""
    if not elements:
        return b""
    body = b"".join(bytes([(ext_id << 4) | (len(value) - 1)]) + value for ext_id, value in elements)
    body += b"\x00" * (-len(body) % 4)
    return struct.pack("!HH", ONE_BYTE_EXTENSION_PROFILE, len(body) // 4) + body


def rtp_packet(
    payload_type: int,
    marker: int,
    sequence_number: int,
    timestamp: int,
    ssrc: int,
    extensions: bytes,
    payload: bytes,
) -> bytes:
    """Serialize one RTP packet; `extensions` is a block from `one_byte_extensions`."""
    first = RTP_VERSION_BITS | (EXTENSION_BIT if extensions else 0)
    header = _FIXED_HEADER.pack(
        first, (marker << 7) | payload_type, sequence_number, timestamp, ssrc
    )
    return header + extensions + payload


def rtx_payload(original_sequence_number: int, payload: bytes) -> bytes:
    """An RTX payload: the original sequence number, then the original payload (RFC 4588)."""
    return struct.pack("!H", original_sequence_number) + payload


def vp8_keyframe_start(payload: bytes) -> bool:
    """Whether this VP8 RTP payload begins a key frame.

    The payload descriptor (RFC 7741, 4.2) must mark the start of partition 0
    (S=1, PID=0); the VP8 frame tag right after it has bit 0 (P) clear for a key
    frame (RFC 6386, 9.1).
    """
    if len(payload) < 2:
        return False
    first = payload[0]
    if not first & 0x10 or first & 0x07:
        return False
    offset = 1
    if first & 0x80:  # X: an extension byte follows
        ext = payload[1]
        offset = 2
        if ext & 0x80:  # I: picture id, 7 or 15 bits
            if len(payload) <= offset:
                return False
            offset += 2 if payload[offset] & 0x80 else 1
        if ext & 0x40:  # L: TL0PICIDX
            offset += 1
        if ext & 0x30:  # T or K: TID/Y/KEYIDX
            offset += 1
    return len(payload) > offset and payload[offset] & 0x01 == 0
