"""One contract, two stores: MemoryStore and RedisStore (on a private redis-server)."""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import pytest_asyncio

from server.domain.audit import GENESIS, AuditEntry, chain_record
from server.domain.errors import Moved, Unavailable
from server.domain.model import Source
from server.domain.roles import Role
from server.domain.session import Session
from server.store import Lease, NodeInfo, SessionStore
from server.store.memory import MemoryStore
from server.store.redis_store import RedisStore
from tests.support.redis_server import RedisServer, running_redis
from tests.support.server import free_port

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """Our own redis-server for the whole run (never the machine's one on 6379)."""
    with running_redis(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest_asyncio.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[SessionStore]:
    """Each contract test runs once per implementation, on an empty store."""
    made: SessionStore
    if request.param == "redis":
        server: RedisServer = request.getfixturevalue("redis_server")
        server.flush()
        made = RedisStore(server.url)
    else:
        made = MemoryStore()
    yield made
    await made.close()


def record(session_id: str, title: str = "Tuesday group") -> dict[str, Any]:
    """A real session record with people in every presence."""
    session = Session(session_id, title, created_at=1_700_000_000.25)
    session.join("p_a", "Dr. Rivera", Role.THERAPIST, 1.0)
    session.join("p_b", "Zoë ✨", Role.PATIENT, 2.0, pre_admitted=True)
    session.join("p_c", "Sam", Role.OBSERVER, 3.0)  # waits
    session.publish("p_a", "t_1", Source.MIC)
    session.set_media_state("p_b", mic="off", camera=None)
    session.drop("p_b", 4.5)
    session.leave("p_c")
    return session.to_record()


async def test_load_returns_what_was_saved(store: SessionStore) -> None:
    saved = record("s_1")
    await store.save_session(saved)
    assert await store.load_session("s_1") == saved


async def test_a_loaded_record_rebuilds_the_session(store: SessionStore) -> None:
    await store.save_session(record("s_1"))
    loaded = await store.load_session("s_1")
    assert loaded is not None
    session = Session.from_record(loaded)
    assert [p.id for p in session.participants()] == ["p_a", "p_b"]
    assert session.participant("p_b").mic == "off"
    assert session.participant("p_b").name == "Zoë ✨"


async def test_unknown_session_loads_as_none(store: SessionStore) -> None:
    assert await store.load_session("s_missing") is None
    assert await store.list_session_ids() == []


async def test_save_replaces_the_record(store: SessionStore) -> None:
    await store.save_session(record("s_1", "Before"))
    await store.save_session(record("s_1", "After"))
    loaded = await store.load_session("s_1")
    assert loaded is not None and loaded["title"] == "After"
    assert await store.list_session_ids() == ["s_1"]


async def test_ids_are_listed_oldest_first_and_stay_put_when_saved_again(
    store: SessionStore,
) -> None:
    for session_id in ("s_b", "s_c", "s_a"):
        await store.save_session(record(session_id))
    await store.save_session(record("s_b", "renamed"))
    assert await store.list_session_ids() == ["s_b", "s_c", "s_a"]


async def test_delete_forgets_the_session(store: SessionStore) -> None:
    await store.save_session(record("s_1"))
    await store.save_session(record("s_2"))
    await store.delete_session("s_1")
    assert await store.load_session("s_1") is None
    assert await store.list_session_ids() == ["s_2"]
    # Unknown ids are no error, and nothing else goes.
    await store.delete_session("s_1")
    await store.delete_session("s_never")
    assert await store.load_session("s_2") == record("s_2")


async def test_records_are_copied_in_and_out(store: SessionStore) -> None:
    saved = record("s_1")
    original = copy.deepcopy(saved)
    await store.save_session(saved)
    saved["title"] = "changed after saving"
    saved["participants"][0]["name"] = "changed"

    loaded = await store.load_session("s_1")
    assert loaded == original
    assert loaded is not None
    loaded["participants"].clear()
    assert await store.load_session("s_1") == original


async def test_two_redis_stores_share_one_database(redis_server: RedisServer) -> None:
    redis_server.flush()
    first, second = RedisStore(redis_server.url), RedisStore(redis_server.url)
    try:
        await first.save_session(record("s_1"))
        assert await second.load_session("s_1") == record("s_1")
        assert await second.list_session_ids() == ["s_1"]
        await second.delete_session("s_1")
        assert await first.load_session("s_1") is None
    finally:
        await first.close()
        await second.close()


async def test_kept_records_and_lists_come_back_until_they_expire(store: SessionStore) -> None:
    now = time.time()
    later = now + 3600
    await store.save_kept("speaking", "s_1", {"talk": {"p_a": 12.5}}, later)
    await store.save_kept("speaking", "s_1", {"talk": {"p_a": 13.0}}, later)
    assert await store.load_kept("speaking", "s_1", now) == {"talk": {"p_a": 13.0}}
    assert await store.load_kept("speaking", "s_2", now) is None
    for line in ("hello", "see you Thursday"):
        await store.append_kept("transcript", "s_1", {"text": line}, later)
    assert [r["text"] for r in await store.read_kept("transcript", "s_1", now)] == [
        "hello",
        "see you Thursday",
    ]
    assert await store.read_kept("transcript", "s_2", now) == []


async def test_kept_records_expire(store: SessionStore) -> None:
    soon = time.time() + 1.0
    await store.save_kept("speaking", "s_1", {"x": 1}, soon)
    await store.append_kept("transcript", "s_1", {"text": "hi"}, soon)
    assert await store.load_kept("speaking", "s_1", time.time()) is not None

    async def gone() -> bool:
        now = time.time()
        record = await store.load_kept("speaking", "s_1", now)
        lines = await store.read_kept("transcript", "s_1", now)
        return record is None and lines == []

    deadline = time.monotonic() + 10
    while not await gone():
        assert time.monotonic() < deadline, "kept records did not expire"
        await asyncio.sleep(0.2)


async def test_ping_answers_while_the_store_is_reachable(store: SessionStore) -> None:
    await store.ping()  # returns, raises nothing


async def test_an_unreachable_redis_is_unavailable_not_a_redis_error() -> None:
    # A port nothing listens on: what readiness and the host see while Redis is down.
    unreachable = RedisStore(f"redis://127.0.0.1:{free_port()}/0")
    try:
        with pytest.raises(Unavailable):
            await asyncio.wait_for(unreachable.ping(), 5)
        with pytest.raises(Unavailable):
            await asyncio.wait_for(unreachable.commit(record("s_1"), []), 5)
    finally:
        await unreachable.close()


async def test_commit_stores_the_record_and_its_audit_records_together(
    store: SessionStore,
) -> None:
    first = chain_record(GENESIS, 1, "s_1", 10.0, AuditEntry("join", "p_a", "p_a", "therapist"))
    second = chain_record(first["hash"], 2, "s_1", 11.0, AuditEntry("lock", "p_a", None))
    await store.commit(record("s_1"), [first, second])
    await store.commit(record("s_1", "Renamed"), [])
    loaded = await store.load_session("s_1")
    assert loaded is not None and loaded["title"] == "Renamed"
    assert await store.read_audit("s_1") == [first, second]
    assert await store.list_session_ids() == ["s_1"]


async def test_a_lease_is_one_node_s_until_it_lapses_and_then_fenced(
    store: SessionStore,
) -> None:
    first = await store.claim_lease("s_1", "n_a", 0.3)
    assert first == Lease("s_1", "n_a", first.token)
    # Another node is told who holds it; the holder renews it (same token).
    assert await store.claim_lease("s_1", "n_b", 0.3) == first
    assert await store.claim_lease("s_1", "n_a", 0.3) == first
    assert await store.renew_lease(first, 0.3)
    assert await store.lease_of("s_1") == first
    await store.commit(record("s_1"), [], first)
    await asyncio.sleep(0.4)  # the lease's life is the point here
    assert await store.lease_of("s_1") is None
    second = await store.claim_lease("s_1", "n_b", 5)
    assert second.node_id == "n_b" and second.token > first.token
    # The former holder can neither renew nor write: nothing of it lands.
    assert not await store.renew_lease(first, 5)
    with pytest.raises(Moved):
        await store.commit(record("s_1", "Stale"), [{"seq": 1}], first)
    loaded = await store.load_session("s_1")
    assert loaded is not None and loaded["title"] == "Tuesday group"
    assert await store.read_audit("s_1") == []
    await store.release_lease(first)  # not the current one: no effect
    assert await store.lease_of("s_1") == second
    await store.release_lease(second)
    assert await store.lease_of("s_1") is None


async def test_kept_records_are_written_only_under_the_current_lease(
    store: SessionStore,
) -> None:
    later = time.time() + 60
    first = await store.claim_lease("s_1", "n_a", 5)
    await store.save_kept("speaking", "s_1", {"talk": 1}, later, first)
    await store.append_kept("transcript", "s_1", {"text": "a"}, later, first)
    second = await store.hand_over_lease(first, "n_b", 5)
    assert second is not None and second.node_id == "n_b" and second.token > first.token
    assert await store.hand_over_lease(first, "n_c", 5) is None  # not current any more
    # The former holder writes nothing; the new one does.
    with pytest.raises(Moved):
        await store.save_kept("speaking", "s_1", {"talk": 0}, later, first)
    with pytest.raises(Moved):
        await store.append_kept("transcript", "s_1", {"text": "stale"}, later, first)
    await store.save_kept("speaking", "s_1", {"talk": 2}, later, second)
    assert await store.load_kept("speaking", "s_1", time.time()) == {"talk": 2}
    assert [r["text"] for r in await store.read_kept("transcript", "s_1", time.time())] == ["a"]


async def test_sessions_with_an_owner_are_watched_until_retired(store: SessionStore) -> None:
    lease = await store.claim_lease("s_1", "n_a", 5)
    assert await store.watched() == {"s_1": lease}
    assert not await store.retire("s_1")  # held: stays watched
    await store.release_lease(lease)
    assert await store.watched() == {"s_1": None}  # needs an owner
    assert await store.retire("s_1")
    assert await store.watched() == {}
    again = await store.claim_lease("s_1", "n_b", 5)
    assert await store.watched() == {"s_1": again}


async def test_live_nodes_are_those_whose_heartbeat_has_not_lapsed(
    store: SessionStore,
) -> None:
    a = NodeInfo("n_a", "http://a", "http://a-internal", 3)
    b = NodeInfo("n_b", "http://b", "http://b", 0)
    await store.announce_node(a, 5)
    await store.announce_node(b, 0.2)
    assert sorted(await store.live_nodes(), key=lambda n: n.node_id) == [a, b]
    await asyncio.sleep(0.3)  # b's heartbeat lapses
    assert await store.live_nodes() == [a]
    await store.forget_node("n_a")
    assert await store.live_nodes() == []
