"""The packets a forwarding slot sent lately, by outgoing sequence number, for NACK."""

from __future__ import annotations

from typing import NamedTuple

# About 1.5 s of 500 kbps video at ~1,100-byte packets: more than a browser's NACK
# window for the round trips a group call sees.
CACHE_PACKETS = 512


class CachedPacket(NamedTuple):
    """What it takes to send a packet again: its rewritten header fields and payload."""

    sequence_number: int
    timestamp: int
    marker: int
    payload: bytes


class PacketCache:
    """A ring of the last `size` packets; a newer packet evicts the one `size` before it."""

    def __init__(self, size: int = CACHE_PACKETS) -> None:
        self._size = size
        self._ring: list[CachedPacket | None] = [None] * size

    def put(self, sequence_number: int, timestamp: int, marker: int, payload: bytes) -> None:
        """Remember a packet as sent."""
        self._ring[sequence_number % self._size] = CachedPacket(
            sequence_number, timestamp, marker, payload
        )

    def get(self, sequence_number: int) -> CachedPacket | None:
        """The packet sent with this sequence number, if still cached."""
        entry = self._ring[sequence_number % self._size]
        if entry is None or entry.sequence_number != sequence_number:
            return None
        return entry
