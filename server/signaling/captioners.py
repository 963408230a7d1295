"""Captioner services' sockets: one per captioner link, listed by the session, hearing
the consenting speakers' audio until the link is revoked; `Signaling` inherits this."""

from __future__ import annotations

import logging

from ..domain.errors import NotPermitted
from ..domain.events import Event
from ..domain.session import Session
from ..tokens import JoinGrant, TokenRefused
from .base import CommandHandlers
from .connections import Connection

log = logging.getLogger(__name__)


class CaptionerConnections(CommandHandlers):
    """Attach and detach captioner sockets."""

    async def _attach_captioner(self, sid: str, grant: JoinGrant) -> None:
        """A captioning service: it never joins the call; it gets the audio of the
        session's consenting speakers and sends caption text back. The session lists
        it (facilitators are told) and can revoke its link.

        One socket per captioner link: a newer connection replaces the older one, which
        gets `session-left` (`replaced`) and is closed. Replaced rather than refused: a
        service whose network blinked reconnects at once, while its old socket can
        look alive here for up to a ping timeout; refusing would keep captions off
        until then, and whoever holds the token could take over either way."""
        host = await self._registry.get(grant.session_id)
        pid, session_id = grant.participant_id, grant.session_id
        try:
            await host.run(lambda s, now: s.connect_captioner(pid, grant.name, grant.role, now))
        except NotPermitted as exc:
            code = host.session.entry_refusal(pid) or "not_permitted"
            raise TokenRefused(code, exc.message) from None
        older = self.connections.of_participant(pid)
        conn = Connection(sid, grant)
        self.connections.add(conn)

        async def send(message: dict[str, object]) -> None:
            # The session decides at the moment of sending: a captioner whose link was
            # revoked, or a replaced socket, hears nothing more, whatever was queued.
            session = self._registry.loaded_session(session_id)
            if session is None or not session.captioner_connected(pid):
                return
            if self.connections.get(sid) is not conn:
                return
            await self._sio.emit("caption-audio", message, to=sid)

        self.captions.attach_captioner(session_id, sid, send, pid)
        for old in older:
            self.connections.remove(old.sid)
            self.captions.detach_captioner(session_id, old.sid)
            await self._sio.emit("session-left", {"reason": "replaced"}, to=old.sid)
            self.presenter.background(self._sio.disconnect(old.sid))
        log.info("captioner connected for session %s", session_id)

    async def _detach_captioner(self, conn: Connection) -> None:
        """The captioner's socket closed: the session no longer lists it, unless a
        newer socket of the same link is connected by now."""
        host = await self._registry.get(conn.session_id)
        pid = conn.participant_id

        def gone(s: Session, now: float) -> list[Event]:
            return [] if self.connections.of_participant(pid) else s.disconnect_captioner(pid)

        await host.run(gone)
