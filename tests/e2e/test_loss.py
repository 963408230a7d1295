"""Video through loss in real browsers: NACK and keyframe recovery keep it flowing."""

from __future__ import annotations

import pytest
from playwright.async_api import Page

from tests.e2e.conftest import OpenPage
from tests.e2e.test_group_call import eventually, join
from tests.support.server import StartServer

pytestmark = pytest.mark.e2e

# The server loses every 50th video packet to each subscriber: 2% loss.
LOSE_EVERY = 50


async def video_in(page: Page) -> dict[str, float]:
    """The page's one inbound video stream's counters (0s before it exists)."""
    inbound = await page.evaluate("window.peercircle.inbound()")
    video = [s for s in inbound.values() if s["video"]]
    found: dict[str, float] = video[0] if video else {"framesDecoded": 0}
    return found


async def test_video_keeps_flowing_through_two_percent_loss_in_chromium(
    start_server: StartServer, open_page: OpenPage
) -> None:
    server = await start_server(env={"PEERCIRCLE_FAULT_DROP_VIDEO_EVERY": str(LOSE_EVERY)})
    session = await server.create_session("Lossy group")
    links = [
        await server.mint_link(session["id"], name, role, admitted=True)
        for name, role in (("Dr. Rivera", "therapist"), ("Alex", "patient"))
    ]
    pages = [await join(open_page, link["url"]) for link in links]

    async def both_decode() -> bool:
        counters = [await video_in(p) for p in pages]
        return all(c["framesDecoded"] >= 30 for c in counters)

    await eventually(both_decode, 30, "both pages decode each other's video")
    before = [await video_in(p) for p in pages]
    after: list[dict[str, float]] = []

    async def kept_coming() -> bool:
        # 150 more frames on each page: five seconds of Chromium's fake camera.
        after[:] = [await video_in(p) for p in pages]
        return all(
            end["framesDecoded"] - start["framesDecoded"] >= 150
            for start, end in zip(before, after, strict=True)
        )

    await eventually(kept_coming, 15, "video keeps coming on both pages through the loss")
    for start, end in zip(before, after, strict=True):
        # The losses were asked for again, and nothing froze for long.
        assert end["nackCount"] > start["nackCount"], (start, end)
        assert end["totalFreezesDuration"] - start["totalFreezesDuration"] < 1.0, (start, end)
    metrics = await server.metrics()
    assert metrics["fault_drops"] > 0 and metrics["retransmitted"] > 0, metrics
