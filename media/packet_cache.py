"""When a forwarding slot last resent each packet, by outgoing sequence number.

The packets themselves are cached by the compiled loop (media/_fanout.c), as each
route sends them.
"""

from __future__ import annotations

CACHE_PACKETS = 512


class ResendTimes:
    """A ring of resend times; a packet is resent at most once per interval.

    A receiver repeats its whole list of missing packets in every NACK (aiortc does,
    on each new gap): without this, each repeat would be resent again.
    """

    def __init__(self, size: int = CACHE_PACKETS) -> None:
        self._size = size
        self._seqs = [-1] * size
        self._at = [0.0] * size

    def may_resend(self, sequence_number: int, now: float, interval: float) -> bool:
        """Whether to resend now; if so, remember that it was."""
        index = sequence_number % self._size
        if self._seqs[index] == sequence_number and now - self._at[index] < interval:
            return False
        self._seqs[index] = sequence_number
        self._at[index] = now
        return True
