"""socket.io handlers for go-rounds; `Signaling` inherits them."""

from __future__ import annotations

import secrets
from typing import Any

from ..speaking.service import SpeakingService
from .base import CommandHandlers
from .connections import Connection
from .inbound import parse_empty
from .inbound_rooms import parse_optional_room, parse_round_start


class RoundHandlers(CommandHandlers):
    """Parse each go-round message and submit it to the host."""

    speaking: SpeakingService | None

    async def _room_of(self, conn: Connection, room: str | None) -> str:
        if room is not None:
            return room
        return (await self._host(conn)).session.participant(conn.participant_id).room

    async def round_start(self, conn: Connection, data: Any) -> None:
        """`round-start`: everyone in the room gets the floor in turn."""
        body = parse_round_start(data)
        room = await self._room_of(conn, body.room)
        pid, seed = conn.participant_id, secrets.randbits(32)
        talk = self.speaking.talk_by_person(conn.session_id) if self.speaking else {}
        await self._run(
            conn,
            lambda s, now: s.start_round(
                pid, room, body.order, body.per_person_s, body.others_muted, now, seed, talk
            ),
        )

    async def round_next(self, conn: Connection, data: Any) -> None:
        """`round-next`: the floor moves on (the runner, or the speaker when done)."""
        room = await self._room_of(conn, parse_optional_room(data))
        pid = conn.participant_id
        await self._run(conn, lambda s, now: s.next_turn(pid, room, now))

    async def round_pass(self, conn: Connection, data: Any) -> None:
        """`round-pass`: whoever holds the floor passes, without a reason."""
        parse_empty(data)
        pid = conn.participant_id
        await self._run(conn, lambda s, now: s.pass_turn(pid, now))

    async def round_end(self, conn: Connection, data: Any) -> None:
        """`round-end`: close the room's round."""
        room = await self._room_of(conn, parse_optional_room(data))
        pid = conn.participant_id
        await self._run(conn, lambda s, now: s.end_round(pid, room, now))
