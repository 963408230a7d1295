"""Headless Chromium for end-to-end tests: the system browser, driven by Playwright."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, async_playwright

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# From ../shared/RECIPES.md: fake devices, loopback ICE, nothing phoning home.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--allow-loopback-in-peer-connection",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
    "--autoplay-policy=no-user-gesture-required",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

OpenPage = Callable[..., Awaitable[Page]]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session", autouse=True)
def client_bundle() -> None:
    """Bundle client/ (esbuild, well under a second) so the pages test the code as it
    is now, not the bundle of the last set-up."""
    subprocess.run(["npm", "run", "--silent", "build"], cwd=ROOT, check=True)


@pytest_asyncio.fixture
async def open_page(tmp_path: Path) -> AsyncIterator[OpenPage]:
    """`await open_page(url, fake_audio=None, shared=False)`: a page in its own Chromium
    process (the fake audio file is per process), or with `shared` in one process that
    all shared pages use (cheaper, when what they say does not matter).
    """
    browsers: list[Browser] = []
    shared_browser: list[Browser] = []
    errors: list[str] = []
    async with async_playwright() as playwright:

        async def open_(url: str, fake_audio: Path | None = None, shared: bool = False) -> Page:
            args = list(CHROMIUM_ARGS)
            if fake_audio is not None:
                args.append(f"--use-file-for-fake-audio-capture={fake_audio}%noloop")
            if shared and shared_browser:
                browser = shared_browser[0]
            else:
                browser = await playwright.chromium.launch(
                    executable_path=CHROMIUM, headless=True, args=args
                )
                browsers.append(browser)
                if shared:
                    shared_browser.append(browser)
            context = await browser.new_context(viewport={"width": 1000, "height": 700})
            page = await context.new_page()
            page.on("pageerror", lambda error: errors.append(str(error)))
            await page.goto(url)
            return page

        yield open_
        for browser in browsers:
            await browser.close()
    assert not errors, f"page errors: {errors}"
