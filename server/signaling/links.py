"""socket.io handlers for join links; `Signaling` inherits them."""

from __future__ import annotations

from typing import Any

from .base import CommandHandlers
from .connections import Connection
from .inbound import parse_target


class LinkHandlers(CommandHandlers):
    """Parse each link message and submit it to the host."""

    async def revoke_link(self, conn: Connection, data: Any) -> None:
        """`revoke-link`: every link naming this participant stops working, used or
        not; a connected holder (a person or a captioner service) is disconnected."""
        target = parse_target(data).participant
        await self._run(conn, lambda s, now: s.revoke_link(conn.participant_id, target, now))
