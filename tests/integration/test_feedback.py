"""Feedback for a peer leader and reactions, over the real protocol: who receives them."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.integration.helpers import arrive
from tests.support.client import Client
from tests.support.server import PeerCircleServer

pytestmark = pytest.mark.integration

MakeClient = Callable[..., Client]


async def test_feedback_reaches_the_leader_and_the_therapist_only(
    server: PeerCircleServer, clients: MakeClient
) -> None:
    session = await server.create_session()
    sid = session["id"]
    therapist, _ = await arrive(server, clients, sid, "Dr. Rivera", "therapist")
    lee, lee_id = await arrive(server, clients, sid, "Lee", "peer-leader")
    alex, alex_id = await arrive(server, clients, sid, "Alex")
    sam, _ = await arrive(server, clients, sid, "Sam")
    segments = [
        {"title": "Sleep", "kind": "topic", "plannedS": 900, "leaders": [lee_id]},
        {"title": "Closing", "kind": "closing", "plannedS": 300},
    ]
    await therapist.emit("plan-set", {"segments": segments})
    await therapist.emit("plan-next", {})
    await alex.next_event("plan", lambda p: p["current"] == 0)
    await therapist.emit("plan-next", {})
    await alex.next_event("plan", lambda p: p["current"] == 1)

    await alex.emit("feedback", {"segment": 0, "kind": "well-led", "text": "Thank you, Lee"})
    got = await lee.next_event("feedback")
    assert (got["from"], got["kind"], got["text"]) == (alex_id, "well-led", "Thank you, Lee")
    await therapist.next_event("feedback", lambda f: f["from"] == alex_id)
    # Sam, and Alex, get nothing of it: a reaction of Alex's afterwards arrives first.
    await alex.emit("reaction", {"reaction": "clap"})
    await sam.next_event("reaction", lambda r: r["participant"] == alex_id)
    assert [e for e, _ in sam.events if e == "feedback"] == []
    assert [e for e, _ in alex.events if e == "feedback"] == []
    # Once per segment; the therapist can turn reactions off.
    since = len(alex.errors)
    await alex.emit("feedback", {"segment": 0, "kind": "thank-you"})
    await alex.wait_for(lambda: len(alex.errors) > since)
    assert alex.errors[-1]["code"] == "invalid_state"
    await therapist.emit("set-reactions", {"enabled": False})
    await alex.next_event("session-settings", lambda b: b["reactions"] is False)
    since = len(alex.errors)
    await alex.emit("reaction", {"reaction": "heart"})
    await alex.wait_for(lambda: len(alex.errors) > since)
    assert alex.errors[-1]["code"] == "invalid_state"
