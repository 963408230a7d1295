"""Speaking time in real browsers: two patients each play a different speech file as
their mic (one Chromium process each), a third stays silent; the therapist's dashboard
shows each one's total within 5% of the truth, and the silent one's not-yet-spoken cue."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from playwright.async_api import Page

from tests.e2e.conftest import OpenPage
from tests.support.audio import RATE, silence, speak, write_wav
from tests.support.server import StartServer

pytestmark = pytest.mark.e2e

ALEX = (
    "Every voice in this group deserves to be heard, so we take turns and listen to "
    "one another without rushing to answer.",
    "This week I tried to notice when I was getting anxious, and I wrote it down "
    "in the little notebook we talked about last time.",
)
SAM = (
    "Take a slow breath and tell us how your week went, what was hard about it, and "
    "what helped you get through the difficult days.",
    "I noticed that I was calmer this week when I went for a long walk by the river "
    "each morning before work, even on the days it rained.",
)
# Time for the page to join and its media to connect before anyone speaks.
LEAD_S = 4.0


def speech_file(path: Path, texts: tuple[str, ...], voice: str, lead_s: float) -> float:
    """A WAV of `texts` 1 s apart after `lead_s` of silence; returns the truth (s)."""
    pcm, truth = silence(lead_s), 0.0
    for text in texts:
        sentence = speak(text, voice)
        pcm += sentence + silence(1.0)
        truth += len(sentence) / 2 / RATE
    write_wav(path, pcm + silence(2.0))
    return truth


async def eventually(check: Callable[[], Awaitable[bool]], within: float, what: str) -> None:
    """Poll the page until `check` holds, or fail saying `what` did not happen."""
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"within {within} s: {what}")
        await asyncio.sleep(0.25)


async def shown_talk(page: Page, participant_id: str) -> float | None:
    """The talk time the dashboard's bar shows for a participant, if it has one."""
    row = page.locator(f'#talk-bars li[data-participant="{participant_id}"]')
    if await row.count() == 0:
        return None
    value = await row.first.get_attribute("data-talk")
    return float(value) if value is not None else None


async def test_dashboard_totals_and_the_silent_patients_cue(
    start_server: StartServer, open_page: OpenPage, tmp_path: Path
) -> None:
    env = {"PEERCIRCLE_SPEAKING_NOT_SPOKEN_AFTER_S": "8"}
    server = await start_server(env=env)
    session = await server.create_session("Thursday group")
    sid = session["id"]
    quiet = tmp_path / "quiet.wav"
    write_wav(quiet, silence(120.0))
    alex_truth = speech_file(tmp_path / "alex.wav", ALEX, "en-us", LEAD_S)
    # Sam starts once Alex is done: two mics, never at once.
    sam_lead = LEAD_S + alex_truth + 6.0
    sam_truth = speech_file(tmp_path / "sam.wav", SAM, "en-gb+f3", sam_lead)

    links = {
        name: await server.mint_link(sid, name, role, admitted=True)
        for name, role in (
            ("Dr. Rivera", "therapist"),
            ("Alex", "patient"),
            ("Sam", "patient"),
            ("Cal", "patient"),
        )
    }
    ids = {name: link["participant_id"] for name, link in links.items()}
    # The therapist and Cal share one silent browser; each speaker has their own.
    therapist = await open_page(links["Dr. Rivera"]["url"], fake_audio=quiet, shared=True)
    await therapist.click("#join")
    cal = await open_page(links["Cal"]["url"], fake_audio=quiet, shared=True)
    await cal.click("#join")
    alex = await open_page(links["Alex"]["url"], fake_audio=tmp_path / "alex.wav")
    await alex.click("#join")
    sam = await open_page(links["Sam"]["url"], fake_audio=tmp_path / "sam.wav")
    await sam.click("#join")

    cue = therapist.locator(
        f'#cue-list li[data-kind="not-yet-spoken"][data-participant="{ids["Cal"]}"]'
    )
    await cue.wait_for(state="visible", timeout=30_000)
    assert "Cal has not spoken yet" in await cue.inner_text()

    async def totals_match() -> bool:
        for name, truth in (("Alex", alex_truth), ("Sam", sam_truth)):
            shown = await shown_talk(therapist, ids[name])
            if shown is None or abs(shown - truth) > 0.05 * truth:
                return False
        return True

    try:
        await eventually(totals_match, sam_lead + sam_truth + 30, "both totals within 5%")
    except AssertionError:
        shown = {n: await shown_talk(therapist, ids[n]) for n in ("Alex", "Sam")}
        raise AssertionError(
            f"dashboard {shown}, truth {alex_truth:.2f} / {sam_truth:.2f}"
        ) from None
    for name, truth in (("Alex", alex_truth), ("Sam", sam_truth)):
        print(f"{name}: dashboard {await shown_talk(therapist, ids[name])} s, truth {truth:.2f} s")
    assert await shown_talk(therapist, ids["Cal"]) == 0.0
    assert await cue.is_visible(), "Cal still has not spoken"
    # Patients see only their own time, and no cues or dashboard.
    for page in (cal, alex):
        assert await page.locator("#speaking-console").is_hidden()
        assert await page.locator("#speaking-cues").is_hidden()
    await eventually(
        lambda: _text_is(cal, "#my-talk", "You have spoken 0:00"), 10, "Cal's own time"
    )
    await therapist.click("#order-hands")

    shots = Path(os.environ.get("PEERCIRCLE_SCREENSHOT_DIR", tmp_path))
    await therapist.set_viewport_size({"width": 1280, "height": 1000})
    await therapist.locator("#speaking-console").scroll_into_view_if_needed()
    await therapist.screenshot(path=str(shots / "speaking.png"))


async def _text_is(page: Page, selector: str, text: str) -> bool:
    return (await page.locator(selector).inner_text()).strip() == text
