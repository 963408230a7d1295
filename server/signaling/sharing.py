"""socket.io handlers for screen sharing; `Signaling` inherits them."""

from __future__ import annotations

from typing import Any

from ..domain.errors import UserError
from .base import CommandHandlers
from .connections import Connection
from .inbound import parse_empty, parse_share_policy, parse_target


class SharingHandlers(CommandHandlers):
    """Asking, approving and revoking go to the host; a screen slot to the bridge."""

    async def share_request(self, conn: Connection, data: Any) -> None:
        """`share-request`: ask the facilitators to present."""
        parse_empty(data)
        await self._run(conn, lambda s, now: s.request_share(conn.participant_id))

    async def share_approve(self, conn: Connection, data: Any) -> None:
        """`share-approve`: let someone present (asked or in advance)."""
        target = parse_target(data).participant
        await self._run(conn, lambda s, now: s.answer_share(conn.participant_id, target, True))

    async def share_decline(self, conn: Connection, data: Any) -> None:
        """`share-decline`: turn a request to present down."""
        target = parse_target(data).participant
        await self._run(conn, lambda s, now: s.answer_share(conn.participant_id, target, False))

    async def share_revoke(self, conn: Connection, data: Any) -> None:
        """`share-revoke`: take the right back; a share in progress stops."""
        target = parse_target(data).participant
        await self._run(conn, lambda s, now: s.revoke_share(conn.participant_id, target))

    async def share_policy(self, conn: Connection, data: Any) -> None:
        """`share-policy`: a second presenter replaces the first, or waits."""
        policy = parse_share_policy(data)
        await self._run(conn, lambda s, now: s.set_share_policy(conn.participant_id, policy))

    async def share_start(self, conn: Connection, data: Any) -> None:
        """`share-start`: the client has a screen track; offer it a slot."""
        parse_empty(data)
        (await self._host(conn)).session.check_may_present(conn.participant_id)
        try:
            self._bridge.start_screen(conn.participant_id)
        except KeyError as exc:
            raise UserError("no media connection: send join") from exc

    async def share_stop(self, conn: Connection, data: Any) -> None:
        """`share-stop`: the presenter stopped sharing."""
        parse_empty(data)
        self._bridge.stop_screen(conn.participant_id)
