"""Breakout rooms over the real protocol: plan, open, move, chat per room, timer, help."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.integration.test_safety import MakeClient, Person, arrive, refused
from tests.integration.test_safety import seen as seen_objects
from tests.support.server import PeerCircleServer

pytestmark = pytest.mark.integration


def seen(person: Person, *names: str) -> list[Any]:
    """Payloads of the events of these names that the person received."""
    return list(seen_objects(person, *names))


async def circle(server: PeerCircleServer, clients: MakeClient) -> tuple[str, Person, list[Person]]:
    """A therapist and four patients in the call, two rooms defined."""
    session = await server.create_session()
    sid = session["id"]
    therapist = await arrive(server, clients, sid, "Dr. Rivera", "therapist")
    patients = [await arrive(server, clients, sid, n) for n in ("Alex", "Sam", "Kim", "Jo")]
    await therapist.client.emit("breakout-rooms", {"names": ["Blue", "Green"]})
    await therapist.client.next_event("breakouts", lambda b: len(b["rooms"]) == 2)
    return sid, therapist, patients


async def open_rooms(therapist: Person, patients: list[Person], body: dict[str, object]) -> None:
    for person, room in zip(patients, ("r1", "r1", "r2", "r2"), strict=True):
        await therapist.client.emit("breakout-move", {"participant": person.id, "room": room})
    await therapist.client.next_event("breakout-console", lambda c: len(c["planned"]) == 4)
    await therapist.client.emit("breakout-open", body)


async def test_opening_moves_everyone_and_chat_stays_in_the_room(
    server: PeerCircleServer, clients: MakeClient
) -> None:
    _, therapist, (alex, sam, kim, jo) = await circle(server, clients)
    await open_rooms(therapist, [alex, sam, kim, jo], {"durationS": 600})
    moved = await alex.client.next_event("moved")
    assert (moved["room"], moved["roomName"], moved["by"]) == ("r1", "Blue", "Dr. Rivera")
    state = await kim.client.next_event("breakouts", lambda b: b["open"])
    assert state["endsAt"] - state["serverTime"] == pytest.approx(600, abs=5)
    await jo.client.next_event("moved")
    await alex.client.emit("chat", {"to": "room", "text": "hello blue"})
    heard = await sam.client.next_event("chat-message")
    assert (heard["text"], heard["room"]) == ("hello blue", "r1")
    await kim.client.emit("chat", {"to": "room", "text": "hello green"})
    await jo.client.next_event("chat-message", lambda m: m["text"] == "hello green")
    assert [m["text"] for m in seen(kim, "chat-message")] == ["hello green"]
    assert "hello blue" not in [m["text"] for m in seen(jo, "chat-message")]


async def test_moves_while_open_and_close_bring_everyone_back(
    server: PeerCircleServer, clients: MakeClient
) -> None:
    sid, therapist, people = await circle(server, clients)
    alex, sam, kim, _ = people
    await open_rooms(therapist, people, {})
    await therapist.client.emit("breakout-move", {"participant": alex.id, "room": "r2"})
    await sam.client.next_event(
        "participant-updated", lambda p: p["id"] == alex.id and p["room"] == "r2"
    )
    await therapist.client.emit("breakout-visit", {"room": "r2"})
    visiting = await kim.client.next_event(
        "participant-updated", lambda p: p["id"] == therapist.id and p["visiting"]
    )
    assert visiting["room"] == "r2"
    await therapist.client.emit("breakout-close", {})
    closed = await kim.client.next_event("breakouts-closed")
    assert closed == {"reason": "closed", "by": "Dr. Rivera"}
    state = await server.session_state(sid)
    assert {p["room"] for p in state["participants"]} == {"main"}
    status, audit = await server.request("GET", f"/api/sessions/{sid}/audit")
    actions = [r["action"] for r in audit["records"]]
    assert status == 200 and "breakouts-open" in actions and "breakouts-close" in actions
    assert any(r["action"] == "move" and r["target"] == alex.id for r in audit["records"])


async def test_concurrent_moves_of_one_person_resolve_to_one_room(
    server: PeerCircleServer, clients: MakeClient
) -> None:
    sid, therapist, people = await circle(server, clients)
    alex = people[0]
    await open_rooms(therapist, people, {})
    await alex.client.next_event("moved")
    co = await arrive(server, clients, sid, "Dr. Chen", "co-facilitator")
    await asyncio.gather(
        therapist.client.emit("breakout-move", {"participant": alex.id, "room": "r2"}),
        co.client.emit("breakout-move", {"participant": alex.id, "room": "main"}),
    )
    await alex.client.wait_for(lambda: len(seen(alex, "moved")) == 3)
    final = seen(alex, "moved")[-1]
    state = await server.session_state(sid)
    rooms = [p["room"] for p in state["participants"] if p["id"] == alex.id]
    assert rooms == [final["room"]]


async def test_help_reaches_the_facilitators_with_the_room_name(
    server: PeerCircleServer, clients: MakeClient
) -> None:
    _, therapist, people = await circle(server, clients)
    kim = people[2]
    await open_rooms(therapist, people, {})
    await kim.client.next_event("moved")
    await kim.client.emit("breakout-help", {})
    help_request = await therapist.client.next_event("help-requested")
    assert (help_request["participant"], help_request["roomName"]) == (kim.id, "Green")
    console = await therapist.client.next_event("breakout-console", lambda c: c["help"])
    assert console["help"][0]["name"] == "Kim"
    assert seen(people[0], "help-requested", "breakout-console") == []
    await therapist.client.emit("breakout-broadcast", {"text": "Five minutes left"})
    for person in people:
        message = await person.client.next_event("broadcast")
        assert (message["text"], message["fromName"]) == ("Five minutes left", "Dr. Rivera")


async def test_the_timer_runs_out_and_brings_everyone_back(
    server: PeerCircleServer, clients: MakeClient
) -> None:
    sid, therapist, people = await circle(server, clients)
    await open_rooms(therapist, people, {"durationS": 10})
    closed = await people[0].client.next_event("breakouts-closed", within=20)
    assert closed == {"reason": "timer"}
    await people[0].client.next_event("moved", lambda m: m["room"] == "main")
    state = await server.session_state(sid)
    assert {p["room"] for p in state["participants"]} == {"main"}


async def test_bad_and_forbidden_breakout_messages_change_nothing(
    server: PeerCircleServer, clients: MakeClient
) -> None:
    sid, therapist, people = await circle(server, clients)
    alex, sam = people[0], people[1]
    before = await server.session_state(sid)
    cases = [
        (therapist, "breakout-move", {"participant": "p_nobody", "room": "r1"}, "not_found"),
        (therapist, "breakout-move", {"participant": alex.id, "room": "r9"}, "not_found"),
        (therapist, "breakout-move", {"participant": alex.id}, "invalid_payload"),
        (therapist, "breakout-rooms", {"names": ["x"] * 21}, "invalid_payload"),
        (therapist, "breakout-open", {"durationS": "ten"}, "invalid_payload"),
        (therapist, "breakout-open", {"durationS": 5}, "invalid_state"),
        (
            therapist,
            "breakout-assign",
            {"together": [[alex.id, sam.id]], "apart": [[sam.id, alex.id]]},
            "invalid_state",
        ),
        (therapist, "breakout-close", {}, "invalid_state"),
        (alex, "breakout-move", {"participant": alex.id, "room": "r2"}, "not_permitted"),
        (alex, "breakout-choose", {"room": "r2"}, "not_permitted"),
        (alex, "breakout-open", {}, "not_permitted"),
        (alex, "breakout-broadcast", {"text": "hi all"}, "not_permitted"),
    ]
    for person, event, body, code in cases:
        assert await refused(person, event, body) == code, (event, body)
    after = await server.session_state(sid)
    assert after["participants"] == before["participants"]
