"""socket.io handlers for speaking time; `Signaling` inherits them."""

from __future__ import annotations

from typing import Any

import socketio

from ..domain.errors import NotPermitted
from ..speaking.service import SpeakingService
from .base import CommandHandlers
from .connections import Connection
from .inbound import parse_empty
from .inbound_speaking import parse_cue_dismiss, parse_speaking_options


class SpeakingHandlers(CommandHandlers):
    """Parse each speaking-time message and pass it on (facilitators only)."""

    _sio: socketio.AsyncServer
    speaking: SpeakingService | None

    def _speaking(self) -> SpeakingService:
        if self.speaking is None:
            raise NotPermitted("speaking time is not measured on this server")
        return self.speaking

    async def cue_dismiss(self, conn: Connection, data: Any) -> None:
        """`cue-dismiss`: take a cue down for everyone who sees it."""
        key = parse_cue_dismiss(data)
        host = await self._host(conn)
        await self._speaking().dismiss(host.session, conn.participant_id, key)

    async def hands_by_talk(self, conn: Connection, data: Any) -> None:
        """`hands-by-talk`: the raised hands ordered by least talk time (to the asker)."""
        parse_empty(data)
        host = await self._host(conn)
        body = self._speaking().hands_by_talk(host.session, conn.participant_id)
        await self._sio.emit("hands-order", body, to=conn.sid)

    async def speaking_options(self, conn: Connection, data: Any) -> None:
        """`speaking-options`: let peer leaders see their room's cues, or not."""
        allowed = parse_speaking_options(data)
        await self._run(conn, lambda s, now: s.set_speaking_options(conn.participant_id, allowed))
