"""Reload-safe and forgiving: a reload, Back then Forward, or the same link opened again
in the tab brings the same person back (within the grace period, past the waiting
room) without the token in the address bar; the end pages say what happened and
offer what makes sense next."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Page

from tests.e2e.conftest import OpenPage
from tests.e2e.test_group_call import eventually, join
from tests.e2e.test_layout import shots_dir
from tests.support.server import StartServer

pytestmark = pytest.mark.e2e


async def join_shared(open_page: OpenPage, url: str) -> Page:
    """Join in the one browser process the test's shared pages use."""
    page = await open_page(url, shared=True)
    await page.click("#join")
    return page


async def in_call_as(page: Page, participant_id: str) -> bool:
    if not await page.locator("#call").is_visible():
        return False
    me: str = await page.evaluate("window.peercircle.me()")
    return me == participant_id


async def test_reload_back_forward_and_the_same_link_rejoin_the_same_person(
    start_server: StartServer, open_page: OpenPage
) -> None:
    # A long grace, so a slow machine's reload is still "within the grace period".
    server = await start_server(reconnect_grace_s=30)
    session = await server.create_session("Reload group", waiting_room=True)
    therapist_link = await server.mint_link(session["id"], "Dr. Rivera", "therapist")
    therapist = await join(open_page, therapist_link["url"])
    await therapist.locator("#call").wait_for(state="visible", timeout=10_000)
    link = await server.mint_link(session["id"], "Alex", "patient")
    alex_id = link["participant_id"]
    alex = await join(open_page, link["url"])
    await alex.locator("#waiting").wait_for(state="visible", timeout=10_000)
    admit = f'#waiting-list li[data-participant="{alex_id}"] [data-action="admit"]'
    await therapist.click(admit)
    await eventually(lambda: in_call_as(alex, alex_id), 10, "Alex is in the call")
    token = link["token"]
    assert token not in alex.url

    # A reload: straight back in, same person, no waiting room, no token in the URL.
    await alex.reload()
    await eventually(lambda: in_call_as(alex, alex_id), 15, "Alex is back after a reload")
    assert token not in alex.url and "#" not in alex.url
    assert await alex.locator("#waiting").is_hidden()
    history = await alex.evaluate("history.length")
    assert history >= 1

    # Back to another page, then Forward: back in again.
    await alex.goto(f"{server.base_url}/")
    await alex.go_back()
    await eventually(lambda: in_call_as(alex, alex_id), 15, "Alex is back after Back")
    await alex.go_forward()
    await alex.go_back()
    await eventually(lambda: in_call_as(alex, alex_id), 15, "Alex is back after Forward+Back")
    assert token not in alex.url

    # The same link opened again in this tab (only the fragment changes).
    await alex.goto(link["url"])
    await eventually(lambda: in_call_as(alex, alex_id), 15, "the same link brings Alex back")
    assert token not in alex.url
    state = await server.session_state(session["id"])
    assert [p["id"] for p in state["participants"]].count(alex_id) == 1

    # Leave asks first; "Stay" keeps Alex in; "Leave" ends with a way back.
    await alex.click("#leave")
    await alex.click("#leave-cancel")
    assert await alex.locator("#call").is_visible()
    await alex.click("#leave")
    await alex.click("#leave-confirm")
    await alex.locator("#ended").wait_for(state="visible", timeout=5_000)
    assert "left" in (await alex.locator("#ended-title").inner_text()).lower()
    # A reload after leaving does not rejoin by itself ...
    await alex.reload()
    await alex.locator("#lobby").wait_for(state="visible", timeout=10_000)
    # ... the lobby's Join does (the waiting room again: Alex left) ...
    await alex.click("#join")
    await alex.locator("#waiting").wait_for(state="visible", timeout=10_000)
    # ... and so does "Join again" on the end page.
    await alex.click("#waiting-leave")
    await alex.locator("#ended").wait_for(state="visible", timeout=5_000)
    await alex.click("#rejoin")
    await alex.locator("#waiting").wait_for(state="visible", timeout=10_000)


async def test_end_pages_say_what_happened_and_what_next(
    start_server: StartServer, open_page: OpenPage, tmp_path: Path
) -> None:
    server = await start_server()
    session = await server.create_session("Ending group", waiting_room=True)
    therapist_link = await server.mint_link(session["id"], "Dr. Rivera", "therapist")
    therapist = await join(open_page, therapist_link["url"])
    await therapist.locator("#call").wait_for(state="visible", timeout=10_000)

    # Denied, with the therapist's message.
    link = await server.mint_link(session["id"], "Sam", "patient")
    sam = await join_shared(open_page, link["url"])
    await sam.locator("#waiting").wait_for(state="visible", timeout=10_000)
    deny = f'#waiting-list li[data-participant="{link["participant_id"]}"] [data-action="deny"]'
    await therapist.click(deny)
    await sam.locator("#ended").wait_for(state="visible", timeout=5_000)
    assert await sam.locator("#ended-title").inner_text() == "You were not let in"
    assert "therapist could not let you in now" in (
        await sam.locator("#ended-message").inner_text()
    )
    assert "contact" in (await sam.locator("#ended-help").inner_text()).lower()
    await sam.screenshot(path=str(shots_dir(tmp_path) / "ended-denied.png"))
    assert await sam.locator("#rejoin").is_hidden()

    # No token at all.
    bare = await open_page(f"{server.base_url}/join", shared=True)
    await bare.locator("#ended").wait_for(state="visible", timeout=5_000)
    assert "join link" in (await bare.locator("#ended-title").inner_text())

    # The session ends.
    link = await server.mint_link(session["id"], "Kim", "patient", admitted=True)
    kim = await join_shared(open_page, link["url"])
    await kim.locator("#call").wait_for(state="visible", timeout=10_000)
    await server.end_session(session["id"])
    await kim.locator("#ended").wait_for(state="visible", timeout=5_000)
    assert await kim.locator("#ended-title").inner_text() == "The session has ended"
    assert not await kim.evaluate("window.peercircle.capturing()")


async def test_the_same_link_in_another_tab_takes_over_and_the_first_tab_says_so(
    start_server: StartServer, open_page: OpenPage
) -> None:
    server = await start_server()
    session = await server.create_session("Two tabs")
    link = await server.mint_link(session["id"], "Alex", "patient", admitted=True)
    first = await join_shared(open_page, link["url"])
    await eventually(lambda: in_call_as(first, link["participant_id"]), 10, "the first tab is in")
    second = await join_shared(open_page, link["url"])
    await eventually(lambda: in_call_as(second, link["participant_id"]), 10, "the second tab is in")
    await first.locator("#ended").wait_for(state="visible", timeout=10_000)
    assert await first.locator("#ended-title").inner_text() == "You joined from another window"
    assert await first.locator("#rejoin").inner_text() == "Use this window"
    assert not await first.evaluate("window.peercircle.capturing()")
