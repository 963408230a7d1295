"""Go-rounds over the real protocol: who hears whose turn, passing, the console view."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.integration.helpers import arrive
from tests.support.client import Client
from tests.support.server import PeerCircleServer

pytestmark = pytest.mark.integration

MakeClient = Callable[..., Client]


def speaker_is(pid: str | None) -> Callable[[Any], bool]:
    return lambda body: body.get("active") and body.get("speaker") == pid


async def test_a_round_with_a_pass_as_the_group_and_the_therapist_see_it(
    server: PeerCircleServer, clients: MakeClient
) -> None:
    session = await server.create_session()
    sid = session["id"]
    therapist, _ = await arrive(server, clients, sid, "Dr. Rivera", "therapist")
    alex, alex_id = await arrive(server, clients, sid, "Alex")
    sam, sam_id = await arrive(server, clients, sid, "Sam")

    await therapist.emit("round-start", {"order": "listed", "perPersonS": 60})
    first = await sam.next_event("round", speaker_is(alex_id))
    assert [t["participant"] for t in first["turns"]] == [alex_id, sam_id]
    assert first["turnEndsAt"] is not None

    # Sam may not move the floor on; Alex passes.
    since = len(sam.errors)
    await sam.emit("round-next", {})
    await sam.wait_for(lambda: len(sam.errors) > since)
    assert sam.errors[-1]["code"] == "not_permitted"
    await alex.emit("round-pass", {})
    seen = await sam.next_event("round", speaker_is(sam_id))
    # The group sees a finished turn; the therapist sees the pass.
    assert seen["turns"][0]["state"] == "done"
    console = await therapist.next_event(
        "round-console", lambda body: body.get("speaker") == sam_id
    )
    assert console["turns"][0]["state"] == "passed" and console["turns"][0]["passes"] == 1

    # Sam is done; Alex is offered the floor again; the therapist closes the round.
    await sam.emit("round-next", {})
    await alex.next_event("round", speaker_is(alex_id), since=len(alex.events))
    await therapist.emit("round-end", {})
    closed = await alex.next_event("round", lambda body: body.get("active") is False)
    assert closed["room"] == "main"
    status, audit = await server.request("GET", f"/api/sessions/{sid}/audit")
    assert status == 200
    assert [r["action"] for r in audit["records"] if r["action"].startswith("round")] == [
        "round-start",
        "round-end",
    ]


async def test_a_round_in_a_breakout_room_is_heard_in_that_room_only(
    server: PeerCircleServer, clients: MakeClient
) -> None:
    session = await server.create_session()
    sid = session["id"]
    therapist, _ = await arrive(server, clients, sid, "Dr. Rivera", "therapist")
    lee, lee_id = await arrive(server, clients, sid, "Lee", "peer-leader")
    alex, alex_id = await arrive(server, clients, sid, "Alex")
    sam, sam_id = await arrive(server, clients, sid, "Sam")
    await therapist.emit("breakout-rooms", {"names": ["One", "Two"]})
    await therapist.next_event("breakouts", lambda b: len(b["rooms"]) == 2)
    for pid, room in ((lee_id, "r1"), (alex_id, "r1"), (sam_id, "r2")):
        await therapist.emit("breakout-move", {"participant": pid, "room": room})
    await therapist.emit("breakout-leader", {"room": "r1", "participant": lee_id})
    await therapist.emit("breakout-open", {"durationS": None})
    await sam.next_event("moved", lambda m: m["room"] == "r2")
    await lee.next_event("moved", lambda m: m["room"] == "r1")
    await lee.next_event("breakouts", lambda b: b["open"])

    await lee.emit("round-start", {})
    heard = await alex.next_event("round", lambda body: body.get("active") is True)
    assert heard["room"] == "r1" and {t["participant"] for t in heard["turns"]} == {
        lee_id,
        alex_id,
    }
    await therapist.next_event("round-console", lambda body: body["room"] == "r1")
    # Sam's room heard nothing of it; a round trip of Sam's own proves the order.
    await sam.emit("raise-hand", {})
    await sam.next_event("hand", lambda body: body["raised"])
    assert [e for e, _ in sam.events if e == "round"] == []


async def test_a_small_plan_runs_with_a_peer_led_topic_and_breakouts(
    server: PeerCircleServer, clients: MakeClient
) -> None:
    session = await server.create_session()
    sid = session["id"]
    therapist, _ = await arrive(server, clients, sid, "Dr. Rivera", "therapist")
    lee, lee_id = await arrive(server, clients, sid, "Lee", "peer-leader")
    alex, alex_id = await arrive(server, clients, sid, "Alex")
    segments = [
        {"title": "Check-in", "kind": "check-in", "plannedS": 600},
        {"title": "Sleep", "kind": "topic", "plannedS": 900, "leaders": [lee_id]},
        {"title": "Small groups", "kind": "breakouts", "plannedS": 600},
        {"title": "Reflection", "kind": "reflection", "plannedS": 300},
    ]
    await therapist.emit("plan-set", {"segments": segments, "leadersMayAdvance": True})
    laid = await alex.next_event("plan", lambda p: len(p["segments"]) == 4)
    assert laid["current"] is None and laid["totalPlannedS"] == 2400

    await therapist.emit("plan-next", {})
    await alex.next_event("plan", lambda p: p["current"] == 0)
    await therapist.emit("plan-next", {})
    topic = await alex.next_event("plan", lambda p: p["current"] == 1)
    # The topic's leader is in the spotlight for everyone, and may move on.
    assert topic["spotlight"] == lee_id and topic["segments"][1]["leaders"][0]["name"] == "Lee"
    await therapist.emit("breakout-rooms", {"names": ["One"]})
    await therapist.next_event("breakouts", lambda b: len(b["rooms"]) == 1)
    await therapist.emit("breakout-move", {"participant": alex_id, "room": "r1"})
    await lee.emit("plan-next", {})  # the leader moves on: the rooms open
    await alex.next_event("moved", lambda m: m["room"] == "r1")
    opened = await alex.next_event("plan", lambda p: p["current"] == 2)
    assert opened["endsAt"] is not None

    # Alex may not move the session on; the therapist brings everyone back.
    since = len(alex.errors)
    await alex.emit("plan-next", {})
    await alex.wait_for(lambda: len(alex.errors) > since)
    assert alex.errors[-1]["code"] == "not_permitted"
    await therapist.emit("plan-next", {})
    await alex.next_event("moved", lambda m: m["room"] == "main")
    last = await alex.next_event("plan", lambda p: p["current"] == 3)
    assert [s["state"] for s in last["segments"]] == ["done", "done", "done", "current"]
