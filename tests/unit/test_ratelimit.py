"""Per-connection rate limits on chatty client events."""

from __future__ import annotations

import pytest

from server.domain.errors import RateLimited
from server.signaling.ratelimit import ConnectionLimits, LinkLimits, TokenBucket


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


def test_moderation_allows_a_whole_group_at_once_but_not_a_script() -> None:
    clock = FakeClock()
    limits = ConnectionLimits(clock)
    # Admitting or muting 30 people in one go is fine...
    for _ in range(30):
        limits.check("admit")
    # ...thousands are not.
    with pytest.raises(RateLimited):
        for _ in range(1000):
            limits.check("admit")
    # Each moderation event has its own bucket.
    limits.check("mute")
    clock.now = 2.0
    limits.check("admit")


def test_joins_on_one_socket_are_limited() -> None:
    limits = ConnectionLimits(FakeClock())
    for _ in range(3):
        limits.check("join")
    with pytest.raises(RateLimited):
        limits.check("join")


def test_link_limits_span_sockets_and_stay_bounded() -> None:
    clock = FakeClock()
    links = LinkLimits(limit=(2, 0.5), max_links=3, clock=clock)
    assert links.allow("p_a") and links.allow("p_a")
    assert not links.allow("p_a")
    assert links.allow("p_b")
    clock.now = 2.0
    assert links.allow("p_a")
    for pid in ("p_c", "p_d", "p_e"):
        links.allow(pid)
    assert len(links) == 3
