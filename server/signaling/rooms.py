"""socket.io handlers for breakout rooms; `Signaling` inherits them."""

from __future__ import annotations

import random
import secrets
from typing import Any

from .base import CommandHandlers
from .connections import Connection
from .inbound import parse_empty, parse_flag, parse_target
from .inbound_rooms import (
    parse_assign,
    parse_broadcast,
    parse_leader,
    parse_move,
    parse_open,
    parse_room,
    parse_room_names,
    parse_timer,
)


class BreakoutHandlers(CommandHandlers):
    """Parse each breakout-room message and submit it to the session's host."""

    async def breakout_rooms(self, conn: Connection, data: Any) -> None:
        """`breakout-rooms`: create (or replace) the rooms."""
        names = parse_room_names(data)
        await self._run(conn, lambda s, now: s.set_breakout_rooms(conn.participant_id, names))

    async def breakout_assign(self, conn: Connection, data: Any) -> None:
        """`breakout-assign`: plan who goes where, automatically."""
        plan = parse_assign(data)
        rng = random.Random(secrets.randbits(64))
        await self._run(
            conn,
            lambda s, now: s.assign_breakouts(
                conn.participant_id, plan.mode, plan.together, plan.apart, rng
            ),
        )

    async def breakout_move(self, conn: Connection, data: Any) -> None:
        """`breakout-move`: plan (closed) or move now (open) one participant."""
        move = parse_move(data)
        await self._run(
            conn, lambda s, now: s.assign_to_room(conn.participant_id, move.participant, move.room)
        )

    async def breakout_leader(self, conn: Connection, data: Any) -> None:
        """`breakout-leader`: a room's peer leader (or none)."""
        lead = parse_leader(data)
        await self._run(
            conn, lambda s, now: s.set_room_leader(conn.participant_id, lead.room, lead.participant)
        )

    async def breakout_options(self, conn: Connection, data: Any) -> None:
        """`breakout-options`: may participants choose their own room."""
        enabled = parse_flag(data, "selfChoice")
        await self._run(conn, lambda s, now: s.set_self_choice(conn.participant_id, enabled))

    async def breakout_open(self, conn: Connection, data: Any) -> None:
        """`breakout-open`: open the rooms, with an optional timer."""
        duration = parse_open(data)
        await self._run(conn, lambda s, now: s.open_breakouts(conn.participant_id, duration, now))

    async def breakout_timer(self, conn: Connection, data: Any) -> None:
        """`breakout-timer`: extend or shorten the running rooms."""
        remaining = parse_timer(data)
        await self._run(
            conn, lambda s, now: s.set_breakout_timer(conn.participant_id, remaining, now)
        )

    async def breakout_broadcast(self, conn: Connection, data: Any) -> None:
        """`breakout-broadcast`: a message to every room."""
        text = parse_broadcast(data)
        await self._run(conn, lambda s, now: s.broadcast(conn.participant_id, text, now))

    async def breakout_visit(self, conn: Connection, data: Any) -> None:
        """`breakout-visit`: a facilitator goes to look in on a room."""
        room = parse_room(data)
        await self._run(conn, lambda s, now: s.visit(conn.participant_id, room))

    async def breakout_choose(self, conn: Connection, data: Any) -> None:
        """`breakout-choose`: go to a room of one's choice (when allowed)."""
        room = parse_room(data)
        await self._run(conn, lambda s, now: s.choose_room(conn.participant_id, room))

    async def breakout_help(self, conn: Connection, data: Any) -> None:
        """`breakout-help`: ask the facilitators to come to one's room."""
        parse_empty(data)
        await self._run(conn, lambda s, now: s.request_help(conn.participant_id, now))

    async def breakout_help_clear(self, conn: Connection, data: Any) -> None:
        """`breakout-help-clear`: a help request was answered."""
        target = parse_target(data).participant
        await self._run(conn, lambda s, now: s.clear_help(conn.participant_id, target))

    async def breakout_close(self, conn: Connection, data: Any) -> None:
        """`breakout-close`: everyone back to the main room."""
        parse_empty(data)
        await self._run(conn, lambda s, now: s.close_breakouts(conn.participant_id))
