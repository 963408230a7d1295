"""Durations as cumulative histograms (the speaking tick, event-loop lag), read by the
metrics collector at scrape time. Plain numbers: no asyncio except in the lag probe."""

from __future__ import annotations

import asyncio
import bisect
import time
from collections.abc import Callable

# Seconds; what a media loop cares about (a tick of 5 ms is fine, one of 250 ms is not).
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class Timings:
    """Count, sum, latest value and cumulative bucket counts of observed durations."""

    def __init__(self, buckets: tuple[float, ...] = BUCKETS) -> None:
        self.buckets = buckets
        self.count = 0
        self.total_s = 0.0
        self.last_s = 0.0
        self._per_bucket = [0] * (len(buckets) + 1)  # the last one is +Inf

    def observe(self, seconds: float) -> None:
        """Record one duration."""
        seconds = max(0.0, seconds)
        self.count += 1
        self.total_s += seconds
        self.last_s = seconds
        self._per_bucket[bisect.bisect_left(self.buckets, seconds)] += 1

    def cumulative(self) -> list[tuple[str, int]]:
        """(upper bound, observations at or under it), ending with ("+Inf", count)."""
        out: list[tuple[str, int]] = []
        running = 0
        for bound, hits in zip((*map(str, self.buckets), "+Inf"), self._per_bucket, strict=True):
            running += hits
            out.append((bound, running))
        return out


class LoopLagProbe:
    """Sleeps `every_s` again and again; how late each wake-up is, is the event loop's
    lag (time other callbacks held the thread)."""

    def __init__(self, every_s: float = 0.25, clock: Callable[[], float] = time.monotonic) -> None:
        self.every_s = every_s
        self.lag = Timings()
        self._clock = clock
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Run on the current loop until `stop`."""
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._run())

    def stop(self) -> None:
        """Cancel the probe."""
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def _run(self) -> None:
        while True:
            due = self._clock() + self.every_s
            await asyncio.sleep(self.every_s)
            self.lag.observe(self._clock() - due)
