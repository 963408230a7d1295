"""Per-connection limits on how often a client may send chatty events."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .domain.errors import RateLimited


@dataclass
class TokenBucket:
    """`capacity` events at once, refilled at `per_second`."""

    capacity: float
    per_second: float
    clock: Callable[[], float] = time.monotonic
    _tokens: float = field(default=-1.0)
    _at: float = 0.0

    def take(self, what: str) -> None:
        """Spend one token, or raise RateLimited."""
        now = self.clock()
        if self._tokens < 0:
            self._tokens, self._at = self.capacity, now
        self._tokens = min(self.capacity, self._tokens + (now - self._at) * self.per_second)
        self._at = now
        if self._tokens < 1:
            raise RateLimited(f"too many {what} messages; slow down")
        self._tokens -= 1


# Event -> (burst, sustained per second). Moderation is not limited: a therapist
# muting several people quickly must never be refused.
LIMITS: dict[str, tuple[float, float]] = {
    "chat": (5, 0.5),
    "raise-hand": (4, 0.2),
    "lower-hand": (4, 0.2),
    "break": (2, 0.05),
    "media-state": (10, 2.0),
    "share-request": (3, 0.1),
    "share-start": (5, 0.5),
    "breakout-help": (2, 0.05),
    "breakout-choose": (5, 0.5),
    "caption-text": (40, 20.0),
    "caption-consent": (5, 0.5),
}


class ConnectionLimits:
    """The buckets of one connection."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._buckets = {
            event: TokenBucket(burst, rate, clock) for event, (burst, rate) in LIMITS.items()
        }

    def check(self, event: str) -> None:
        """Raise RateLimited if `event` came too often."""
        bucket = self._buckets.get(event)
        if bucket is not None:
            bucket.take(event)
