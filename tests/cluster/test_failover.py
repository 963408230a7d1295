"""When the owner dies (kill -9) or is told to stop (SIGTERM), another node serves the
session from what was stored (issue 17, items 3 and 4): real redis-server, two real
nodes, real socket.io clients on loopback."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Callable
from typing import Any

import pytest
import socketio

from tests.cluster.helpers import MakeClient, connect_anywhere
from tests.cluster.test_ownership import eventually, owner_of
from tests.support.client import Client
from tests.support.redis_server import RedisServer
from tests.support.server import PeerCircleServer

pytestmark = pytest.mark.integration

GRACE_S = 8.0


def stored(redis_server: RedisServer, key: str) -> Any:
    with redis_server.client() as client:
        raw = client.get(key)
    return json.loads(raw) if raw is not None else None


def audit(redis_server: RedisServer, sid: str) -> list[dict[str, Any]]:
    with redis_server.client() as client:
        return [json.loads(r) for r in client.lrange(f"peercircle:audit:{sid}", 0, -1)]


async def come_back(make: MakeClient, node: PeerCircleServer, token: str) -> Client:
    """Connect (and join) at `node` until it lets us in, following `moved`, as the page
    does while the session finds its new owner."""
    deadline = time.monotonic() + 15
    url = node.base_url
    while True:
        client = make(url, token)
        try:
            await client.connect()
            return client
        except socketio.exceptions.ConnectionError:
            refusal = (client.refusal or {}).get("data") or {}
            # Refused while the old owner's lease runs out, or sent to the new owner.
            assert refusal.get("code") in {"moved", "unavailable", None}, refusal
            url = str(refusal.get("url") or node.base_url)
            if url != node.base_url and not url.startswith("http://127.0.0.1"):
                url = node.base_url
        assert time.monotonic() < deadline, "not let in within 15 s"
        await _pause()


def _closed(client: Client) -> Callable[[], bool]:
    return lambda: client.disconnected


def _now(check: Any) -> Any:
    async def run() -> Any:
        return check()

    return run


async def _pause() -> None:
    import asyncio

    await asyncio.sleep(0.3)  # the page retries after a moment too


async def set_up(
    a: PeerCircleServer, b: PeerCircleServer, cluster_clients: MakeClient
) -> dict[str, Any]:
    """A session on `a` with a waiting room: a therapist, Alex admitted and granted the
    screen, Sam admitted, Jo removed, the session locked, a breakout room open with a
    timer."""
    session = await a.create_session(waiting_room=True)
    sid = session["id"]
    links = {
        "therapist": await a.mint_link(sid, "Dr. Rivera", "therapist"),
        "alex": await a.mint_link(sid, "Alex"),
        "sam": await a.mint_link(sid, "Sam"),
        "jo": await a.mint_link(sid, "Jo"),
    }
    therapist, _ = await connect_anywhere(cluster_clients, a.base_url, links["therapist"]["token"])
    await therapist.next_event("welcome")
    owner_url = therapist.base_url
    people: dict[str, Client] = {"therapist": therapist}
    for name in ("alex", "sam", "jo"):
        client = cluster_clients(owner_url, links[name]["token"])
        await client.connect()
        await client.next_event("waiting")
        pid = links[name]["participant_id"]
        await therapist.emit("admit", {"participant": pid})
        await client.next_event("welcome")
        people[name] = client
    ids = {name: link["participant_id"] for name, link in links.items()}
    await therapist.emit("remove", {"participant": ids["jo"]})
    await people["jo"].next_event("session-left")
    await therapist.emit("share-approve", {"participant": ids["alex"]})
    await people["alex"].next_event("share-answer")
    await therapist.emit("breakout-rooms", {"names": ["Garden"]})
    await therapist.emit("breakout-move", {"participant": ids["alex"], "room": "r1"})
    await therapist.emit("breakout-open", {"durationS": 15})
    await people["alex"].next_event("breakouts", lambda b: b["open"] is True)
    await therapist.emit("lock", {"locked": True})
    await therapist.next_event("session-settings", lambda s: s.get("locked") is True)
    return {"sid": sid, "links": links, "ids": ids, "people": people}


async def test_a_killed_owner_s_sessions_are_taken_over_from_what_was_stored(
    start_node: Any, redis_server: RedisServer, cluster_clients: MakeClient
) -> None:
    a = await start_node(reconnect_grace_s=GRACE_S)
    b = await start_node(reconnect_grace_s=GRACE_S)
    # The session starts on the least-loaded node: whichever it is, call it `owner`.
    world = await set_up(a, b, cluster_clients)
    sid, ids, links = world["sid"], world["ids"], world["links"]
    first = await owner_of([a, b], redis_server, sid)
    owner, survivor = (a, b) if world["people"]["therapist"].base_url == a.base_url else (b, a)
    before = stored(redis_server, f"peercircle:session:{sid}")
    assert before["locked"] and ids["jo"] in before["removed"]
    assert ids["alex"] in before["share_rights"] and before["breakouts"]["open"]
    ends_at = before["breakouts"]["ends_at"]
    records_before = audit(redis_server, sid)

    assert owner._process is not None
    # Speaking totals are flushed every second: what a kill can lose is what was
    # measured since the last flush.
    await eventually(
        _now(lambda: stored(redis_server, f"peercircle:kept:speaking:{sid}")), 5, "a flush"
    )
    speaking = stored(redis_server, f"peercircle:kept:speaking:{sid}")
    killed_at = time.time()
    owner._process.send_signal(signal.SIGKILL)
    owner._process.wait(5)

    # Another node takes the session over by itself (nobody has to knock first).
    async def taken() -> bool:
        with redis_server.client() as client:
            held = client.get(f"peercircle:lease:{sid}")
        return held is not None and not bytes(held).decode().startswith(first + "|")

    await eventually(taken, 8, "a takeover")
    took_s = time.time() - killed_at
    # The therapist and Alex come back (Sam never does), without the waiting room.
    therapist = await come_back(cluster_clients, survivor, links["therapist"]["token"])
    alex = await come_back(cluster_clients, survivor, links["alex"]["token"])
    for client in (therapist, alex):
        await client.next_event("welcome")
        assert not any(name == "waiting" for name, _ in client.events)
    assert therapist.base_url == alex.base_url == survivor.base_url
    # What the session was survives: the lock, the removal, the grant, the rooms.
    state = stored(redis_server, f"peercircle:session:{sid}")
    assert state["locked"] and ids["jo"] in state["removed"]
    assert ids["alex"] in state["share_rights"]
    assert state["breakouts"]["ends_at"] == ends_at
    refusal = await cluster_clients(survivor.base_url, links["jo"]["token"]).connect_refused()
    assert refusal["code"] == "removed", refusal
    late = await survivor.mint_link(sid, "Late")
    refusal = await cluster_clients(survivor.base_url, late["token"]).connect_refused()
    assert refusal["code"] == "session_locked", refusal
    # The breakout timer runs on the new owner: the rooms close when it runs out.
    await therapist.next_event("breakouts-closed", lambda b: b["reason"] == "timer", within=20)
    assert time.time() >= ends_at - 0.5
    # Sam's seat expires after the grace period, on the new owner.
    await therapist.next_event(
        "participant-left", lambda p: p["id"] == ids["sam"], within=GRACE_S + 10
    )
    # The last flush before the kill was at most ~2 s before it; the new owner goes on
    # from the stored ledger (its flushes carry its own token).
    assert killed_at - speaking["at"] <= 2.0, (killed_at, speaking["at"])
    speaking_now = stored(redis_server, f"peercircle:kept:speaking:{sid}")
    assert speaking_now["node"] != first and speaking_now["token"] > speaking["token"]
    # The audit chain goes on from where the old owner left it: intact, nothing lost
    # or repeated.
    records = audit(redis_server, sid)
    assert records[: len(records_before)] == records_before
    assert [r["seq"] for r in records] == list(range(1, len(records) + 1))
    status, body = await survivor.request("GET", f"/api/sessions/{sid}/audit")
    assert status == 200 and body["chain"] == "intact", body
    assert took_s < 8, took_s


async def test_sigterm_hands_the_sessions_over_and_moves_their_people(
    start_node: Any, redis_server: RedisServer, cluster_clients: MakeClient
) -> None:
    a, b = await start_node(), await start_node()
    session = await a.create_session(waiting_room=True)
    sid = session["id"]
    links = [await a.mint_link(sid, "Dr. Rivera", "therapist"), await a.mint_link(sid, "Alex")]
    therapist, _ = await connect_anywhere(cluster_clients, a.base_url, links[0]["token"])
    await therapist.next_event("welcome")
    owner, other = (a, b) if therapist.base_url == a.base_url else (b, a)
    first = await owner_of([a, b], redis_server, sid)
    alex = cluster_clients(owner.base_url, links[1]["token"])
    await alex.connect()
    await alex.next_event("waiting")
    await therapist.emit("admit", {"participant": links[1]["participant_id"]})
    await alex.next_event("welcome")
    await therapist.emit("lock", {"locked": True})
    await therapist.next_event("session-settings", lambda s: s.get("locked") is True)
    records_before = audit(redis_server, sid)

    assert owner._process is not None
    stopped_at = time.time()
    owner._process.send_signal(signal.SIGTERM)
    # Within 5 s each person is told where the session is now, and the socket closes.
    for client in (therapist, alex):
        moved = await client.next_event("error", lambda e: e["code"] == "moved", within=5)
        assert moved["url"] == other.base_url, moved
        await client.wait_for(_closed(client), within=5)
    assert time.time() - stopped_at < 5
    # The last flush of the speaking ledger was made after SIGTERM, under the lease.
    speaking = stored(redis_server, f"peercircle:kept:speaking:{sid}")
    assert speaking["at"] >= stopped_at - 0.1, (speaking["at"], stopped_at)
    # They follow the URL and come straight in, without the waiting room.
    back = [cluster_clients(moved["url"], link["token"]) for link in links]
    for client in back:
        await client.connect()
        await client.next_event("welcome")
        assert not any(name == "waiting" for name, _ in client.events)
    state = stored(redis_server, f"peercircle:session:{sid}")
    assert state["locked"] is True
    assert await owner_of([a, b], redis_server, sid) != first
    records = audit(redis_server, sid)
    assert records[: len(records_before)] == records_before
    assert [r["seq"] for r in records] == list(range(1, len(records) + 1))
    status, body = await other.request("GET", f"/api/sessions/{sid}/audit")
    assert status == 200 and body["chain"] == "intact", body
    # And the stopped node exits by itself.
    assert owner._process.wait(10) == 0
