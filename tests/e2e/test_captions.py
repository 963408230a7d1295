"""Captions in real browsers: a participant's speech (a WAV as the fake mic) shows as
text under the video of another page, with the speaker's name; a participant who
declined is never captioned."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page

from tests.e2e.conftest import OpenPage
from tests.e2e.test_group_call import eventually
from tests.support.audio import silence, speak, write_wav
from tests.support.server import PeerCircleServer, StartServer

pytestmark = pytest.mark.e2e

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "img"


async def captions(page: Page) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = await page.evaluate("window.peercircle.captions()")
    return result


async def test_a_page_shows_what_another_said_and_never_what_a_decliner_said(
    start_server: StartServer, open_page: OpenPage, tmp_path: Path
) -> None:
    server: PeerCircleServer = await start_server(env={"PEERCIRCLE_CAPTION_ENGINE": "whisper"})
    session = await server.create_session("Captioned group")
    sid = session["id"]
    # Sam speaks first (having declined), Alex a few seconds later; both files start
    # when the page opens its microphone (the lobby preview).
    sam_wav, alex_wav = tmp_path / "sam.wav", tmp_path / "alex.wav"
    write_wav(
        sam_wav,
        silence(9.0) + speak("My family does not know about this.", "en-gb+f3") + silence(1.0),
    )
    write_wav(
        alex_wav, silence(16.0) + speak("Please open the window in the kitchen.") + silence(1.0)
    )

    therapist_link = await server.mint_link(sid, "Dr. Rivera", "therapist")
    therapist = await open_page(therapist_link["url"])
    await therapist.uncheck("#lobby-mic")  # the fake device's beeps are nobody's speech
    await therapist.click("#join")
    await therapist.check("#captions-session")
    await therapist.wait_for_selector("#captions-controls:not([hidden])")

    sam_link = await server.mint_link(sid, "Sam", "patient", admitted=True)
    sam = await open_page(sam_link["url"], fake_audio=sam_wav)
    await sam.uncheck("#lobby-captions")  # declined before any audio left the page
    await sam.click("#join")
    await sam.wait_for_selector("#captions-controls:not([hidden])")
    assert not await sam.is_checked("#captions-mine")
    alex_link = await server.mint_link(sid, "Alex", "patient", admitted=True)
    alex = await open_page(alex_link["url"], fake_audio=alex_wav)
    await alex.click("#join")

    # The therapist types a chat message while the captions arrive: focus and text stay.
    await therapist.click("#chat-text")
    typed: list[str] = []

    async def alex_captioned() -> bool:
        typed.append("a")
        await therapist.keyboard.type("a")
        return any(
            c["speaker"] == alex_link["participant_id"]
            and c["final"]
            and "window" in c["text"].lower()
            for c in await captions(therapist)
        )

    await eventually(alex_captioned, 60, "the therapist's page shows Alex's sentence")
    assert await therapist.evaluate("document.activeElement.id") == "chat-text"
    assert await therapist.input_value("#chat-text") == "".join(typed)
    box = await therapist.locator("#captions").inner_text()
    assert "Alex:" in box and "kitchen" in box.lower(), box
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await therapist.screenshot(path=str(SCREENSHOTS / "captions.png"))
    # Sam's speech did reach the server and the room (the therapist's page received
    # Sam's mic the whole time)...
    state = await server.session_state(sid)
    sam_mic = next(
        t["id"]
        for t in state["tracks"]
        if t["participant"] == sam_link["participant_id"] and t["source"] == "mic"
    )
    inbound = await therapist.evaluate("window.peercircle.inbound()")
    assert inbound[sam_mic]["packets"] > 500, inbound[sam_mic]
    # ...yet Sam, who declined, was never captioned, on any page.
    for page in (therapist, alex):
        assert all(c["speaker"] != sam_link["participant_id"] for c in await captions(page))
    # Alex's own page shows it too (captions are for the whole room).
    await eventually(
        lambda: _has(alex, alex_link["participant_id"]), 10, "Alex's page shows the caption"
    )


async def _has(page: Page, speaker: str) -> bool:
    return any(c["speaker"] == speaker for c in await captions(page))
