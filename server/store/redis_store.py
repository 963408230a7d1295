"""The shared store for several nodes: session records as JSON in Redis keys."""

from __future__ import annotations

import contextlib
import json
import math
import time
from collections.abc import Iterator
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from ..domain.errors import Moved, Unavailable
from . import AuditRecord, Lease, NodeInfo, SessionRecord

PREFIX = "peercircle:"
WATCHED = f"{PREFIX}watched"
# A command waits at most about this long for Redis before it is refused: a stopped or
# frozen Redis must not hold a session's lock (and the people waiting on it) for long.
SOCKET_TIMEOUT_S = 2.0
CONNECT_TIMEOUT_S = 1.0


# Leases are `peercircle:lease:<id>` = "<node>|<token>" with a TTL; the token comes from
# `peercircle:fence:<id>`, which only grows. Each script runs atomically in Redis, so a
# check of the lease and the write it guards cannot be separated by another node's.
# A session with an owner is in `peercircle:watched` until it is retired, so live nodes
# notice when its lease lapses (takeover) or is released.
CLAIM = """
local held = redis.call('GET', KEYS[1])
if held then
  local node = string.match(held, '^(.*)|')
  if node == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
  return held
end
local token = redis.call('INCR', KEYS[2])
held = ARGV[1] .. '|' .. token
redis.call('SET', KEYS[1], held, 'PX', ARGV[2])
redis.call('SADD', KEYS[3], ARGV[3])
return held
"""
# KEYS: lease, fence; ARGV: holder, new node, ttl (ms).
HAND_OVER = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return false end
local token = redis.call('INCR', KEYS[2])
local held = ARGV[2] .. '|' .. token
redis.call('SET', KEYS[1], held, 'PX', ARGV[3])
return held
"""
# KEYS: lease, watched; ARGV: session id.
RETIRE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('SREM', KEYS[2], ARGV[1])
return 1
"""
RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
# KEYS: lease, record, ids, audit, audited; ARGV: holder ("" = unchecked), record,
# creation score, session id, then the audit records.
COMMIT = """
if ARGV[1] ~= '' and redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2], ARGV[2])
redis.call('ZADD', KEYS[3], 'NX', ARGV[3], ARGV[4])
if #ARGV > 4 then
  for i = 5, #ARGV do redis.call('RPUSH', KEYS[4], ARGV[i]) end
  redis.call('SADD', KEYS[5], ARGV[4])
end
return 1
"""
# KEYS: lease, kept key; ARGV: holder ("" = unchecked), record, expiry (epoch s), and
# "list" to append instead of replacing.
SAVE_KEPT = """
if ARGV[1] ~= '' and redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[4] == 'list' then
  redis.call('RPUSH', KEYS[2], ARGV[2])
  redis.call('EXPIREAT', KEYS[2], ARGV[3])
else
  redis.call('SET', KEYS[2], ARGV[2], 'EXAT', ARGV[3])
end
return 1
"""


def _holder(lease: Lease) -> str:
    return f"{lease.node_id}|{lease.token}"


def _lease(session_id: str, held: str) -> Lease:
    node, _, token = held.rpartition("|")
    return Lease(session_id, node, int(token))


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))


@contextlib.contextmanager
def _reachable() -> Iterator[None]:
    """Redis's connection failures become `Unavailable`, which callers know how to
    refuse with; redis-py reconnects by itself on the next call once Redis is back."""
    try:
        yield
    except (RedisConnectionError, RedisTimeoutError, OSError) as error:
        raise Unavailable(f"the session store is unreachable ({type(error).__name__})") from None


class RedisStore:
    """Session records in `peercircle:session:<id>`, ids in a sorted set by creation."""

    def __init__(self, url: str) -> None:
        self._redis: Redis = Redis.from_url(
            url,
            decode_responses=True,
            socket_timeout=SOCKET_TIMEOUT_S,
            socket_connect_timeout=CONNECT_TIMEOUT_S,
            # Two quick retries, then the caller hears `Unavailable`.
            retry=Retry(ExponentialBackoff(cap=0.2, base=0.05), 2),
        )
        self._claim = self._redis.register_script(CLAIM)
        self._renew = self._redis.register_script(RENEW)
        self._release = self._redis.register_script(RELEASE)
        self._commit = self._redis.register_script(COMMIT)
        self._save_kept = self._redis.register_script(SAVE_KEPT)
        self._hand_over = self._redis.register_script(HAND_OVER)
        self._retire = self._redis.register_script(RETIRE)

    async def save_session(self, record: SessionRecord) -> None:
        """Create or replace a session's record."""
        with _reachable():
            session_id = record["id"]
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.set(f"{PREFIX}session:{session_id}", json.dumps(record))
                pipe.zadd(f"{PREFIX}sessions", {session_id: time.time()}, nx=True)
                await pipe.execute()

    async def load_session(self, session_id: str) -> SessionRecord | None:
        """A session's record, or None if there is none."""
        with _reachable():
            raw = await self._redis.get(f"{PREFIX}session:{session_id}")
            if raw is None:
                return None
            record: SessionRecord = json.loads(raw)
            return record

    async def list_session_ids(self) -> list[str]:
        """Ids of every stored session, oldest first."""
        with _reachable():
            ids = await self._redis.zrange(f"{PREFIX}sessions", 0, -1)
            return [str(session_id) for session_id in ids]

    async def delete_session(self, session_id: str) -> None:
        """Forget a session (no error if unknown)."""
        with _reachable():
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.delete(f"{PREFIX}session:{session_id}")
                pipe.zrem(f"{PREFIX}sessions", session_id)
                await pipe.execute()

    async def commit(
        self, record: SessionRecord, audit: list[AuditRecord], lease: Lease | None = None
    ) -> None:
        """The record and its audit records in one script, run only while `lease` is
        the current one: both or neither, and never by a node that lost the lease."""
        session_id = record["id"]
        keys = [
            f"{PREFIX}lease:{session_id}",
            f"{PREFIX}session:{session_id}",
            f"{PREFIX}sessions",
            f"{PREFIX}audit:{session_id}",
            f"{PREFIX}audited",
        ]
        holder = _holder(lease) if lease is not None else ""
        args = [holder, json.dumps(record), time.time(), session_id, *map(json.dumps, audit)]
        with _reachable():
            written = await self._commit(keys=keys, args=args)
        if not written:
            raise Moved(f"this node no longer owns session {session_id}")

    async def claim_lease(self, session_id: str, node_id: str, ttl_s: float) -> Lease:
        """Ours if free (a new token from the fence counter), renewed if ours, else the
        holder's."""
        keys = [f"{PREFIX}lease:{session_id}", f"{PREFIX}fence:{session_id}", WATCHED]
        with _reachable():
            held = await self._claim(keys=keys, args=[node_id, _ms(ttl_s), session_id])
        return _lease(session_id, str(held))

    async def hand_over_lease(self, lease: Lease, node_id: str, ttl_s: float) -> Lease | None:
        """One script: a new token for `node_id` if `lease` is still current."""
        sid = lease.session_id
        keys = [f"{PREFIX}lease:{sid}", f"{PREFIX}fence:{sid}"]
        with _reachable():
            held = await self._hand_over(keys=keys, args=[_holder(lease), node_id, _ms(ttl_s)])
        return _lease(sid, str(held)) if held else None

    async def watched(self) -> dict[str, Lease | None]:
        """`peercircle:watched` and each member's lease."""
        with _reachable():
            ids = sorted(str(i) for i in await self._redis.smembers(WATCHED))
            if not ids:
                return {}
            held = await self._redis.mget([f"{PREFIX}lease:{i}" for i in ids])
        return {sid: _lease(sid, str(h)) if h else None for sid, h in zip(ids, held, strict=True)}

    async def retire(self, session_id: str) -> bool:
        """SREM from `peercircle:watched` unless a lease exists (one script)."""
        keys = [f"{PREFIX}lease:{session_id}", WATCHED]
        with _reachable():
            return bool(await self._retire(keys=keys, args=[session_id]))

    async def renew_lease(self, lease: Lease, ttl_s: float) -> bool:
        """PEXPIRE only if the lease is still ours."""
        key = f"{PREFIX}lease:{lease.session_id}"
        with _reachable():
            return bool(await self._renew(keys=[key], args=[_holder(lease), _ms(ttl_s)]))

    async def release_lease(self, lease: Lease) -> None:
        """DEL only if the lease is still ours."""
        key = f"{PREFIX}lease:{lease.session_id}"
        with _reachable():
            await self._release(keys=[key], args=[_holder(lease)])

    async def lease_of(self, session_id: str) -> Lease | None:
        """The current lease."""
        with _reachable():
            held = await self._redis.get(f"{PREFIX}lease:{session_id}")
        return _lease(session_id, str(held)) if held else None

    async def announce_node(self, node: NodeInfo, ttl_s: float) -> None:
        """`peercircle:node:<id>` (JSON, with a TTL) and the id in `peercircle:nodes`."""
        body = json.dumps({"url": node.url, "internal_url": node.internal_url, "load": node.load})
        with _reachable():
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.set(f"{PREFIX}node:{node.node_id}", body, px=_ms(ttl_s))
                pipe.sadd(f"{PREFIX}nodes", node.node_id)
                await pipe.execute()

    async def forget_node(self, node_id: str) -> None:
        """Drop the node's heartbeat now."""
        with _reachable():
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.delete(f"{PREFIX}node:{node_id}")
                pipe.srem(f"{PREFIX}nodes", node_id)
                await pipe.execute()

    async def live_nodes(self) -> list[NodeInfo]:
        """The nodes whose heartbeat key has not expired (lapsed ones leave the set)."""
        with _reachable():
            ids = sorted(str(i) for i in await self._redis.smembers(f"{PREFIX}nodes"))
            if not ids:
                return []
            bodies = await self._redis.mget([f"{PREFIX}node:{i}" for i in ids])
            lapsed = [i for i, body in zip(ids, bodies, strict=True) if body is None]
            if lapsed:
                await self._redis.srem(f"{PREFIX}nodes", *lapsed)
        nodes = []
        for node_id, body in zip(ids, bodies, strict=True):
            if body is not None:
                info = json.loads(body)
                nodes.append(NodeInfo(node_id, info["url"], info["internal_url"], info["load"]))
        return nodes

    async def append_audit(self, session_id: str, record: AuditRecord) -> None:
        """Add a record at the end of the session's audit log (a Redis list)."""
        with _reachable():
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.rpush(f"{PREFIX}audit:{session_id}", json.dumps(record))
                pipe.sadd(f"{PREFIX}audited", session_id)
                await pipe.execute()

    async def read_audit(self, session_id: str) -> list[AuditRecord]:
        """The session's audit log, oldest first."""
        with _reachable():
            raw = await self._redis.lrange(f"{PREFIX}audit:{session_id}", 0, -1)
            return [json.loads(item) for item in raw]

    async def purge_audit(self, older_than: float) -> int:
        """Drop records older than `older_than` from the front of each log."""
        with _reachable():
            dropped = 0
            for member in await self._redis.smembers(f"{PREFIX}audited"):
                session_id = member.decode() if isinstance(member, bytes) else str(member)
                key = f"{PREFIX}audit:{session_id}"
                while True:
                    head = await self._redis.lindex(key, 0)
                    if head is None or json.loads(head)["at"] >= older_than:
                        break
                    await self._redis.lpop(key)
                    dropped += 1
            return dropped

    async def save_kept(
        self,
        kind: str,
        session_id: str,
        record: dict[str, Any],
        expires_at: float,
        lease: Lease | None = None,
    ) -> None:
        """`peercircle:kept:<kind>:<id>`, expiring at `expires_at` (Redis drops it);
        with `lease`, one script that writes only while the lease is current."""
        await self._write_kept(
            f"{PREFIX}kept:{kind}:{session_id}", session_id, record, expires_at, lease, "one"
        )

    async def load_kept(self, kind: str, session_id: str, now: float) -> dict[str, Any] | None:
        """The kept record, or None."""
        with _reachable():
            raw = await self._redis.get(f"{PREFIX}kept:{kind}:{session_id}")
            if raw is None:
                return None
            record: dict[str, Any] = json.loads(raw)
            return record

    async def append_kept(
        self,
        kind: str,
        session_id: str,
        record: dict[str, Any],
        expires_at: float,
        lease: Lease | None = None,
    ) -> None:
        """A Redis list, expiring at `expires_at`; with `lease`, as `save_kept`."""
        key = f"{PREFIX}kept-list:{kind}:{session_id}"
        await self._write_kept(key, session_id, record, expires_at, lease, "list")

    async def _write_kept(
        self,
        key: str,
        session_id: str,
        record: dict[str, Any],
        expires_at: float,
        lease: Lease | None,
        shape: str,
    ) -> None:
        keys = [f"{PREFIX}lease:{session_id}", key]
        holder = _holder(lease) if lease is not None else ""
        args: list[str | int] = [holder, json.dumps(record), max(1, math.ceil(expires_at)), shape]
        with _reachable():
            written = await self._save_kept(keys=keys, args=args)
        if not written:
            raise Moved(f"this node no longer owns session {session_id}")

    async def read_kept(self, kind: str, session_id: str, now: float) -> list[dict[str, Any]]:
        """The list, oldest first."""
        with _reachable():
            raw = await self._redis.lrange(f"{PREFIX}kept-list:{kind}:{session_id}", 0, -1)
            return [json.loads(item) for item in raw]

    async def ping(self) -> None:
        """PING; raises `Unavailable` when Redis is away."""
        with _reachable():
            await self._redis.ping()

    async def close(self) -> None:
        """Close the connection pool."""
        await self._redis.aclose()
