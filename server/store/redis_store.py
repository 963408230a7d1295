"""The shared store for several nodes: session records as JSON in Redis keys."""

from __future__ import annotations

import json
import math
import time
from typing import Any

from redis.asyncio import Redis

from . import AuditRecord, SessionRecord

PREFIX = "peercircle:"


class RedisStore:
    """Session records in `peercircle:session:<id>`, ids in a sorted set by creation."""

    def __init__(self, url: str) -> None:
        self._redis: Redis = Redis.from_url(url, decode_responses=True)

    async def save_session(self, record: SessionRecord) -> None:
        """Create or replace a session's record."""
        session_id = record["id"]
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(f"{PREFIX}session:{session_id}", json.dumps(record))
            pipe.zadd(f"{PREFIX}sessions", {session_id: time.time()}, nx=True)
            await pipe.execute()

    async def load_session(self, session_id: str) -> SessionRecord | None:
        """A session's record, or None if there is none."""
        raw = await self._redis.get(f"{PREFIX}session:{session_id}")
        if raw is None:
            return None
        record: SessionRecord = json.loads(raw)
        return record

    async def list_session_ids(self) -> list[str]:
        """Ids of every stored session, oldest first."""
        ids = await self._redis.zrange(f"{PREFIX}sessions", 0, -1)
        return [str(session_id) for session_id in ids]

    async def delete_session(self, session_id: str) -> None:
        """Forget a session (no error if unknown)."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(f"{PREFIX}session:{session_id}")
            pipe.zrem(f"{PREFIX}sessions", session_id)
            await pipe.execute()

    async def append_audit(self, session_id: str, record: AuditRecord) -> None:
        """Add a record at the end of the session's audit log (a Redis list)."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.rpush(f"{PREFIX}audit:{session_id}", json.dumps(record))
            pipe.sadd(f"{PREFIX}audited", session_id)
            await pipe.execute()

    async def read_audit(self, session_id: str) -> list[AuditRecord]:
        """The session's audit log, oldest first."""
        raw = await self._redis.lrange(f"{PREFIX}audit:{session_id}", 0, -1)
        return [json.loads(item) for item in raw]

    async def purge_audit(self, older_than: float) -> int:
        """Drop records older than `older_than` from the front of each log."""
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
        key = f"{PREFIX}kept:{kind}:{session_id}"
        await self._redis.set(key, json.dumps(record), exat=max(1, math.ceil(expires_at)))

    async def load_kept(self, kind: str, session_id: str, now: float) -> dict[str, Any] | None:
        """The kept record, or None."""
        raw = await self._redis.get(f"{PREFIX}kept:{kind}:{session_id}")
        if raw is None:
            return None
        record: dict[str, Any] = json.loads(raw)
        return record

    async def append_kept(
        self, kind: str, session_id: str, record: dict[str, Any], expires_at: float
    ) -> None:
        """A Redis list, expiring at `expires_at`."""
        key = f"{PREFIX}kept-list:{kind}:{session_id}"
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.rpush(key, json.dumps(record))
            pipe.expireat(key, max(1, math.ceil(expires_at)))
            await pipe.execute()

    async def read_kept(self, kind: str, session_id: str, now: float) -> list[dict[str, Any]]:
        """The list, oldest first."""
        raw = await self._redis.lrange(f"{PREFIX}kept-list:{kind}:{session_id}", 0, -1)
        return [json.loads(item) for item in raw]

    async def ping(self) -> None:
        """PING; raises redis.exceptions.ConnectionError (or TimeoutError) when Redis is
        away."""
        await self._redis.ping()

    async def close(self) -> None:
        """Close the connection pool."""
        await self._redis.aclose()
