"""Accessibility, checked in the page: axe-core (from npm, injected into each page)
finds no serious or critical WCAG 2.1 AA violation on the landing page, the lobby, the
waiting room, the call (as a patient and as a therapist) and every end page; controls
are named with whom they act on; shortcuts work but never while typing; focus and
half-typed text survive the events that keep arriving."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, async_playwright

from server.domain.roles import Role
from server.tokens import JoinGrant, TokenSigner, new_participant_id
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.e2e.test_group_call import eventually
from tests.support.client import Client
from tests.support.server import PeerCircleServer

pytestmark = pytest.mark.e2e

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
RUN_AXE = """async () => {
  const result = await axe.run(document, {
    runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]},
  });
  const serious = result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => ({id: v.id, nodes: v.nodes.map((n) => n.target.join(" ")).slice(0, 5)}));
  const minor = result.violations.filter((v) => !serious.some((s) => s.id === v.id));
  return {serious, passed: result.passes.length, minor: minor.map((v) => v.id)};
}"""


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        await launched.close()


async def open_(browser: Browser, url: str, width: int = 1280, height: int = 720) -> Page:
    # axe runs as an injected script, which the page's strict CSP would refuse.
    context = await browser.new_context(
        viewport={"width": width, "height": height}, bypass_csp=True
    )
    page = await context.new_page()
    await page.goto(url)
    return page


async def serious_violations(page: Page) -> list[dict[str, Any]]:
    if not await page.evaluate("typeof axe !== 'undefined'"):
        await page.add_script_tag(path=str(AXE))
    result: dict[str, Any] = await page.evaluate(RUN_AXE)
    # axe really ran its rules (a page it could not read would pass nothing).
    assert result["passed"] >= 10, result
    if result["minor"]:
        print(f"axe, moderate or minor: {result['minor']}")
    found: list[dict[str, Any]] = result["serious"]
    return found


async def assert_accessible(page: Page, what: str) -> None:
    found = await serious_violations(page)
    assert found == [], f"{what}: {found}"


async def test_no_serious_axe_violation_on_any_page(
    server: PeerCircleServer, browser: Browser
) -> None:
    landing = await open_(browser, f"{server.base_url}/")
    await assert_accessible(landing, "landing")
    bare = await open_(browser, f"{server.base_url}/join")
    await bare.locator("#ended").wait_for(state="visible", timeout=5_000)
    await assert_accessible(bare, "no link")

    session = await server.create_session("Axe group", waiting_room=True)
    therapist_link = await server.mint_link(session["id"], "Dr. Rivera", "therapist")
    therapist = await open_(browser, therapist_link["url"])
    await therapist.locator("#join").wait_for(state="visible")
    await therapist.wait_for_function("!document.getElementById('join').disabled")
    await assert_accessible(therapist, "lobby")
    await therapist.click("#join")
    await therapist.locator("#call").wait_for(state="visible", timeout=10_000)

    sam_link = await server.mint_link(session["id"], "Sam", "patient")
    sam = await open_(browser, sam_link["url"])
    await sam.click("#join")
    await sam.locator("#waiting").wait_for(state="visible", timeout=10_000)
    await assert_accessible(sam, "waiting room")
    sam_id = sam_link["participant_id"]
    await therapist.click(f'#waiting-list li[data-participant="{sam_id}"] [data-action="admit"]')
    await sam.locator("#call").wait_for(state="visible", timeout=10_000)
    await therapist.locator(f'#people-list li[data-participant="{sam_id}"]').wait_for()
    await therapist.wait_for_timeout(1000)
    await assert_accessible(sam, "call as a patient")
    await assert_accessible(therapist, "call as the therapist")
    # On a phone, with the panel open as a sheet.
    await sam.set_viewport_size({"width": 390, "height": 844})
    await sam.click("#open-chat")
    await assert_accessible(sam, "call on a phone, chat open")

    # Controls say whom they act on.
    await therapist.get_by_role("button", name="Mute Sam").wait_for(timeout=5_000)
    assert await therapist.get_by_role("button", name="Remove Sam").count() == 1
    tile = therapist.locator(f'#grid .tile[data-participant="{sam_id}"]')
    assert (await tile.get_attribute("aria-label") or "").startswith("Sam")

    # End pages: left, denied, could not join, ended.
    await sam.click("#leave")
    await sam.click("#leave-confirm")
    await sam.locator("#ended").wait_for(state="visible")
    await assert_accessible(sam, "end page: left")
    kim_link = await server.mint_link(session["id"], "Kim", "patient")
    kim = await open_(browser, kim_link["url"])
    await kim.click("#join")
    await kim.locator("#waiting").wait_for(state="visible", timeout=10_000)
    kim_id = kim_link["participant_id"]
    await therapist.click(f'#waiting-list li[data-participant="{kim_id}"] [data-action="deny"]')
    await kim.locator("#ended").wait_for(state="visible", timeout=5_000)
    await assert_accessible(kim, "end page: denied")
    grant = JoinGrant(session["id"], new_participant_id(), "Mo", Role.PATIENT, time.time() + 600)
    forged = TokenSigner("a-secret-this-server-never-had-at-all").mint(grant)
    mo = await open_(browser, f"{server.base_url}/join#t={forged}")
    await mo.click("#join")
    await mo.locator("#ended").wait_for(state="visible", timeout=10_000)
    await assert_accessible(mo, "end page: could not join")
    await server.end_session(session["id"])
    await therapist.locator("#ended").wait_for(state="visible", timeout=5_000)
    await assert_accessible(therapist, "end page: ended")


async def test_shortcuts_skip_link_and_focus_that_survives_events(
    server: PeerCircleServer, browser: Browser
) -> None:
    session = await server.create_session("Focus group")
    therapist_link = await server.mint_link(session["id"], "Dr. Rivera", "therapist")
    therapist = await open_(browser, therapist_link["url"])
    await therapist.click("#join")
    await therapist.locator("#call").wait_for(state="visible", timeout=10_000)
    alex_link = await server.mint_link(session["id"], "Alex", "patient", admitted=True)
    alex = Client(server.base_url, alex_link["token"], auto_answer=False)
    await alex.connect()
    try:
        mute_alex = therapist.get_by_role("button", name="Mute Alex")
        await mute_alex.wait_for(timeout=10_000)

        # The skip link is the first stop and leads to the controls.
        await therapist.keyboard.press("Tab")
        assert await therapist.evaluate("document.activeElement.className") == "skip-link"
        await therapist.keyboard.press("Enter")
        await therapist.keyboard.press("Tab")
        assert await therapist.evaluate("document.activeElement.id") == "toggle-mic"

        # M toggles the mic, but not while typing in the chat box.
        await therapist.keyboard.press("m")
        await therapist.locator('#toggle-mic[aria-pressed="true"]').wait_for(timeout=3_000)
        await therapist.keyboard.press("m")
        await therapist.locator('#toggle-mic[aria-pressed="false"]').wait_for(timeout=3_000)
        await therapist.click("#chat-text")
        await therapist.keyboard.type("mmm, ")
        await therapist.wait_for_timeout(300)
        assert await therapist.get_attribute("#toggle-mic", "aria-pressed") == "false"

        # Type on while events keep coming: chat from Alex, Alex's mic and camera going
        # on and off (the people list changes), speaking stats every second.
        async def churn() -> None:
            for i in range(12):
                if i % 4 == 0:  # chat is rate-limited: 5 at once, then one per 2 s
                    await alex.emit("chat", {"to": "room", "text": f"message {i}"})
                await alex.emit("media-state", {"mic": "off" if i % 2 else "live"})
                await asyncio.sleep(0.25)

        busy = asyncio.ensure_future(churn())
        text = "I hear you and I am glad you came today"
        for ch in text:
            await therapist.keyboard.type(ch)
            await asyncio.sleep(0.05)
        await busy
        assert await therapist.evaluate("document.activeElement.id") == "chat-text"
        assert await therapist.input_value("#chat-text") == "mmm, " + text
        await eventually(
            lambda: _has_text(therapist, "#chat-log", "message 8"), 5, "Alex's chat arrived"
        )

        # A focused row button keeps focus while that row changes around it.
        await alex.emit("media-state", {"mic": "live"})
        await mute_alex.wait_for()
        await mute_alex.focus()
        for i in range(6):
            await alex.emit("media-state", {"camera": "off" if i % 2 else "live"})
            if i % 3 == 0:
                await alex.emit("chat", {"to": "room", "text": f"again {i}"})
            await asyncio.sleep(0.3)
        label = await therapist.evaluate("document.activeElement.getAttribute('aria-label')")
        assert label == "Mute Alex"

        # Nothing moves for someone who asks for reduced motion.
        tile = therapist.locator("#grid .tile").first
        moving = "(el) => getComputedStyle(el).transitionDuration"
        assert await tile.evaluate(moving) != "0s"
        await therapist.emulate_media(reduced_motion="reduce")
        assert await tile.evaluate(moving) == "0s"

        # The shortcut list is in the page.
        await therapist.click("#open-help")
        assert await therapist.locator("#shortcuts").is_visible()
        await therapist.keyboard.press("Escape")
        assert await therapist.locator("#shortcuts").is_hidden()
    finally:
        await alex.close()


async def _has_text(page: Page, selector: str, text: str) -> bool:
    return text in await page.locator(selector).inner_text()
