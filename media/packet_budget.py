"""How many packets a publisher's stream may send: a token bucket per stream."""

from __future__ import annotations

# Packets a second and burst size a publisher's stream may send; beyond, they are
# dropped and counted. Opus sends 50 a second; 2.5 Mbit/s of screen share in
# 1,200-byte packets is about 260, and a keyframe comes in a burst of a hundred or so.
PACKET_BUDGET = {"audio": (200.0, 100.0), "video": (1000.0, 600.0)}


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
