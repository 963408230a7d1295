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

from ..domain.errors import Unavailable
from . import AuditRecord, SessionRecord

PREFIX = "peercircle:"
# A command waits at most about this long for Redis before it is refused: a stopped or
# frozen Redis must not hold a session's lock (and the people waiting on it) for long.
SOCKET_TIMEOUT_S = 2.0
CONNECT_TIMEOUT_S = 1.0


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

    async def commit(self, record: SessionRecord, audit: list[AuditRecord]) -> None:
        """The record and its audit records in one MULTI/EXEC: both or neither."""
        session_id = record["id"]
        with _reachable():
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.set(f"{PREFIX}session:{session_id}", json.dumps(record))
                pipe.zadd(f"{PREFIX}sessions", {session_id: time.time()}, nx=True)
                if audit:
                    pipe.rpush(f"{PREFIX}audit:{session_id}", *map(json.dumps, audit))
                    pipe.sadd(f"{PREFIX}audited", session_id)
                await pipe.execute()

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
        self, kind: str, session_id: str, record: dict[str, Any], expires_at: float
    ) -> None:
        """`peercircle:kept:<kind>:<id>`, expiring at `expires_at` (Redis drops it)."""
        with _reachable():
            key = f"{PREFIX}kept:{kind}:{session_id}"
            await self._redis.set(key, json.dumps(record), exat=max(1, math.ceil(expires_at)))

    async def load_kept(self, kind: str, session_id: str, now: float) -> dict[str, Any] | None:
        """The kept record, or None."""
        with _reachable():
            raw = await self._redis.get(f"{PREFIX}kept:{kind}:{session_id}")
            if raw is None:
                return None
            record: dict[str, Any] = json.loads(raw)
            return record

    async def append_kept(
        self, kind: str, session_id: str, record: dict[str, Any], expires_at: float
    ) -> None:
        """A Redis list, expiring at `expires_at`."""
        with _reachable():
            key = f"{PREFIX}kept-list:{kind}:{session_id}"
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.rpush(key, json.dumps(record))
                pipe.expireat(key, max(1, math.ceil(expires_at)))
                await pipe.execute()

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
