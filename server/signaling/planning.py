"""socket.io handlers for the session plan; `Signaling` inherits them."""

from __future__ import annotations

from typing import Any

from .base import CommandHandlers
from .connections import Connection
from .inbound import parse_empty
from .inbound_plan import parse_extend, parse_plan, parse_spotlight


class PlanHandlers(CommandHandlers):
    """Parse each plan message and submit it to the host."""

    async def plan_set(self, conn: Connection, data: Any) -> None:
        """`plan-set`: lay out the session's segments."""
        specs, may_advance = parse_plan(data)
        pid = conn.participant_id
        await self._run(conn, lambda s, now: s.set_plan(pid, specs, may_advance))

    async def plan_next(self, conn: Connection, data: Any) -> None:
        """`plan-next`: the running segment is done; the next one starts."""
        parse_empty(data)
        pid = conn.participant_id
        await self._run(conn, lambda s, now: s.next_segment(pid, now))

    async def plan_skip(self, conn: Connection, data: Any) -> None:
        """`plan-skip`: skip the next segment."""
        parse_empty(data)
        pid = conn.participant_id
        await self._run(conn, lambda s, now: s.skip_segment(pid, now))

    async def plan_extend(self, conn: Connection, data: Any) -> None:
        """`plan-extend`: more time for the running segment."""
        seconds = parse_extend(data)
        pid = conn.participant_id
        await self._run(conn, lambda s, now: s.extend_segment(pid, seconds, now))

    async def spotlight(self, conn: Connection, data: Any) -> None:
        """`spotlight`: everyone sees one person large (or nobody)."""
        target = parse_spotlight(data)
        pid = conn.participant_id
        await self._run(conn, lambda s, now: s.set_spotlight(pid, target))
