"""The call page as a person sees it: at a phone's, a small laptop's and a large
screen's size and at 200% zoom, with 1, 4 and 15 tiles, every toolbar control can be
clicked (nothing paints over it), and a shared screen takes most of the stage.

Other participants are lightweight Python clients that never answer an offer: each is
a tile (an avatar) in the call, at almost no cost."""

from __future__ import annotations

import functools
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, async_playwright

from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, OpenPage
from tests.e2e.test_group_call import eventually, join
from tests.support.client import Client
from tests.support.server import PeerCircleServer

pytestmark = pytest.mark.e2e

# name -> (width, height, phone). 200% zoom halves the CSS viewport of 1280x720.
VIEWPORTS: dict[str, tuple[int, int, bool]] = {
    "phone": (390, 844, True),
    "laptop": (1280, 720, False),
    "large": (1440, 900, False),
    "zoom200": (640, 360, False),
}

# Every visible control in the toolbar: is the element at its centre the control (or
# inside it), and is the control wholly on screen and at least 44 px on a phone?
HIT_TEST = """(minSize) => {
  const problems = [];
  const controls = document.querySelectorAll("#toolbar button, #toolbar select");
  let checked = 0;
  for (const el of controls) {
    if (el.closest("[hidden]") || el.offsetParent === null) continue;
    const r = el.getBoundingClientRect();
    const x = r.left + r.width / 2, y = r.top + r.height / 2;
    const hit = document.elementFromPoint(x, y);
    checked++;
    if (r.left < 0 || r.top < 0 || r.right > innerWidth + 0.5 || r.bottom > innerHeight + 0.5) {
      problems.push(`${el.id} off screen at ${JSON.stringify(r)}`);
    } else if (!hit || !(hit === el || el.contains(hit))) {
      const what = hit ? `${hit.tagName}#${hit.id}.${hit.className}` : "null";
      problems.push(`${el.id}: elementFromPoint is ${what}`);
    }
    if (r.height < minSize - 0.5 || r.width < minSize - 0.5) {
      problems.push(`${el.id} is ${r.width}x${r.height}`);
    }
  }
  // No tile paints over another (they may scroll, never overlap).
  const tiles = [...document.querySelectorAll("#grid .tile")].map((t) => t.getBoundingClientRect());
  for (let i = 0; i < tiles.length; i++) {
    for (let j = i + 1; j < tiles.length; j++) {
      const a = tiles[i], b = tiles[j];
      const w = Math.min(a.right, b.right) - Math.max(a.left, b.left);
      const h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
      if (w > 1 && h > 1) problems.push(`tiles ${i} and ${j} overlap`);
    }
  }
  const overflow = document.documentElement.scrollWidth > innerWidth + 1;
  if (overflow) problems.push(`page is ${document.documentElement.scrollWidth} px wide`);
  return {checked, problems};
}"""

# The shared screen's box and its letterboxed picture, against the stage and the window.
SHARE_AREA = """() => {
  const video = document.getElementById("screen-video");
  const stage = document.getElementById("stage").getBoundingClientRect();
  const r = video.getBoundingClientRect();
  const vw = video.videoWidth || 16, vh = video.videoHeight || 9;
  const scale = Math.min(r.width / vw, r.height / vh);
  return {
    box: r.width * r.height,
    picture: vw * scale * vh * scale,
    stage: stage.width * stage.height,
    window: innerWidth * innerHeight,
  };
}"""


async def hit_problems(page: Page, min_size: int) -> tuple[int, list[str]]:
    result: dict[str, Any] = await page.evaluate(HIT_TEST, min_size)
    return int(result["checked"]), list(result["problems"])


def shots_dir(tmp_path: Path) -> Path:
    return Path(os.environ.get("PEERCIRCLE_SCREENSHOT_DIR", tmp_path))


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        await launched.close()


PAGE_ERRORS: list[str] = []


@pytest.fixture(autouse=True)
def no_page_errors() -> Iterator[None]:
    """Every page a test here opened ran without an uncaught error."""
    PAGE_ERRORS.clear()
    yield
    assert PAGE_ERRORS == [], f"page errors: {PAGE_ERRORS}"


async def open_viewer(browser: Browser, url: str, viewport: str) -> Page:
    """A page in the call at a viewport (a phone: touch and mobile emulation)."""
    width, height, phone = VIEWPORTS[viewport]
    context = await browser.new_context(
        viewport={"width": width, "height": height},
        is_mobile=phone,
        has_touch=phone,
        device_scale_factor=3 if phone else 1,
    )
    page = await context.new_page()
    page.on("pageerror", lambda error: PAGE_ERRORS.append(str(error)))
    await page.goto(url)
    await page.click("#join")
    await page.locator("#toolbar").wait_for(state="visible", timeout=15_000)
    return page


async def tiles_shown(page: Page, count: int) -> bool:
    return await page.locator("#grid .tile").count() == count


async def test_the_toolbar_is_never_covered_whatever_the_tiles_and_the_screen(
    server: PeerCircleServer, browser: Browser, tmp_path: Path
) -> None:
    shots = shots_dir(tmp_path)
    for count in (1, 4, 15):
        session = await server.create_session(f"Layout {count}")
        others: list[Client] = []
        try:
            for i in range(count - 1):
                link = await server.mint_link(
                    session["id"], f"Person {i + 1}", "patient", admitted=True
                )
                client = Client(server.base_url, link["token"], auto_answer=False)
                await client.connect()
                others.append(client)
            for viewport in VIEWPORTS:
                # A patient's page: its toolbar has the most controls.
                link = await server.mint_link(session["id"], "Alex", "patient", admitted=True)
                page = await open_viewer(browser, link["url"], viewport)
                await eventually(functools.partial(tiles_shown, page, count), 15, f"{count} tiles")
                await page.wait_for_timeout(300)  # one layout pass after the last tile
                checked, problems = await hit_problems(page, 44)
                assert checked >= 6, f"{viewport}, {count} tiles: only {checked} controls"
                assert problems == [], f"{viewport}, {count} tiles: {problems}"
                if count in (4, 15):
                    await page.screenshot(path=str(shots / f"layout-{viewport}-{count}.png"))
                await page.click("#leave")
                await page.click("#leave-confirm")
                await page.locator("#ended").wait_for(state="visible", timeout=5_000)
                await page.context.close()
        finally:
            for client in others:
                await client.close()


async def test_the_phone_panel_is_a_sheet_that_opens_and_closes(
    server: PeerCircleServer, browser: Browser
) -> None:
    session = await server.create_session("Phone")
    link = await server.mint_link(session["id"], "Alex", "patient", admitted=True)
    page = await open_viewer(browser, link["url"], "phone")
    assert await page.locator("#panel").is_hidden()
    # A message while the sheet is closed shows on the Chat button.
    sam_link = await server.mint_link(session["id"], "Sam", "patient", admitted=True)
    sam = Client(server.base_url, sam_link["token"], auto_answer=False)
    await sam.connect()
    try:
        await sam.wait_for(lambda: sam.welcome is not None)
        await sam.emit("chat", {"to": "room", "text": "hello"})
        await page.locator("#open-chat", has_text="Chat (1 new)").wait_for(timeout=5_000)
    finally:
        await sam.close()
    await page.click("#open-chat")
    assert await page.locator("#open-chat").inner_text() == "Chat"
    assert await page.locator("#panel").is_visible()
    assert await page.evaluate("document.activeElement.id") == "chat-text"
    # The sheet covers the video, never the toolbar.
    checked, problems = await hit_problems(page, 44)
    assert problems == [] and checked >= 6, problems
    await page.click("#panel-close")
    assert await page.locator("#panel").is_hidden()


async def test_a_share_takes_most_of_the_stage(
    server: PeerCircleServer, open_page: OpenPage, browser: Browser, tmp_path: Path
) -> None:
    shots = shots_dir(tmp_path)
    session = await server.create_session("Share")
    therapist_link = await server.mint_link(session["id"], "Dr. Rivera", "therapist")
    presenter = await join(open_page, therapist_link["url"])
    others = []
    for i in range(2):
        link = await server.mint_link(session["id"], f"Person {i + 1}", "patient", admitted=True)
        client = Client(server.base_url, link["token"], auto_answer=False)
        await client.connect()
        others.append(client)
    try:
        viewer_link = await server.mint_link(session["id"], "Alex", "patient", admitted=True)
        viewer = await open_viewer(browser, viewer_link["url"], "laptop")
        await presenter.locator("#present").wait_for(state="visible", timeout=10_000)
        await presenter.click("#present")
        # The presenter sees a small preview and a clear way to stop.
        await presenter.locator("#presenting").wait_for(state="visible", timeout=10_000)
        assert await presenter.locator("#presenting-stop").is_visible()
        await presenter.wait_for_timeout(500)
        await presenter.screenshot(path=str(shots / "share-presenter.png"))

        async def shown() -> bool:
            screen: dict[str, Any] = await viewer.evaluate("window.peercircle.screen()")
            return bool(screen["shown"] and screen["frames"] > 5)

        await eventually(shown, 20, "the viewer shows the share")
        for viewport in ("laptop", "phone", "large", "zoom200"):
            width, height, _ = VIEWPORTS[viewport]
            await viewer.set_viewport_size({"width": width, "height": height})
            await viewer.wait_for_timeout(400)
            area: dict[str, float] = await viewer.evaluate(SHARE_AREA)
            share = area["box"] / area["stage"]
            print(
                f"{viewport}: share box {share:.0%} of the stage, "
                f"{area['box'] / area['window']:.0%} of the window; "
                f"picture {area['picture'] / area['stage']:.0%} of the stage"
            )
            if viewport in ("laptop", "phone"):
                assert share >= 0.6, f"{viewport}: the share has {share:.0%} of the stage"
            _, problems = await hit_problems(viewer, 44)
            assert problems == [], f"{viewport} with a share: {problems}"
            await viewer.screenshot(path=str(shots / f"share-{viewport}.png"))
        await presenter.click("#presenting-stop")
        await eventually(lambda: viewer.locator("#screen-stage").is_hidden(), 5, "the share ends")
    finally:
        for client in others:
            await client.close()


async def test_the_therapists_page_with_people_waiting_and_a_hand_up(
    server: PeerCircleServer, browser: Browser, tmp_path: Path
) -> None:
    session = await server.create_session("Tuesday group", waiting_room=True)
    therapist_link = await server.mint_link(session["id"], "Dr. Rivera", "therapist")
    therapist = await open_viewer(browser, therapist_link["url"], "laptop")
    others: list[Client] = []
    try:
        for name in ("Sam", "Kim", "Jo"):
            link = await server.mint_link(session["id"], name, "patient", admitted=True)
            client = Client(server.base_url, link["token"], auto_answer=False)
            await client.connect()
            others.append(client)
        await others[0].emit("raise-hand", {})
        waiting_link = await server.mint_link(session["id"], "Lee", "patient")
        waiting = Client(server.base_url, waiting_link["token"], auto_answer=False)
        await waiting.connect()
        others.append(waiting)
        await therapist.locator("#waiting-list li").wait_for(timeout=10_000)
        await therapist.locator("#hand-list li").wait_for(timeout=10_000)
        await eventually(functools.partial(tiles_shown, therapist, 4), 10, "4 tiles")
        await therapist.wait_for_timeout(300)
        for viewport in ("laptop", "phone", "zoom200"):
            width, height, _ = VIEWPORTS[viewport]
            await therapist.set_viewport_size({"width": width, "height": height})
            await therapist.wait_for_timeout(300)
            _, problems = await hit_problems(therapist, 44)
            assert problems == [], f"the therapist's page, {viewport}: {problems}"
        await therapist.set_viewport_size({"width": 1280, "height": 720})
        await therapist.wait_for_timeout(300)
        await therapist.screenshot(path=str(shots_dir(tmp_path) / "call.png"))
    finally:
        for client in others:
            await client.close()
