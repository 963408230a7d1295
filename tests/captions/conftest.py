"""Collecting what an engine says, and waiting for it with a timeout."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from server.captions import CaptionEvent, CaptionOutput, EngineStatus


class Outputs:
    """Everything an engine sent to its sink, in order; `wait_for` blocks until one
    matching output arrives (or fails after `within_s` seconds)."""

    def __init__(self) -> None:
        self.seen: list[CaptionOutput] = []
        self._changed = asyncio.Event()

    def __call__(self, output: CaptionOutput) -> None:
        self.seen.append(output)
        self._changed.set()

    @property
    def captions(self) -> list[CaptionEvent]:
        """The caption events so far."""
        return [o for o in self.seen if isinstance(o, CaptionEvent)]

    @property
    def statuses(self) -> list[EngineStatus]:
        """The status changes so far."""
        return [o for o in self.seen if isinstance(o, EngineStatus)]

    async def wait_for(
        self, matches: Callable[[CaptionOutput], bool], within_s: float = 20.0
    ) -> CaptionOutput:
        """The first output (old or new) that `matches`."""
        async with asyncio.timeout(within_s):
            while True:
                for output in self.seen:
                    if matches(output):
                        return output
                self._changed.clear()
                await self._changed.wait()
