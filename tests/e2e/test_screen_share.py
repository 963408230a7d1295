"""Screen sharing in real browsers: ask, approve, share, revoke."""

from __future__ import annotations

import time
from typing import Any

import pytest
from playwright.async_api import Page

from tests.e2e.conftest import OpenPage
from tests.e2e.test_group_call import eventually, join
from tests.support.server import PeerCircleServer

pytestmark = pytest.mark.e2e


async def screen(page: Page) -> dict[str, Any]:
    """What the page's screen stage shows."""
    shown: dict[str, Any] = await page.evaluate("window.peercircle.screen()")
    return shown


async def test_a_patient_asks_shares_and_the_therapist_revokes(
    server: PeerCircleServer, open_page: OpenPage
) -> None:
    session = await server.create_session("Tuesday group")
    links = [
        await server.mint_link(session["id"], name, role)
        for name, role in (("Dr. Rivera", "therapist"), ("Alex", "patient"), ("Sam", "patient"))
    ]
    therapist, alex, sam = [await join(open_page, link["url"]) for link in links]
    alex_id = links[1]["participant_id"]
    await eventually(
        lambda: alex.locator("#present").is_visible(), 15, "Alex's page is in the call"
    )

    # Sharing without the right is refused by the server; nothing is forwarded.
    assert await alex.locator("#present").inner_text() == "Ask to present"
    await alex.click("#present")
    request = therapist.locator(
        f'#share-request-list li[data-participant="{alex_id}"] [data-action="approve-share"]'
    )
    await request.wait_for(timeout=5_000)
    await request.click()
    await alex.locator('.notice[data-kind="share-answer"]').wait_for(timeout=5_000)
    assert await alex.locator("#present").inner_text() == "Present"

    # Alex shares (headless Chromium answers getDisplayMedia with a fake screen).
    await alex.click("#present")

    async def others_see_the_screen() -> bool:
        for page in (therapist, sam):
            shown = await screen(page)
            if not (shown["shown"] and shown["presenter"] == alex_id and shown["frames"] > 10):
                return False
        return True

    await eventually(others_see_the_screen, 20, "the others decode Alex's screen")
    state = await server.session_state(session["id"])
    assert [t["source"] for t in state["tracks"] if t["participant"] == alex_id].count(
        "screen"
    ) == 1

    # The therapist revokes: the share stops for everyone within a second.
    await therapist.click(
        f'#people-list li[data-participant="{alex_id}"] [data-action="revoke-share"]'
    )
    revoked_at = time.monotonic()

    async def screen_gone() -> bool:
        return not (await screen(therapist))["shown"] and not (await screen(sam))["shown"]

    await eventually(screen_gone, 3, "the screen disappears for everyone")
    assert time.monotonic() - revoked_at < 1.5
    await alex.locator('.notice[data-kind="share-ended"]').wait_for(timeout=5_000)
    assert await alex.locator("#present").inner_text() == "Ask to present"
    state = await server.session_state(session["id"])
    assert "screen" not in [t["source"] for t in state["tracks"]]
