"""Breakout rooms in real browsers: four patients split into two rooms see only their
roommates, a move swaps that, closing brings all four back to seeing each other."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from playwright.async_api import Page

from tests.e2e.conftest import OpenPage
from tests.e2e.test_group_call import eventually, tiles
from tests.support.server import PeerCircleServer

pytestmark = pytest.mark.e2e

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "img"


async def sees_only(page: Page, me: str, others: set[str], frames: int = 5) -> bool:
    """The page shows exactly its own tile and `others`, each painting video."""
    shown = await tiles(page)
    if set(shown) != {me, *others}:
        return False
    return all(shown[o]["frames"] >= frames for o in others)


async def test_rooms_split_swap_and_close_in_the_browser(
    server: PeerCircleServer, open_page: OpenPage
) -> None:
    session = await server.create_session("Thursday group")
    sid = session["id"]
    names = ["Alex", "Sam", "Kim", "Jo"]
    therapist_link = await server.mint_link(sid, "Dr. Rivera", "therapist")
    links = [await server.mint_link(sid, n, "patient", admitted=True) for n in names]
    alex, sam, kim, jo = (link["participant_id"] for link in links)
    therapist = await open_page(therapist_link["url"], shared=True)
    await therapist.click("#join")
    pages = []
    for link in links:
        page = await open_page(link["url"], shared=True)
        await page.click("#join")
        pages.append(page)
    p_alex, p_sam, p_kim, p_jo = pages
    everyone = {alex, sam, kim, jo}

    # The therapist's console: create two rooms, place people, open with a timer.
    await therapist.fill("#rooms-names", "Blue, Green")
    await therapist.click("#rooms-create")
    for pid, room in ((alex, "r1"), (sam, "r1"), (kim, "r2"), (jo, "r2")):
        select = therapist.locator(f'#room-list li[data-participant="{pid}"] select')
        await select.select_option(room)
    await eventually(
        lambda: _count_is(therapist, '#room-list li[data-room="r2"] li[data-participant]', 2),
        10,
        "the plan shows two people in Green",
    )
    await therapist.fill("#rooms-minutes", "15")
    await therapist.click("#rooms-open")

    await eventually(lambda: sees_only(p_alex, alex, {sam}), 30, "Alex sees only Sam")
    await eventually(lambda: sees_only(p_sam, sam, {alex}), 30, "Sam sees only Alex")
    await eventually(lambda: sees_only(p_kim, kim, {jo}), 30, "Kim sees only Jo")
    await eventually(lambda: sees_only(p_jo, jo, {kim}), 30, "Jo sees only Kim")
    assert await p_alex.locator("#room-badge").inner_text() == "Blue"
    timer = await p_kim.locator("#room-timer").inner_text()
    assert timer.endswith("left") and timer.startswith(("14:", "15:")), timer
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await therapist.screenshot(path=str(SCREENSHOTS / "breakouts.png"))

    # A move while open: Sam and Kim swap rooms, without a reload.
    await therapist.locator(f'#room-list li[data-participant="{sam}"] select').select_option("r2")
    await therapist.locator(f'#room-list li[data-participant="{kim}"] select').select_option("r1")
    await eventually(lambda: sees_only(p_alex, alex, {kim}), 30, "Alex sees only Kim")
    await eventually(lambda: sees_only(p_jo, jo, {sam}), 30, "Jo sees only Sam")
    await eventually(lambda: sees_only(p_sam, sam, {jo}), 30, "Sam sees only Jo")
    await eventually(lambda: sees_only(p_kim, kim, {alex}), 30, "Kim sees only Alex")

    # Closing brings everyone back: each page paints the three others again.
    await therapist.click("#rooms-close")
    for page, me in zip(pages, (alex, sam, kim, jo), strict=True):
        others = everyone - {me} | {therapist_link["participant_id"]}
        await eventually(_sees_all(page, me, others), 30, "everyone sees everyone again")
        assert await page.locator("#room-badge").is_hidden()
    # Same page, same session: nobody reloaded or rejoined.
    state = await server.session_state(sid)
    assert {p["room"] for p in state["participants"]} == {"main"}


def _sees_all(page: Page, me: str, others: set[str]) -> Callable[[], Awaitable[bool]]:
    return lambda: sees_only(page, me, others)


async def _count_is(page: Page, selector: str, count: int) -> bool:
    return await page.locator(selector).count() == count
