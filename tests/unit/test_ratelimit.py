"""Per-connection rate limits on chatty client events."""

from __future__ import annotations

import pytest

from server.domain.errors import RateLimited
from server.ratelimit import ConnectionLimits, TokenBucket


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_is_allowed_then_refused_then_refilled() -> None:
    clock = FakeClock()
    bucket = TokenBucket(capacity=3, per_second=1, clock=clock)
    for _ in range(3):
        bucket.take("chat")
    with pytest.raises(RateLimited):
        bucket.take("chat")
    clock.now = 1.0
    bucket.take("chat")
    with pytest.raises(RateLimited):
        bucket.take("chat")


def test_moderation_events_are_never_limited() -> None:
    limits = ConnectionLimits(FakeClock())
    for _ in range(100):
        limits.check("mute")
    for _ in range(5):
        limits.check("chat")
    with pytest.raises(RateLimited):
        limits.check("chat")
