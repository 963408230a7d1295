"""Fire-and-forget work on the event loop (RTCP sends, keyframe requests)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable

log = logging.getLogger(__name__)


def in_background(work: Awaitable[None], what: str) -> None:
    """Run `work` (an RTCP send, a keyframe request) without waiting for it; a failure
    is logged at debug level: the stream goes on, and the next report or request
    tries again."""

    def done(task: asyncio.Future[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.debug("%s failed: %r", what, task.exception())

    asyncio.ensure_future(work).add_done_callback(done)
