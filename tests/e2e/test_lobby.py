"""The lobby and the devices: Join is on screen without scrolling (laptop and phone), the
mic level meter moves, a denied camera gets plain guidance and one can still join, the
waiting room really stops the camera and mic (and admission starts them again), and a
device can be changed during the call."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, async_playwright

from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.e2e.test_group_call import eventually, frames_of
from tests.e2e.test_layout import shots_dir
from tests.support.server import PeerCircleServer

pytestmark = pytest.mark.e2e

# The browser refuses the camera and mic, as when someone pressed Block.
DENY_DEVICES = """
navigator.mediaDevices.getUserMedia = async () => {
  throw new DOMException("Permission denied", "NotAllowedError");
};
"""
ON_SCREEN = """(id) => {
  const el = document.getElementById(id);
  const r = el.getBoundingClientRect();
  const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
  return r.top >= 0 && r.bottom <= innerHeight && (hit === el || el.contains(hit));
}"""


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        await launched.close()


async def open_(
    browser: Browser, url: str, phone: bool = False, init_script: str | None = None
) -> Page:
    context = await browser.new_context(
        viewport={"width": 390, "height": 844} if phone else {"width": 1280, "height": 720},
        is_mobile=phone,
        has_touch=phone,
    )
    if init_script:
        await context.add_init_script(init_script)
    page = await context.new_page()
    await page.goto(url)
    await page.locator("#join:not([disabled])").wait_for(timeout=10_000)
    return page


async def capturing(page: Page) -> bool:
    live: bool = await page.evaluate("window.peercircle.capturing()")
    return live


async def test_join_is_on_screen_and_the_meter_moves(
    server: PeerCircleServer, browser: Browser, tmp_path: Path
) -> None:
    session = await server.create_session("Lobby group")
    for phone in (False, True):
        link = await server.mint_link(session["id"], "Alex", "patient")
        page = await open_(browser, link["url"], phone=phone)
        assert await page.evaluate(ON_SCREEN, "join"), f"Join below the fold (phone={phone})"
        # The lobby names the session the person is about to join.
        title = page.locator("#lobby-title")
        await title.wait_for(state="visible", timeout=10_000)
        assert await title.text_content() == "Lobby group"
        # Chromium's fake microphone beeps: the meter shows it.
        meter_moves = functools.partial(_meter_above, page, 0.01)
        await eventually(meter_moves, 10, "the level meter shows the mic")
        await page.click("#speaker-test")
        name = "lobby-phone.png" if phone else "lobby-laptop.png"
        await page.screenshot(path=str(shots_dir(tmp_path) / name))
        await page.context.close()


async def _meter_above(page: Page, level: float) -> bool:
    value: float = await page.evaluate("document.getElementById('mic-level').value")
    return value > level


async def test_a_denied_camera_gets_plain_guidance_and_one_can_still_join(
    server: PeerCircleServer, browser: Browser, tmp_path: Path
) -> None:
    session = await server.create_session("Denied group")
    link = await server.mint_link(session["id"], "Alex", "patient", admitted=True)
    page = await open_(browser, link["url"], init_script=DENY_DEVICES)
    error = page.locator("#lobby-error")
    await error.wait_for(state="visible", timeout=5_000)
    text = await error.inner_text()
    assert "not allowed to use your camera or microphone" in text
    assert "Allow" in text and "Try again" in text
    body = await page.locator("body").inner_text()
    assert "NotAllowedError" not in body and "Permission denied" not in body
    assert await page.evaluate(ON_SCREEN, "join")
    await page.screenshot(path=str(shots_dir(tmp_path) / "lobby-denied.png"))
    await page.click("#join")
    await page.locator("#call").wait_for(state="visible", timeout=10_000)


async def test_the_waiting_room_stops_the_devices_and_admission_restarts_them(
    server: PeerCircleServer, browser: Browser, tmp_path: Path
) -> None:
    session = await server.create_session("Waiting group", waiting_room=True)
    therapist_link = await server.mint_link(session["id"], "Dr. Rivera", "therapist")
    therapist = await open_(browser, therapist_link["url"])
    await therapist.click("#join")
    await therapist.locator("#call").wait_for(state="visible", timeout=10_000)
    link = await server.mint_link(session["id"], "Alex", "patient")
    alex = await open_(browser, link["url"])
    assert await capturing(alex), "the lobby preview captures"
    await alex.click("#join")
    await alex.locator("#waiting").wait_for(state="visible", timeout=10_000)
    await eventually(lambda: _not(capturing(alex)), 5, "nothing captures in the waiting room")
    await alex.screenshot(path=str(shots_dir(tmp_path) / "waiting.png"))
    alex_id = link["participant_id"]
    await therapist.click(f'#waiting-list li[data-participant="{alex_id}"] [data-action="admit"]')
    await alex.locator("#call").wait_for(state="visible", timeout=10_000)
    await eventually(lambda: capturing(alex), 10, "admitted: the devices start again")
    await eventually(
        lambda: _frames_above(therapist, alex_id, 5), 20, "the therapist sees Alex's video"
    )
    # Chromium's fake mic beeps: Alex's tile lights up while the beep sounds.
    speaking = therapist.locator(f'#grid .tile[data-participant="{alex_id}"][data-speaking="true"]')
    await speaking.wait_for(timeout=10_000)

    # Another microphone during the call: the page now sends that one.
    options: list[dict[str, Any]] = await alex.evaluate(
        "[...document.getElementById('call-mic-select').options]"
        ".map((o) => ({value: o.value, label: o.textContent}))"
    )
    assert len(options) >= 2, options
    before: str = await alex.evaluate("window.peercircle.sending().mic")
    chosen = next(o for o in options if o["label"] != before)
    await alex.select_option("#call-mic-select", chosen["value"])
    await eventually(lambda: _sending_mic_is(alex, chosen["label"]), 10, "the chosen mic is sent")


async def _not(check: Any) -> bool:
    return not await check


async def _frames_above(page: Page, participant: str, frames: int) -> bool:
    return await frames_of(page, participant) > frames


async def _sending_mic_is(page: Page, label: str) -> bool:
    sending: dict[str, str] = await page.evaluate("window.peercircle.sending()")
    return sending["mic"] == label


async def test_camera_off_in_the_lobby_is_closed_and_can_be_turned_on_in_the_call(
    server: PeerCircleServer, browser: Browser
) -> None:
    session = await server.create_session("Camera later")
    therapist_link = await server.mint_link(session["id"], "Dr. Rivera", "therapist")
    therapist = await open_(browser, therapist_link["url"])
    await therapist.click("#join")
    link = await server.mint_link(session["id"], "Alex", "patient", admitted=True)
    alex = await open_(browser, link["url"])
    await alex.uncheck("#lobby-camera")
    await alex.click("#join")
    await alex.locator("#call").wait_for(state="visible", timeout=10_000)
    await alex.wait_for_timeout(500)
    assert (await alex.evaluate("window.peercircle.sending()"))["camera"] == ""
    assert await alex.inner_text("#toggle-camera") == "Start video"
    await alex.click("#toggle-camera")
    alex_id = link["participant_id"]
    await eventually(
        lambda: _frames_above(therapist, alex_id, 5), 20, "the therapist sees Alex's video"
    )
    # Off again: the camera is closed (its light goes off), not only hidden.
    await alex.click("#toggle-camera")
    await eventually(lambda: _camera_closed(alex), 5, "Alex's camera is closed when turned off")


async def _camera_closed(page: Page) -> bool:
    live: bool = await page.evaluate("window.peercircle.cameraLive()")
    return not live
