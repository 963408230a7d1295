"""The facilitators' signals over the real protocol: shared between two consoles, kept
until handled; admit all; a message to the waiting room; a private message to one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.integration.helpers import arrive
from tests.support.client import Client
from tests.support.server import PeerCircleServer

pytestmark = pytest.mark.integration

MakeClient = Callable[..., Client]


def kinds(body: Any) -> list[str]:
    return sorted(item["kind"] for item in body["items"])


async def test_signals_stay_until_one_facilitator_handles_them_for_both(
    server: PeerCircleServer, clients: MakeClient
) -> None:
    session = await server.create_session(waiting_room=True)
    sid = session["id"]
    therapist, _ = await arrive(server, clients, sid, "Dr. Rivera", "therapist")
    cofac, _ = await arrive(server, clients, sid, "Co", "co-facilitator")
    alex, alex_id = await arrive(server, clients, sid, "Alex")
    await alex.emit("tech-help", {})
    await alex.emit("break", {})
    await alex.emit("chat", {"to": "facilitators", "text": "Can we talk after?"})
    both = await cofac.next_event(
        "signals", lambda b: kinds(b) == ["break", "private-message", "tech-help"]
    )
    assert {i["participant"] for i in both["items"]} == {alex_id}
    tech = next(i for i in both["items"] if i["kind"] == "tech-help")
    await therapist.emit("signal-dismiss", {"signal": tech["id"]})
    # The other console agrees at once.
    await cofac.next_event("signals", lambda b: kinds(b) == ["break", "private-message"])
    # Knocking is a signal until admitted; everything of someone who leaves goes.
    sam, _ = await arrive(server, clients, sid, "Sam", admitted=False, expect="waiting")
    await therapist.next_event("signals", lambda b: "waiting" in kinds(b))
    await alex.emit("leave", {})
    await therapist.next_event("signals", lambda b: kinds(b) == ["waiting"])
    assert [e for e, _ in sam.events if e == "signals"] == []


async def test_admit_all_a_waiting_room_message_and_a_private_message(
    server: PeerCircleServer, clients: MakeClient
) -> None:
    session = await server.create_session(waiting_room=True)
    sid = session["id"]
    therapist, _ = await arrive(server, clients, sid, "Dr. Rivera", "therapist")
    waiting = [
        (await arrive(server, clients, sid, name, admitted=False, expect="waiting"))
        for name in ("Alex", "Sam", "Jordan")
    ]
    await therapist.next_event("waiting-room", lambda b: len(b["waiting"]) == 3)
    await therapist.emit("waiting-message", {"text": "We start in two minutes"})
    for client, _ in waiting:
        got = await client.next_event("waiting-message")
        assert got["text"] == "We start in two minutes" and got["fromName"] == "Dr. Rivera"
    await therapist.emit("admit-all", {})
    for client, _ in waiting:
        await client.next_event("welcome")
    (alex, alex_id), (sam, _), _ = waiting
    await therapist.emit("chat", {"to": "participant", "participant": alex_id, "text": "ok?"})
    got = await alex.next_event("chat-message", lambda m: m["text"] == "ok?")
    assert got["participant"] == alex_id
    await therapist.next_event("chat-message", lambda m: m["text"] == "ok?")
    # Sam hears nothing of it: a room message after it is the first chat Sam gets.
    await therapist.emit("chat", {"to": "room", "text": "welcome all"})
    first = await sam.next_event("chat-message")
    assert first["text"] == "welcome all"
    # A patient may not write privately to another patient.
    since = len(alex.errors)
    await alex.emit("chat", {"to": "participant", "participant": alex_id, "text": "x"})
    await alex.wait_for(lambda: len(alex.errors) > since)
    assert alex.errors[-1]["code"] == "not_permitted"


async def test_the_facilitators_see_everyones_link_quality_and_nobody_else_does(
    server: PeerCircleServer, clients: MakeClient
) -> None:
    session = await server.create_session()
    sid = session["id"]
    therapist, _ = await arrive(server, clients, sid, "Dr. Rivera", "therapist")
    alex, alex_id = await arrive(server, clients, sid, "Alex")
    sam, _ = await arrive(server, clients, sid, "Sam")
    await alex.emit("link-quality", {"quality": "poor"})
    got = await therapist.next_event("link-quality")
    assert got == {"participant": alex_id, "quality": "poor"}
    since = len(alex.errors)
    await alex.emit("link-quality", {"quality": "terrible"})
    await alex.wait_for(lambda: len(alex.errors) > since)
    assert alex.errors[-1]["code"] == "invalid_payload"
    # A round trip of Sam's own: no link-quality reached Sam.
    await sam.emit("raise-hand", {})
    await sam.next_event("hand", lambda body: body["raised"])
    assert [e for e, _ in sam.events if e == "link-quality"] == []
