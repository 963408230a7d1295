"""Roles and safety over the real protocol: waiting room, lock, moderation, chat, audit."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.support.client import Client
from tests.support.server import PeerCircleServer

pytestmark = pytest.mark.integration

MakeClient = Callable[..., Client]


class Person:
    """A connected client and the participant id its link names."""

    def __init__(self, client: Client, participant_id: str) -> None:
        self.client = client
        self.id = participant_id


async def arrive(
    server: PeerCircleServer,
    clients: MakeClient,
    session_id: str,
    name: str,
    role: str = "patient",
    *,
    admitted: bool = False,
    expect: str = "welcome",
) -> Person:
    """Someone who connected, joined, and got `expect` (welcome or waiting)."""
    link = await server.mint_link(session_id, name, role, admitted=admitted)
    client = clients(server, link["token"])
    await client.connect()
    await client.next_event(expect)
    return Person(client, link["participant_id"])


async def group(server: PeerCircleServer, clients: MakeClient) -> tuple[str, Person, Person]:
    """A session with a therapist and one admitted patient in the call."""
    session = await server.create_session(waiting_room=True)
    therapist = await arrive(server, clients, session["id"], "Dr. Rivera", "therapist")
    alex = await arrive(server, clients, session["id"], "Alex", admitted=True)
    return session["id"], therapist, alex


async def refused(person: Person, event: str, body: object) -> str:
    """Send `event` and return the code of the error it got."""
    count = len(person.client.errors)
    await person.client.emit(event, body)
    await person.client.wait_for(lambda: len(person.client.errors) > count)
    return str(person.client.errors[-1]["code"])


def seen(person: Person, *names: str) -> list[object]:
    """Payloads of the events of these names that the person received."""
    return [data for event, data in person.client.events if event in names]


async def test_the_waiting_room_is_seen_by_facilitators_only(
    server: PeerCircleServer, clients: MakeClient
) -> None:
    session_id, therapist, alex = await group(server, clients)
    sam = await arrive(server, clients, session_id, "Sam", expect="waiting")
    queue = await therapist.client.next_event(
        "waiting-room", lambda body: [p["id"] for p in body["waiting"]] == [sam.id]
    )
    assert queue["waiting"][0]["name"] == "Sam"
    assert seen(alex, "waiting-room") == []
    # Sam sees nothing of the call while waiting.
    assert sam.client.welcome is None and seen(sam, "offer") == []
    state = await server.session_state(session_id)
    assert sam.id not in {p["id"] for p in state["participants"]}


async def test_someone_waiting_may_only_leave(
    server: PeerCircleServer, clients: MakeClient
) -> None:
    session_id, therapist, _ = await group(server, clients)
    sam = await arrive(server, clients, session_id, "Sam", expect="waiting")
    for event, body in (
        ("chat", {"to": "room", "text": "hi"}),
        ("raise-hand", {}),
        ("media-state", {"mic": "off"}),
        ("mute", {"participant": therapist.id}),
    ):
        assert await refused(sam, event, body) == "not_permitted", event
    assert seen(therapist, "chat-message", "hands") == []


async def test_admitting_brings_the_person_into_the_call_with_media(
    server: PeerCircleServer, clients: MakeClient
) -> None:
    session_id, therapist, alex = await group(server, clients)
    sam = await arrive(server, clients, session_id, "Sam", expect="waiting")
    await therapist.client.emit("admit", {"participant": sam.id})
    welcome = await sam.client.next_event("welcome")
    assert welcome["you"]["id"] == sam.id
    await sam.client.next_event("offer")
    await alex.client.next_event("participant-joined", lambda p: p["id"] == sam.id)
    status, audit = await server.request("GET", f"/api/sessions/{session_id}/audit")
    assert status == 200 and audit["chain"] == "intact"
    admit = next(r for r in audit["records"] if r["action"] == "admit")
    assert (admit["actor"], admit["target"]) == (therapist.id, sam.id)


async def test_denying_tells_the_person_and_lets_them_knock_again(
    server: PeerCircleServer, clients: MakeClient
) -> None:
    session_id, therapist, _ = await group(server, clients)
    sam = await arrive(server, clients, session_id, "Sam", expect="waiting")
    await therapist.client.emit("deny", {"participant": sam.id, "message": "Thursday"})
    assert (await sam.client.next_event("denied"))["message"] == "Thursday"
    await sam.client.wait_for(lambda: sam.client.disconnected)
    again = clients(server, sam.client.token)
    await again.connect()
    await again.next_event("waiting")


async def test_a_locked_session_refuses_newcomers_at_connect(
    server: PeerCircleServer, clients: MakeClient
) -> None:
    session_id, therapist, _ = await group(server, clients)
    await therapist.client.emit("lock", {"locked": True})
    await therapist.client.next_event("session-settings", lambda body: body["locked"])
    link = await server.mint_link(session_id, "Sam", "patient", admitted=True)
    refusal = await clients(server, link["token"]).connect_refused()
    assert refusal["code"] == "session_locked"
    await therapist.client.emit("lock", {"locked": False})
    await therapist.client.next_event("session-settings", lambda body: not body["locked"])
    sam = clients(server, link["token"])
    await sam.connect()
    await sam.next_event("welcome")


async def test_a_removed_participant_is_told_by_whom_and_cannot_return(
    server: PeerCircleServer, clients: MakeClient
) -> None:
    _, therapist, alex = await group(server, clients)
    await therapist.client.emit("remove", {"participant": alex.id})
    assert await alex.client.next_event("session-left") == {
        "reason": "removed",
        "by": "Dr. Rivera",
    }
    await therapist.client.next_event("participant-left", lambda b: b["reason"] == "removed")
    refusal = await clients(server, alex.client.token).connect_refused()
    assert refusal["code"] == "removed"


async def test_mute_reaches_the_muted_person_and_everyone_sees_it(
    server: PeerCircleServer, clients: MakeClient
) -> None:
    session_id, therapist, alex = await group(server, clients)
    sam = await arrive(server, clients, session_id, "Sam", admitted=True)
    await therapist.client.emit("mute", {"participant": alex.id})
    assert await alex.client.next_event("muted") == {"by": "Dr. Rivera"}
    await sam.client.next_event(
        "participant-updated", lambda p: p["id"] == alex.id and p["mic"] == "off"
    )
    await therapist.client.emit("ask-unmute", {"participant": alex.id})
    assert await alex.client.next_event("unmute-requested") == {"by": "Dr. Rivera"}
    state = await server.session_state(session_id)
    assert next(p for p in state["participants"] if p["id"] == alex.id)["mic"] == "off"


async def test_a_patient_cannot_moderate_and_nothing_changes(
    server: PeerCircleServer, clients: MakeClient
) -> None:
    session_id, therapist, alex = await group(server, clients)
    before = await server.session_state(session_id)
    for event, body in (
        ("mute", {"participant": therapist.id}),
        ("remove", {"participant": therapist.id}),
        ("lock", {"locked": True}),
        ("end-session", {}),
        ("set-chat", {"enabled": False}),
        ("admit", {"participant": therapist.id}),
    ):
        assert await refused(alex, event, body) == "not_permitted", event
    assert await server.session_state(session_id) == before


async def test_private_chat_reaches_the_facilitators_only(
    server: PeerCircleServer, clients: MakeClient
) -> None:
    session_id, therapist, alex = await group(server, clients)
    sam = await arrive(server, clients, session_id, "Sam", admitted=True)
    await alex.client.emit("chat", {"to": "facilitators", "text": "can we talk after?"})
    message = await therapist.client.next_event("chat-message")
    assert (message["fromName"], message["to"]) == ("Alex", "facilitators")
    await alex.client.next_event("chat-message")
    await alex.client.emit("chat", {"to": "room", "text": "hello everyone"})
    await sam.client.next_event("chat-message", lambda m: m["text"] == "hello everyone")
    assert [m for m in seen(sam, "chat-message") if m["to"] == "facilitators"] == []  # type: ignore[index]


async def test_chat_floods_are_rate_limited_and_long_messages_refused(
    server: PeerCircleServer, clients: MakeClient
) -> None:
    _, therapist, alex = await group(server, clients)
    assert await refused(alex, "chat", {"to": "room", "text": "x" * 1001}) == "invalid_payload"
    for n in range(8):
        await alex.client.emit("chat", {"to": "room", "text": f"message {n}"})

    def limited() -> int:
        return len([e for e in alex.client.errors if e["code"] == "rate_limited"])

    # Each message comes back to its sender either as chat or as an error.
    await alex.client.wait_for(lambda: len(seen(alex, "chat-message")) + limited() == 8)
    assert limited() >= 3
    delivered = len(seen(alex, "chat-message"))
    await therapist.client.wait_for(lambda: len(seen(therapist, "chat-message")) == delivered)


async def test_hands_and_breaks_reach_the_facilitators_only(
    server: PeerCircleServer, clients: MakeClient
) -> None:
    session_id, therapist, alex = await group(server, clients)
    sam = await arrive(server, clients, session_id, "Sam", admitted=True)
    await alex.client.emit("raise-hand", {})
    assert (await therapist.client.next_event("hands"))["queue"] == [alex.id]
    assert (await alex.client.next_event("hand"))["raised"] is True
    await alex.client.emit("break", {})
    assert (await therapist.client.next_event("break-requested"))["name"] == "Alex"
    await therapist.client.emit("lower-hand", {"participant": alex.id})
    await alex.client.next_event("hand", lambda b: not b["raised"])
    assert seen(sam, "hands", "break-requested") == []


async def test_only_the_therapist_ends_the_session(
    server: PeerCircleServer, clients: MakeClient
) -> None:
    session_id, therapist, alex = await group(server, clients)
    co = await arrive(server, clients, session_id, "Co", "co-facilitator")
    assert await refused(co, "end-session", {}) == "not_permitted"
    await therapist.client.emit("end-session", {})
    for person in (therapist, alex, co):
        await person.client.next_event("session-ended")
    assert (await server.session_state(session_id))["ended"] is True


async def test_sharing_a_screen_needs_the_right_and_requests_reach_facilitators(
    server: PeerCircleServer, clients: MakeClient
) -> None:
    _, therapist, alex = await group(server, clients)
    assert await refused(alex, "share-start", {}) == "not_permitted"
    await alex.client.emit("share-request", {})
    pending = await therapist.client.next_event("share-requests", lambda b: b["pending"])
    assert pending["pending"] == [{"id": alex.id, "name": "Alex"}]
    assert await refused(alex, "share-request", {}) == "invalid_state"  # already pending
    await therapist.client.emit("share-approve", {"participant": alex.id})
    assert await alex.client.next_event("share-answer") == {"granted": True, "by": "Dr. Rivera"}
    offers = len([e for e, _ in alex.client.events if e == "offer"])
    await alex.client.emit("share-start", {})
    offer = await alex.client.next_event(
        "offer", since=0, within=10.0, match=lambda o: "screen" in o["publish"]
    )
    assert offer["revision"] > 0 and offers >= 1
