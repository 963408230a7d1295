"""socket.io handlers for captions; `Signaling` inherits them."""

from __future__ import annotations

from typing import Any

from ..domain.errors import NotPermitted
from ..domain.roles import Action, may
from .base import CommandHandlers
from .connections import Connection
from .inbound import expect_object, parse_captions, parse_flag


class CaptionHandlers(CommandHandlers):
    """Caption switches and consent go to the host; a captioner's text to the service."""

    async def set_captions(self, conn: Connection, data: Any) -> None:
        """`captions`: a facilitator switches captions (and a transcript) on or off."""
        body = parse_captions(data)
        await self._run(
            conn,
            lambda s, now: s.set_captions(conn.participant_id, body.enabled, body.transcript),
        )

    async def caption_consent(self, conn: Connection, data: Any) -> None:
        """`caption-consent`: decline (or accept again) captioning of one's speech."""
        declined = parse_flag(data, "declined")
        await self._run(conn, lambda s, now: s.set_caption_consent(conn.participant_id, declined))

    async def caption_text(self, conn: Connection, data: Any) -> None:
        """`caption-text`: a captioner's text for an utterance it was sent."""
        if not may(conn.grant.role, Action.SEND_CAPTIONS):
            raise NotPermitted("only a captioning service sends caption text")
        body = expect_object(data, {"utterance", "room", "text", "final"})
        self.captions.receive_caption(conn.session_id, conn.sid, body)
