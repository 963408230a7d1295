"""Redis away (issue 17, item 5): a command that cannot be stored is refused with
`unavailable` and changes nothing, in Redis or in memory; a join is refused, not waved
through; the node recovers by itself once Redis is back. Real server, real Redis with
append-only persistence (stopped and started again, as an operator's Redis restarts)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.helpers import arrive
from tests.support.client import Client
from tests.support.redis_server import RedisServer, running_redis
from tests.support.server import StartServer

pytestmark = pytest.mark.integration

MakeClient = Callable[..., Client]


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A persistent redis-server of this test alone: it stops and starts it again."""
    with running_redis(tmp_path, persistent=True) as server:
        yield server


def present(state: dict[str, Any]) -> set[str]:
    return {p["id"] for p in state["participants"]}


async def test_a_remove_while_redis_is_down_is_refused_and_changes_nothing(
    start_server: StartServer, redis_server: RedisServer, clients: MakeClient
) -> None:
    server = await start_server(
        env={"PEERCIRCLE_STORE": "redis", "PEERCIRCLE_REDIS_URL": redis_server.url}
    )
    session = await server.create_session()
    sid = session["id"]
    therapist, _ = await arrive(server, clients, sid, "Dr. Rivera", "therapist")
    alex, alex_id = await arrive(server, clients, sid, "Alex")
    late_link = await server.mint_link(sid, "Sam", admitted=True)

    redis_server.stop()
    since = len(therapist.events)
    await therapist.emit("remove", {"participant": alex_id})
    error = await therapist.next_event("error", lambda e: e["event"] == "remove", since)
    assert error["code"] == "unavailable", error

    # A join during the outage is refused too, and nobody hears of the person.
    sam = clients(server, late_link["token"])
    await sam.connect()
    refused = await sam.next_event("error", lambda e: e["event"] == "join")
    assert refused["code"] == "unavailable", refused
    assert sam.welcome is None and not any(name == "waiting" for name, _ in sam.events)

    await asyncio.to_thread(redis_server.start)
    # Nothing changed: Alex is still in the call, on the node and in Redis, and was told
    # nothing; Sam was never in.
    state = await server.session_state(sid)
    assert alex_id in present(state)
    assert late_link["participant_id"] not in present(state)
    assert not any(name in {"session-left", "participant-left"} for name, _ in alex.events)
    assert not alex.disconnected
    names = {name for name, _ in therapist.events[since:]}
    assert not names & {"participant-left", "participant-joined", "participant-waiting"}

    # And the node recovers by itself within 5 s of Redis returning.
    back = time.monotonic()
    while True:
        since = len(therapist.events)
        await therapist.emit("remove", {"participant": alex_id})

        def answered(since: int = since) -> bool:
            return any(
                name == "error" or (name == "participant-left" and data["id"] == alex_id)
                for name, data in therapist.events[since:]
            )

        await therapist.wait_for(answered)
        outcome = [e for e in therapist.events[since:] if e[0] in {"error", "participant-left"}]
        if outcome[0][0] == "participant-left":
            break
        assert time.monotonic() - back < 5, f"still refused 5 s after Redis came back: {outcome}"
        await asyncio.sleep(0.2)
    await alex.next_event("session-left")
    assert alex_id not in present(await server.session_state(sid))
    audit = await server.request("GET", f"/api/sessions/{sid}/audit")
    assert audit[0] == 200 and audit[1]["chain"] == "intact"
    removals = [r for r in audit[1]["records"] if r["action"] == "leave" and r["target"] == alex_id]
    assert len(removals) == 1, removals


async def test_a_node_refuses_connections_while_it_cannot_load_the_session(
    start_server: StartServer, redis_server: RedisServer, clients: MakeClient
) -> None:
    env = {"PEERCIRCLE_STORE": "redis", "PEERCIRCLE_REDIS_URL": redis_server.url}
    first = await start_server(env=env)
    session = await first.create_session()
    link = await first.mint_link(session["id"], "Alex", admitted=True)
    await first.stop()
    # A fresh node (as after a restart) must load the session from Redis, which is away.
    second = await start_server(env=env, admin_key=first.admin_key, token_secret=first.token_secret)
    redis_server.stop()
    refusal = await clients(second, link["token"]).connect_refused()
    assert refusal["code"] == "unavailable", refusal
    status, body = await second.request("GET", f"/api/sessions/{session['id']}")
    assert status == 503 and body["error"]["code"] == "unavailable", body
