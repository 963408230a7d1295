"""Roles and safety in real browsers: waiting room, admission, muting."""

from __future__ import annotations

import asyncio
import functools

import pytest
from playwright.async_api import Locator, Page

from tests.e2e.conftest import OpenPage
from tests.e2e.test_group_call import eventually, frames_of, join
from tests.support.client import Client
from tests.support.server import PeerCircleServer

pytestmark = pytest.mark.e2e


async def audio_packets_from(page: Page, track_ids: set[str]) -> int:
    """Inbound audio packets this page has received of these tracks (getStats
    inbound-rtp packetsReceived); every one of them must still be subscribed."""
    inbound = await page.evaluate("window.peercircle.inbound()")
    assert track_ids <= inbound.keys(), f"not received any more: {track_ids - inbound.keys()}"
    return sum(int(s["packets"]) for tid, s in inbound.items() if tid in track_ids)


# The page stops sending a source the server muted (it replaces the track with
# null): this keeps it sending, so that only the server can make the mic go quiet.
KEEP_SENDING = """() => {
  const replace = RTCRtpSender.prototype.replaceTrack;
  window.testSenders = new Set();
  RTCRtpSender.prototype.replaceTrack = function (track) {
    if (track === null) return Promise.resolve();
    window.testSenders.add(this);
    return replace.call(this, track);
  };
}"""
AUDIO_PACKETS_SENT = """async () => {
  let sent = 0;
  for (const sender of window.testSenders) {
    if (sender.track?.kind !== "audio") continue;
    (await sender.getStats()).forEach((s) => {
      if (s.type === "outbound-rtp") sent += s.packetsSent;
    });
  }
  return sent;
}"""


async def test_therapist_admits_two_patients_and_mutes_one(
    server: PeerCircleServer, open_page: OpenPage
) -> None:
    session = await server.create_session("Tuesday group", waiting_room=True)
    therapist_link = await server.mint_link(session["id"], "Dr. Rivera", "therapist")
    alex_link = await server.mint_link(session["id"], "Alex", "patient")
    sam_link = await server.mint_link(session["id"], "Sam", "patient")
    therapist = await join(open_page, therapist_link["url"])
    alex = await join(open_page, alex_link["url"])
    sam = await join(open_page, sam_link["url"])

    # Both patients wait, and cannot see the call; the therapist sees the queue.
    for page in (alex, sam):
        await page.locator("#waiting").wait_for(state="visible", timeout=10_000)
        assert await page.locator("#call").is_hidden()
    await alex.evaluate(KEEP_SENDING)  # before Alex's page attaches its tracks
    queue = therapist.locator("#waiting-list li")
    await eventually(lambda: _count_is(queue, 2), 10, "the therapist sees two people waiting")
    state = await server.session_state(session["id"])
    assert [p["id"] for p in state["participants"]] == [therapist_link["participant_id"]]

    # Admit both: they are in the call and see each other's video.
    for link in (alex_link, sam_link):
        await therapist.click(
            f'#waiting-list li[data-participant="{link["participant_id"]}"] [data-action="admit"]'
        )
    alex_id, sam_id = alex_link["participant_id"], sam_link["participant_id"]

    async def patients_see_each_other() -> bool:
        return await frames_of(alex, sam_id) > 5 and await frames_of(sam, alex_id) > 5

    await eventually(patients_see_each_other, 20, "admitted patients see each other")

    # Alex's audio reaches Sam and the therapist ...
    alex_mic = {
        t["id"]
        for t in (await server.session_state(session["id"]))["tracks"]
        if t["participant"] == alex_id and t["kind"] == "audio"
    }
    assert alex_mic

    async def alex_audio_grows(page: Page) -> bool:
        first = await audio_packets_from(page, alex_mic)
        await page.wait_for_timeout(500)
        return await audio_packets_from(page, alex_mic) > first

    for page in (therapist, sam):
        await eventually(functools.partial(alex_audio_grows, page), 10, "Alex's audio flows")

    # ... until the therapist mutes Alex: it stops for everyone, and Alex is told by
    # whom. Alex's page keeps sending (KEEP_SENDING): the server stops forwarding it,
    # on the same subscription (no renegotiation).
    await therapist.click(f'#people-list li[data-participant="{alex_id}"] [data-action="mute"]')
    await alex.locator('.notice[data-kind="muted"]').wait_for(timeout=5_000)
    assert "Dr. Rivera" in await alex.locator('.notice[data-kind="muted"]').inner_text()
    assert await alex.locator("#toggle-mic").inner_text() == "Unmute"

    async def alex_audio_stopped(page: Page) -> bool:
        first = await audio_packets_from(page, alex_mic)
        sent = await alex.evaluate(AUDIO_PACKETS_SENT)
        await page.wait_for_timeout(1000)
        still_sending = await alex.evaluate(AUDIO_PACKETS_SENT) >= sent + 25
        assert still_sending, "Alex's page must go on sending for this check to mean anything"
        return await audio_packets_from(page, alex_mic) == first

    for page in (therapist, sam):
        await eventually(functools.partial(alex_audio_stopped, page), 5, "Alex's audio stops")

    # Alex unmutes: the others hear them again.
    await alex.click("#toggle-mic")
    for page in (therapist, sam):
        await eventually(functools.partial(alex_audio_grows, page), 5, "Alex's audio is back")


async def _count_is(locator: Locator, n: int) -> bool:
    return await locator.count() == n


async def test_the_console_shows_a_connected_captions_service_and_can_revoke_it(
    server: PeerCircleServer, open_page: OpenPage
) -> None:
    session = await server.create_session("Tuesday group")
    therapist_link = await server.mint_link(session["id"], "Dr. Rivera", "therapist")
    therapist = await join(open_page, therapist_link["url"])
    await therapist.locator("#console").wait_for(state="visible", timeout=10_000)
    services = therapist.locator("#captioner-list li")
    assert await services.count() == 0
    stt_link = await server.mint_link(session["id"], "Clinic STT", "captioner")
    stt = Client(server.base_url, stt_link["token"])
    await stt.connect(join=False)
    try:

        async def shown() -> bool:
            text = await services.all_inner_texts()
            return any("Captions service connected: Clinic STT" in t for t in text)

        await eventually(shown, 10, "the console shows the captions service")
        therapist.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
        await therapist.click('#captioner-list [data-action="revoke-link"]')
        await stt.wait_for(lambda: stt.disconnected)
        await eventually(lambda: _count_is(services, 0), 10, "the service is off the console")
        state = await server.session_state(session["id"])
        assert state["captioners"] == []
        assert [link["revoked"] for link in state["links"] if link["role"] == "captioner"] == [True]
    finally:
        await stt.close()
