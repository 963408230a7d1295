"""The facilitators' signals in real browsers: a patient's technical problem and break
show as persistent items on two facilitator consoles (who, what, when), with a count
badge and the count in the tab title, until one facilitator dismisses them, which
clears them on both; a patient's own "I have a technical problem"; a private message
from a row of the people list and its answer; "Admit all" and a message to everyone
waiting. Patients are lightweight Python clients where their page does not matter."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.e2e.test_accessibility import serious_violations
from tests.support.client import Client
from tests.support.server import PeerCircleServer

pytestmark = pytest.mark.e2e

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "img" / "signals.png"


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        await launched.close()


@pytest.fixture
def page_errors() -> list[str]:
    return []


async def join(browser: Browser, url: str, errors: list[str]) -> Page:
    """A page at 1280x720 (axe is injected, so the CSP is bypassed) that joins."""
    context = await browser.new_context(viewport={"width": 1280, "height": 720}, bypass_csp=True)
    page = await context.new_page()
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(url)
    await page.wait_for_function("!document.getElementById('join').disabled")
    await page.click("#join")
    return page


async def python_client(server: PeerCircleServer, token: str) -> Client:
    client = Client(server.base_url, token, consume=False)
    await client.connect()
    return client


async def test_signals_persist_on_both_consoles_until_one_dismisses_them(
    server: PeerCircleServer, browser: Browser, page_errors: list[str]
) -> None:
    session = await server.create_session("Tuesday group", waiting_room=True)
    therapist_link = await server.mint_link(session["id"], "Dr. Rivera", "therapist")
    co_link = await server.mint_link(session["id"], "Morgan", "co-facilitator")
    therapist = await join(browser, therapist_link["url"], page_errors)
    co = await join(browser, co_link["url"], page_errors)
    consoles = (therapist, co)
    for page in consoles:
        await page.locator("#signals").wait_for(state="visible", timeout=10_000)
        await expect(page.locator("#signals-empty")).to_be_visible()

    sam_link = await server.mint_link(session["id"], "Sam", "patient", admitted=True)
    alex_link = await server.mint_link(session["id"], "Alex", "patient", admitted=True)
    kim_link = await server.mint_link(session["id"], "Kim", "patient", admitted=True)
    jo_link = await server.mint_link(session["id"], "Jo", "patient")
    sam = await python_client(server, sam_link["token"])
    alex = await python_client(server, alex_link["token"])
    jo = await python_client(server, jo_link["token"])
    kim = await join(browser, kim_link["url"], page_errors)
    clients = (sam, alex, jo)
    try:
        await kim.locator("#call").wait_for(state="visible", timeout=10_000)
        await sam.emit("tech-help", {})
        await sam.emit("break", {})
        await alex.emit("raise-hand", {})
        await alex.emit("chat", {"to": "facilitators", "text": "Can we talk after?"})
        await jo.next_event("waiting")

        for page in consoles:
            items = page.locator("#signal-list li")
            await expect(items).to_have_count(5, timeout=10_000)
            await expect(page.locator('#signal-list li[data-kind="tech-help"]')).to_contain_text(
                "Sam has a technical problem"
            )
            await expect(page.locator('#signal-list li[data-kind="break"]')).to_contain_text(
                "Sam needs a break"
            )
            await expect(page.locator('#signal-list li[data-kind="hand"]')).to_contain_text(
                "Alex raised a hand"
            )
            await expect(
                page.locator('#signal-list li[data-kind="private-message"]')
            ).to_contain_text("Alex wrote to the facilitators")
            await expect(page.locator('#signal-list li[data-kind="waiting"]')).to_contain_text(
                "Jo is waiting"
            )
            await expect(page.locator('#signal-list li[data-kind="tech-help"] time')).to_have_text(
                "just now"
            )
            await expect(page.locator("#signals-count")).to_have_text("(5)")
            await expect(page.locator("#signals-badge")).to_have_text("5 signals")
            await expect(page).to_have_title(re.compile(r"^\(5\) Tuesday group"))
            # Only the notes a facilitator handles by hand can be dismissed.
            assert await page.locator('[data-action="dismiss-signal"]').count() == 3

        # Kim, a patient in a browser, says she has a technical problem herself.
        await kim.get_by_role("button", name="I have a technical problem").click()
        await expect(kim.locator('.notice[data-kind="tech-help"]')).to_contain_text(
            "The facilitators have been told"
        )
        for page in consoles:
            await expect(page.locator("#signal-list li")).to_have_count(6, timeout=5_000)
            await expect(page.locator("#signal-list")).to_contain_text(
                "Kim has a technical problem"
            )
        # A patient sees no signals.
        assert await kim.locator("#signals").is_hidden()
        assert await kim.locator("#signals-badge").is_hidden()

        # They persist: the old break notice faded after 8 s, the signals stay.
        await therapist.wait_for_timeout(9_000)
        for page in consoles:
            await expect(page.locator("#signal-list li")).to_have_count(6)

        await therapist.screenshot(path=str(SCREENSHOT))
        found = await serious_violations(therapist)
        assert found == [], f"the console with signals: {found}"

        # One facilitator dismisses Sam's technical problem: it goes on both consoles,
        # and focus stays in the list.
        dismiss = therapist.get_by_role("button", name="Dismiss: Sam has a technical problem")
        await dismiss.focus()
        await therapist.keyboard.press("Enter")
        for page in consoles:
            await expect(page.locator('#signal-list li[data-kind="tech-help"]')).to_have_count(
                1, timeout=2_000
            )
            await expect(page.locator("#signal-list")).not_to_contain_text(
                "Sam has a technical problem"
            )
            await expect(page).to_have_title(re.compile(r"^\(5\) "))
        assert await therapist.evaluate(
            "Boolean(document.activeElement && document.activeElement.closest('#signals'))"
        )
        # The co-facilitator dismisses Sam's break: gone on the therapist's console too.
        await co.get_by_role("button", name="Dismiss: Sam needs a break").click()
        for page in consoles:
            await expect(page.locator('#signal-list li[data-kind="break"]')).to_have_count(
                0, timeout=2_000
            )
            await expect(page.locator("#signals-count")).to_have_text("(4)")

        # A hand goes when it is lowered, not by a dismiss.
        await alex.emit("lower-hand", {})
        for page in consoles:
            await expect(page.locator('#signal-list li[data-kind="hand"]')).to_have_count(
                0, timeout=2_000
            )

        # From Kim's row in the people list, the therapist writes to her privately; she
        # sees it marked private and answers the facilitators only.
        await therapist.get_by_role("button", name="Message Kim privately").click()
        await expect(therapist.locator("#chat-private")).to_contain_text("Private message to Kim")
        box = therapist.get_by_role("textbox", name="Private message to Kim")
        await expect(box).to_be_focused()
        await box.fill("How is the sound now?")
        await box.press("Enter")
        private = kim.locator('#chat-log li[data-to="participant"]')
        await expect(private).to_contain_text("Dr. Rivera: (private, to you) How is the sound now?")
        await expect(co.locator('#chat-log li[data-to="participant"]')).to_contain_text(
            "(private, to Kim)"
        )
        await kim.click("#open-chat")
        assert await kim.locator("#chat-to").input_value() == "facilitators"
        await kim.fill("#chat-text", "Better, thank you")
        await kim.press("#chat-text", "Enter")
        for page in consoles:
            await expect(page.locator('#chat-log li[data-to="facilitators"]').last).to_contain_text(
                "Kim: (to facilitators) Better, thank you"
            )
        assert not any("Better, thank you" in str(d) for _, d in sam.events)
        assert not any("How is the sound now?" in str(d) for _, d in sam.events)

        for page in consoles:
            await expect(page.locator("#signal-list")).to_contain_text(
                "Kim wrote to the facilitators"
            )

        # Everything about someone who left goes with them (after the grace period).
        await alex.close()
        for page in consoles:
            await expect(page.locator("#signal-list")).not_to_contain_text(
                "Alex wrote to the facilitators", timeout=8_000
            )
            await expect(
                page.locator('#signal-list li[data-kind="private-message"]')
            ).to_have_count(1)
    finally:
        for client in clients:
            await client.close()
    assert not page_errors, page_errors


async def test_admit_all_lets_three_people_in_with_one_click(
    server: PeerCircleServer, browser: Browser, page_errors: list[str]
) -> None:
    session = await server.create_session("Tuesday group", waiting_room=True)
    therapist_link = await server.mint_link(session["id"], "Dr. Rivera", "therapist")
    therapist = await join(browser, therapist_link["url"], page_errors)
    await therapist.locator("#console").wait_for(state="visible", timeout=10_000)
    assert await therapist.locator("#admit-all").is_hidden()

    links = [await server.mint_link(session["id"], n, "patient") for n in ("Jo", "Lee", "Ana")]
    clients = [await python_client(server, link["token"]) for link in links]
    try:
        for client in clients:
            await client.next_event("waiting")
        await expect(therapist.locator("#waiting-list li")).to_have_count(3, timeout=10_000)
        await expect(therapist.locator('#signal-list li[data-kind="waiting"]')).to_have_count(3)
        await expect(therapist).to_have_title(re.compile(r"^\(3\) "))

        # A word to everyone waiting reaches each of them.
        box = therapist.get_by_role("textbox", name="Message to everyone waiting")
        await box.fill("We start in two minutes.")
        await box.press("Enter")
        for client in clients:
            message = await client.next_event("waiting-message")
            assert message["text"] == "We start in two minutes."
            assert message["fromName"] == "Dr. Rivera"

        await therapist.get_by_role("button", name="Admit all").click()
        for client in clients:
            await client.next_event("welcome")
        await expect(therapist.locator("#waiting-list li")).to_have_count(0, timeout=5_000)
        await expect(therapist.locator("#signal-list li")).to_have_count(0)
        await expect(therapist.locator("#signals-empty")).to_be_visible()
        await expect(therapist).to_have_title("Tuesday group · PeerCircle")
        state = await server.session_state(session["id"])
        inside = {p["id"] for p in state["participants"]}
        assert {link["participant_id"] for link in links} <= inside
    finally:
        for client in clients:
            await client.close()
    assert not page_errors, page_errors


async def test_the_waiting_page_shows_a_message_to_everyone_waiting(
    server: PeerCircleServer, browser: Browser, page_errors: list[str]
) -> None:
    session = await server.create_session("Tuesday group", waiting_room=True)
    therapist_link = await server.mint_link(session["id"], "Dr. Rivera", "therapist")
    therapist = await python_client(server, therapist_link["token"])
    sam_link = await server.mint_link(session["id"], "Sam", "patient")
    try:
        sam = await join(browser, sam_link["url"], page_errors)
        await sam.locator("#waiting").wait_for(state="visible", timeout=10_000)
        assert await sam.locator("#waiting-messages").is_hidden()
        await therapist.wait_for(lambda: any(e == "waiting-room" for e, _ in therapist.events))
        await therapist.emit("waiting-message", {"text": "Thank you for waiting."})
        await expect(sam.locator("#waiting-messages")).to_contain_text(
            "Dr. Rivera says", timeout=5_000
        )
        await expect(sam.locator("#waiting-messages")).to_contain_text("Thank you for waiting.")
        found = await serious_violations(sam)
        assert found == [], f"the waiting page with a message: {found}"
    finally:
        await therapist.close()
    assert not page_errors, page_errors
