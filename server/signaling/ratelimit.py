"""Per-connection limits on how often a client may send chatty events."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ..domain.errors import RateLimited


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


# Event -> (burst, sustained per second). Moderation is limited generously: a
# therapist admitting or muting a whole group at once (15-30 people) is never refused,
# a script sending thousands is.
MODERATION_LIMIT = (40.0, 5.0)
MODERATION_EVENTS = (
    "admit",
    "deny",
    "lock",
    "mute",
    "mute-all",
    "ask-unmute",
    "stop-camera",
    "remove",
    "revoke-link",
    "end-session",
    "set-chat",
    "share-approve",
    "share-decline",
    "share-revoke",
    "share-policy",
    "captions",
    "breakout-rooms",
    "breakout-assign",
    "breakout-move",
    "breakout-leader",
    "breakout-options",
    "breakout-open",
    "breakout-timer",
    "breakout-broadcast",
    "breakout-visit",
    "breakout-help-clear",
    "breakout-close",
    "cue-dismiss",
    "hands-by-talk",
    "speaking-options",
    "round-start",
    "round-next",
    "round-end",
    "plan-set",
    "plan-next",
    "plan-skip",
    "plan-extend",
    "spotlight",
    "set-reactions",
    "admit-all",
    "waiting-message",
    "signal-dismiss",
)
LIMITS: dict[str, tuple[float, float]] = {
    # A join opens a peer connection: a few at once (a client rejoins after a media
    # failure), then one per 10 s on the same socket.
    "join": (3, 0.1),
    # Candidates on one socket, whatever the number of joins (a browser trickles 5-20).
    "ice-candidate": (64, 1.0),
    "leave": (3, 0.1),
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
    "share-stop": (5, 0.5),
    "round-pass": (3, 0.2),
    "feedback": (5, 0.1),
    "tech-help": (2, 0.05),
    "link-quality": (4, 0.2),
    "reaction": (5, 1.0),
} | dict.fromkeys(MODERATION_EVENTS, MODERATION_LIMIT)

# Per link (participant id), across all its sockets: connection attempts and knocks
# draw on one bucket. A phone on a bad network reconnects (connect + join) ten times
# in a row; a script looping connect-join-disconnect gets one cycle per 10 s after that.
LINK_LIMIT = (20.0, 0.2)
# Links remembered at once; the least recently seen is forgotten first.
MAX_TRACKED_LINKS = 10_000


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


class LinkLimits:
    """One bucket per link (participant id), bounded in number."""

    def __init__(
        self,
        limit: tuple[float, float] = LINK_LIMIT,
        max_links: int = MAX_TRACKED_LINKS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limit = limit
        self._max_links = max_links
        self._clock = clock
        self._buckets: dict[str, TokenBucket] = {}

    def allow(self, link: str) -> bool:
        """Spend one attempt of `link`; False when it has none left."""
        bucket = self._buckets.pop(link, None)
        if bucket is None:
            bucket = TokenBucket(*self._limit, clock=self._clock)
            while len(self._buckets) >= self._max_links:
                del self._buckets[next(iter(self._buckets))]
        self._buckets[link] = bucket  # most recently seen last
        try:
            bucket.take("join")
        except RateLimited:
            return False
        return True

    def __len__(self) -> int:
        return len(self._buckets)
