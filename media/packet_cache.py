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
    """A ring of the last `size` packets; a newer packet evicts the one `size` before it.

    Kept as parallel lists (no object per packet): `put` runs for every packet
    forwarded to every subscriber.
    """

    def __init__(self, size: int = CACHE_PACKETS) -> None:
        self._size = size
        self._seqs: list[int] = [-1] * size
        self._stamps = [0] * size
        self._markers = [0] * size
        self._payloads = [b""] * size
        self._resent_at = [0.0] * size

    def put(self, sequence_number: int, timestamp: int, marker: int, payload: bytes) -> None:
        """Remember a packet as sent."""
        index = sequence_number % self._size
        self._seqs[index] = sequence_number
        self._stamps[index] = timestamp
        self._markers[index] = marker
        self._payloads[index] = payload
        self._resent_at[index] = 0.0

    def holds(self, sequence_number: int) -> bool:
        """Whether the packet sent with this sequence number is still cached."""
        return self._seqs[sequence_number % self._size] == sequence_number

    def take_for_resend(
        self, sequence_number: int, now: float, interval: float
    ) -> CachedPacket | None:
        """The packet, unless it is gone or was already resent less than `interval` ago.

        A receiver repeats its whole list of missing packets in every NACK (aiortc
        does, on each new gap): without this, each repeat would be resent again.
        """
        entry = self.get(sequence_number)
        index = sequence_number % self._size
        if entry is None or now - self._resent_at[index] < interval:
            return None
        self._resent_at[index] = now
        return entry

    def get(self, sequence_number: int) -> CachedPacket | None:
        """The packet sent with this sequence number, if still cached."""
        index = sequence_number % self._size
        if self._seqs[index] != sequence_number:
            return None
        return CachedPacket(
            sequence_number, self._stamps[index], self._markers[index], self._payloads[index]
        )
