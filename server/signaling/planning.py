"""socket.io handlers for the session plan; `Signaling` inherits them."""

from __future__ import annotations

from typing import Any

from .base import CommandHandlers
from .connections import Connection
from .inbound import parse_empty, parse_flag
from .inbound_plan import (
    parse_extend,
    parse_feedback,
    parse_plan,
    parse_reaction,
    parse_spotlight,
)


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

    async def feedback(self, conn: Connection, data: Any) -> None:
        """`feedback`: supportive feedback for the leaders of a segment that ended."""
        segment, kind, text = parse_feedback(data)
        pid = conn.participant_id
        await self._run(conn, lambda s, now: s.send_feedback(pid, segment, kind, text, now))

    async def reaction(self, conn: Connection, data: Any) -> None:
        """`reaction`: a brief reaction on one's own tile."""
        reaction = parse_reaction(data)
        pid = conn.participant_id
        await self._run(conn, lambda s, now: s.react(pid, reaction))

    async def set_reactions(self, conn: Connection, data: Any) -> None:
        """`set-reactions`: reactions on or off for the session."""
        enabled = parse_flag(data, "enabled")
        pid = conn.participant_id
        await self._run(conn, lambda s, now: s.set_reactions(pid, enabled))
