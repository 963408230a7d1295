"""A group call in real browsers: three headless Chromium pages join through join links."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from playwright.async_api import Page

from server.domain.roles import Role
from server.tokens import JoinGrant, TokenSigner, new_participant_id
from tests.e2e.conftest import OpenPage
from tests.support.server import PeerCircleServer

pytestmark = pytest.mark.e2e

Tiles = dict[str, dict[str, Any]]


async def frames_of(page: Page, participant_id: str) -> int:
    """Video frames the page has painted in this participant's tile (0 if no tile)."""
    return int((await tiles(page)).get(participant_id, {}).get("frames", 0))


async def tiles(page: Page) -> Tiles:
    """What the page's grid shows: per participant, video on/off and frames painted."""
    result: Tiles = await page.evaluate("window.peercircle.tiles()")
    return result


async def eventually(check: Callable[[], Awaitable[bool]], within: float, what: str) -> None:
    """Poll `check` until it holds, or fail saying `what` did not happen."""
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"within {within} s: {what}")
        await asyncio.sleep(0.2)


async def join(open_page: OpenPage, url: str) -> Page:
    """Open a join link, wait for the preview, click Join."""
    page = await open_page(url)
    await page.click("#join")
    return page


async def test_three_browsers_see_and_hear_each_other_without_server_encoding(
    server: PeerCircleServer, open_page: OpenPage
) -> None:
    session = await server.create_session("Tuesday group")
    people = [("Dr. Rivera", "therapist"), ("Alex", "patient"), ("Sam", "patient")]
    # Pre-admitted links: these patients skip the waiting room (a therapist is present).
    links = [await server.mint_link(session["id"], n, r, admitted=True) for n, r in people]
    ids = [link["participant_id"] for link in links]
    pages = [await join(open_page, link["url"]) for link in links]

    # Each page shows the two others' video, decoded and painted.
    async def everyone_sees_everyone() -> bool:
        for me, page in zip(ids, pages, strict=True):
            shown = await tiles(page)
            for other in ids:
                if other != me and shown.get(other, {}).get("frames", 0) < 5:
                    return False
        return True

    await eventually(everyone_sees_everyone, 20, "every page paints both others' video")

    # ... and keeps painting: inbound frames decoded keep increasing.
    before = [await tiles(page) for page in pages]
    after_window: list[Tiles] = []

    async def frames_keep_coming() -> bool:
        after_window.clear()
        after_window.extend([await tiles(page) for page in pages])
        return all(
            after_window[i][other]["frames"] >= before[i][other]["frames"] + 20
            for i, me in enumerate(ids)
            for other in ids
            if other != me
        )

    await eventually(frames_keep_coming, 10, "video keeps playing on every page")
    for page in pages:
        inbound = await page.evaluate("window.peercircle.inbound()")
        video = [s for s in inbound.values() if s["video"]]
        audio = [s for s in inbound.values() if not s["video"]]
        assert len(video) == 2 and all(s["framesDecoded"] > 0 for s in video)
        assert len(audio) == 2 and all(s["audioSamples"] > 0 for s in audio)

    # Each publisher's mic and camera arrive in one MediaStream of their own: the
    # browser pairs them for lip sync.
    for me, page in zip(ids, pages, strict=True):
        streams = await page.evaluate("window.peercircle.streams()")
        published = await server.session_state(session["id"])
        owner = {t["id"]: t["participant"] for t in published["tracks"]}
        by_owner: dict[str, set[str]] = {}
        for track_id, stream in streams.items():
            by_owner.setdefault(owner[track_id], set()).add(stream)
        assert sorted(by_owner) == sorted(i for i in ids if i != me)
        assert all(len(s) == 1 and "" not in s for s in by_owner.values()), by_owner
        assert len(set.union(*by_owner.values())) == 2, by_owner

    # The server forwarded encoded video; it never decoded or encoded a frame.
    metrics = await server.metrics()
    assert metrics["frames_out"] > 0
    assert metrics["video_encodes"] == 0
    assert metrics["video_decodes"] == 0

    # Sam leaves: his tile disappears from the other pages.
    await pages[2].click("#leave")
    await pages[2].click("#leave-confirm")  # leaving asks first

    async def sam_gone() -> bool:
        shown = [await tiles(page) for page in pages[:2]]
        return all(ids[2] not in grid for grid in shown)

    await eventually(sam_gone, 5, "Sam's tile disappears for the others")
    assert await pages[2].locator("#ended").is_visible()


async def therapist_and_alex(
    server: PeerCircleServer, open_page: OpenPage
) -> tuple[Page, Page, str]:
    """A therapist's page and a pre-admitted patient's page in one call; Alex's id."""
    session = await server.create_session()
    therapist = await server.mint_link(session["id"], "Dr. Rivera", "therapist")
    patient = await server.mint_link(session["id"], "Alex", "patient", admitted=True)
    watcher = await join(open_page, therapist["url"])
    alex = await join(open_page, patient["url"])
    return watcher, alex, patient["participant_id"]


async def test_mute_and_camera_off_show_on_the_other_pages(
    server: PeerCircleServer, open_page: OpenPage
) -> None:
    watcher, alex, alex_id = await therapist_and_alex(server, open_page)
    alex_tile = watcher.locator(f'.tile[data-participant="{alex_id}"]')

    async def alex_video_is(state: str) -> bool:
        return (await tiles(watcher)).get(alex_id, {}).get("video") == state

    await eventually(lambda: alex_video_is("on"), 20, "Alex's video shows")
    await alex.click("#toggle-mic")
    await eventually(
        lambda: alex_tile.locator(".label.mic-off").is_visible(), 5, "Alex shows as muted"
    )
    await alex.click("#toggle-camera")
    await eventually(lambda: alex_video_is("off"), 5, "Alex's tile shows no video")
    assert await alex_tile.locator(".avatar").is_visible()
    await alex.click("#toggle-camera")
    await eventually(lambda: alex_video_is("on"), 10, "Alex's video is back")


async def test_a_page_reconnects_by_itself_after_a_network_drop(
    server: PeerCircleServer, open_page: OpenPage
) -> None:
    watcher, alex, alex_id = await therapist_and_alex(server, open_page)

    async def watcher_paints_alex() -> bool:
        return await frames_of(watcher, alex_id) > 5

    await eventually(watcher_paints_alex, 20, "Alex's video shows")
    # Drop Alex's signaling connection the way a network blip does.
    await alex.context.set_offline(True)
    await eventually(
        lambda: alex.locator('#status[data-state="reconnecting"]').is_visible(),
        20,
        "Alex's page says it is reconnecting",
    )
    # A calm banner says what is happening and what to do, not only the status word.
    banner = alex.locator("#connection-banner")
    assert await banner.is_visible()
    assert "Reconnecting" in await banner.inner_text()
    await alex.context.set_offline(False)
    await eventually(
        lambda: alex.locator('#status[data-state="connected"]').is_visible(),
        20,
        "Alex's page reconnects by itself",
    )
    assert await banner.is_hidden()
    painted = await frames_of(watcher, alex_id)

    async def video_flows_again() -> bool:
        return await frames_of(watcher, alex_id) > painted + 20

    await eventually(video_flows_again, 15, "Alex's video flows again after reconnecting")


async def test_a_link_signed_elsewhere_is_refused_with_a_clear_reason(
    server: PeerCircleServer, open_page: OpenPage
) -> None:
    session = await server.create_session()
    grant = JoinGrant(
        session["id"], new_participant_id(), "Mallory", Role.PATIENT, time.time() + 600
    )
    forged = TokenSigner("a-secret-this-server-never-had-at-all").mint(grant)
    page = await join(open_page, f"{server.base_url}/join#t={forged}")
    await page.locator("#ended").wait_for(state="visible", timeout=10_000)
    assert "not valid" in (await page.locator("#ended-detail").inner_text())
    assert (await server.session_state(session["id"]))["participants"] == []
