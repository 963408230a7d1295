"""One session lives on exactly one node (issue 17, items 1 and 2): real redis-server,
two or three real nodes, real socket.io clients on loopback."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from tests.cluster.conftest import LEASE_TTL_S, NODE_TTL_S, StartNode
from tests.cluster.helpers import MakeClient, connect_anywhere
from tests.support.redis_server import RedisServer
from tests.support.server import PeerCircleServer

pytestmark = pytest.mark.integration


async def eventually(check: Callable[[], Awaitable[Any]], within: float, what: str) -> Any:
    """Poll `check` until it returns something truthy."""
    deadline = time.monotonic() + within
    while True:
        got = await check()
        if got:
            return got
        assert time.monotonic() < deadline, f"{what}: not within {within} s"
        await asyncio.sleep(0.1)


async def owner_of(nodes: list[PeerCircleServer], redis_server: RedisServer, sid: str) -> str:
    with redis_server.client() as client:
        held = client.get(f"peercircle:lease:{sid}")
    assert held is not None, "nobody holds the lease"
    return bytes(held).decode().rpartition("|")[0]


def stored(redis_server: RedisServer, key: str) -> Any:
    import json

    with redis_server.client() as client:
        raw = client.get(key)
    return json.loads(raw) if raw is not None else None


def audit_seqs(redis_server: RedisServer, sid: str) -> list[int]:
    import json

    with redis_server.client() as client:
        return [json.loads(r)["seq"] for r in client.lrange(f"peercircle:audit:{sid}", 0, -1)]


async def test_people_joining_through_different_nodes_meet_on_the_owner(
    start_node: StartNode, redis_server: RedisServer, cluster_clients: MakeClient
) -> None:
    a, b = await start_node(), await start_node()
    session = await a.create_session(waiting_room=True)
    sid = session["id"]
    therapist_link = await a.mint_link(sid, "Dr. Rivera", "therapist")
    patient_links = [await b.mint_link(sid, name, "patient") for name in ("Alex", "Sam")]

    therapist, _ = await connect_anywhere(cluster_clients, a.base_url, therapist_link["token"])
    await therapist.next_event("welcome")
    got_in = []
    for link in patient_links:
        patient, hops = await connect_anywhere(cluster_clients, b.base_url, link["token"])
        await patient.next_event("waiting")
        got_in.append((patient, hops))
    owner_url = therapist.base_url
    # Everyone is on one node, the owner; whoever knocked elsewhere was sent there.
    assert {p.base_url for p, _ in got_in} == {owner_url}
    if owner_url != b.base_url:
        assert all(hops == [owner_url] for _, hops in got_in)
    # The therapist, wherever they came in, sees the waiting room and admits from it.
    waiting = await therapist.next_event("waiting-room", lambda w: len(w["waiting"]) == 2)
    for person in waiting["waiting"]:
        await therapist.emit("admit", {"participant": person["id"]})
    for patient, _ in got_in:
        await patient.next_event("welcome")
    await therapist.wait_for(lambda: len(therapist.participants) == 3)
    # Both nodes answer the admin API with the owner's one state.
    state_a, state_b = await a.session_state(sid), await b.session_state(sid)
    assert state_a == state_b
    assert len(state_a["participants"]) == 3


async def test_the_admin_api_answers_for_every_session_on_every_node(
    start_node: StartNode, redis_server: RedisServer, cluster_clients: MakeClient
) -> None:
    nodes = [await start_node(), await start_node()]
    sid = (await nodes[0].create_session())["id"]
    owner = await owner_of(nodes, redis_server, sid)
    link = await nodes[1].mint_link(sid, "Dr. Rivera", "therapist")
    therapist, _ = await connect_anywhere(cluster_clients, nodes[1].base_url, link["token"])
    await therapist.next_event("welcome")
    # Ending through whichever node is not the owner ends it on the owner, for good.
    other = next(n for n in nodes if n.base_url != therapist.base_url)
    ended = await other.end_session(sid)
    assert ended["ended"] is True
    await therapist.next_event("session-ended")
    for node in nodes:
        status, body = await node.request("POST", f"/api/sessions/{sid}/links", {"name": "X"})
        assert status == 409 and body["error"]["code"] == "session_ended", body
    assert stored(redis_server, f"peercircle:session:{sid}")["ended"] is True
    assert await owner_of(nodes, redis_server, sid) == owner
    status, audit = await other.request("GET", f"/api/sessions/{sid}/audit")
    assert status == 200 and audit["chain"] == "intact", audit
    seqs = audit_seqs(redis_server, sid)
    assert seqs == list(range(1, len(seqs) + 1))


async def test_a_paused_former_owner_cannot_write_when_it_resumes(
    start_node: StartNode, redis_server: RedisServer, cluster_clients: MakeClient
) -> None:
    a, b = await start_node(), await start_node()
    status, created = await a.request(
        "POST", "/api/sessions", {"title": "Group", "waiting_room": False}
    )
    assert status == 201
    sid = created["id"]
    link = await a.mint_link(sid, "Dr. Rivera", "therapist")
    therapist, _ = await connect_anywhere(cluster_clients, a.base_url, link["token"])
    await therapist.next_event("welcome")
    owner = a if therapist.base_url == a.base_url else b
    other = b if owner is a else a
    assert owner._process is not None
    before = stored(redis_server, f"peercircle:session:{sid}")
    first_owner = await owner_of([a, b], redis_server, sid)

    owner._process.send_signal(signal.SIGSTOP)
    try:
        # Past the lease and the heartbeat: the other node takes the session over
        # (here on an admin call) from what was stored.
        await asyncio.sleep(max(LEASE_TTL_S, NODE_TTL_S) + 0.5)  # a pause is the fault
        state = await eventually(
            lambda: _state_or_none(other, sid), 10, "the other node serving the session"
        )
        new_owner = await owner_of([a, b], redis_server, sid)
        assert new_owner != first_owner
        assert state["locked"] is False
        await other.mint_link(sid, "Alex")  # the new owner writes (and audits)
        # The new owner measures speaking time from what was flushed, and flushes it.
        speaking_key = f"peercircle:kept:speaking:{sid}"

        def flushed_by_new_owner() -> bool:
            record = stored(redis_server, speaking_key)
            return record is not None and record.get("node") == new_owner

        await eventually(_sync(flushed_by_new_owner), 10, "the new owner's speaking flush")
        # Past the stale node's flush interval too: on waking it would flush at once.
    finally:
        owner._process.send_signal(signal.SIGCONT)

    # The former owner wakes up with its stale copy; a command on it is refused (or
    # its renewal fails first and it lets the connection go) and writes nothing: not
    # the record, not the audit chain.
    since = len(therapist.events)
    if therapist.sio.connected:
        await therapist.emit("lock", {"locked": True})
    await therapist.wait_for(lambda: therapist.disconnected)
    answers = [data for name, data in therapist.events[since:] if name == "error"]
    assert all(e["code"] == "moved" for e in answers), answers
    after = stored(redis_server, f"peercircle:session:{sid}")
    assert after["locked"] is False and before["locked"] is False
    # It let the session's speaking ledger go unwritten: the totals in Redis are the
    # new owner's, written under its token.
    await eventually(
        _sync(lambda: "lost the lease of session" in owner.log_text()), 10, "the loss noticed"
    )
    speaking = stored(redis_server, speaking_key)
    assert speaking["node"] == new_owner, speaking["node"]
    lease_token = int(bytes(_raw(redis_server, f"peercircle:lease:{sid}")).decode().split("|")[1])
    assert speaking["token"] == lease_token
    assert len(after["links"]) == len(before["links"]) + 1
    seqs = audit_seqs(redis_server, sid)
    assert seqs == list(range(1, len(seqs) + 1)), seqs
    status, audit = await other.request("GET", f"/api/sessions/{sid}/audit")
    assert audit["chain"] == "intact"
    # And connecting again through the stale node leads to the new owner.
    again, hops = await connect_anywhere(cluster_clients, owner.base_url, link["token"])
    await again.next_event("welcome")
    assert again.base_url == other.base_url and hops == [other.base_url]


def _sync(check: Callable[[], Any]) -> Callable[[], Awaitable[Any]]:
    async def run() -> Any:
        return check()

    return run


def _raw(redis_server: RedisServer, key: str) -> Any:
    with redis_server.client() as client:
        return client.get(key)


async def _state_or_none(node: PeerCircleServer, sid: str) -> dict[str, Any] | None:
    status, body = await node.request("GET", f"/api/sessions/{sid}")
    return body if status == 200 else None
