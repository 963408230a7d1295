"""socket.io namespace: authenticate, parse, submit to the host, present the results."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import socketio

from .bridge import MediaBridge
from .config import Settings
from .domain.errors import NotFound, PeerCircleError, ProtocolError, RateLimited, UserError
from .domain.events import (
    Event,
    ParticipantJoined,
    ParticipantLeft,
    ParticipantUpdated,
    SessionEnded,
    TrackPublished,
    TrackUnpublished,
)
from .domain.model import Presence
from .domain.roles import Action, may
from .domain.session import Session
from .host import SessionRegistry
from .tokens import JoinGrant, TokenRefused, TokenSigner
from .wire import (
    PROTOCOL_VERSION,
    parse_answer,
    parse_empty,
    parse_ice_candidate,
    parse_join,
    parse_media_state,
)

log = logging.getLogger(__name__)

Handler = Callable[["Signaling", "Connection", Any], Awaitable[None]]


@dataclass
class Connection:
    """One socket of one participant, bound to the grant of its verified token."""

    sid: str
    grant: JoinGrant
    joined: bool = False

    @property
    def participant_id(self) -> str:
        return self.grant.participant_id

    @property
    def room(self) -> str:
        return f"session:{self.grant.session_id}"


class Signaling:
    """The socket.io side of PeerCircle. Errors become `error` events here, and only here."""

    def __init__(
        self,
        sio: socketio.AsyncServer,
        registry: SessionRegistry,
        bridge: MediaBridge,
        signer: TokenSigner,
        settings: Settings,
    ) -> None:
        self._sio = sio
        self._registry = registry
        self._bridge = bridge
        self._signer = signer
        self._settings = settings
        self._connections: dict[str, Connection] = {}
        self._sid_of: dict[str, str] = {}
        self._tasks: set[asyncio.Future[Any]] = set()
        sio.on("connect", self._on_connect)
        sio.on("disconnect", self._on_disconnect)
        for event, handler in _HANDLERS.items():
            sio.on(event, self._dispatch(event, handler))
        sio.on("*", self._on_unknown)

    # -- connection life -------------------------------------------------------

    async def _on_connect(self, sid: str, environ: dict[str, Any], auth: Any) -> None:
        auth = auth if isinstance(auth, dict) else {}
        try:
            if auth.get("protocol", PROTOCOL_VERSION) != PROTOCOL_VERSION:
                raise TokenRefused(
                    "protocol_unsupported", f"this server speaks protocol {PROTOCOL_VERSION}"
                )
            grant = self._signer.verify(auth.get("token"), time.time())
            try:
                host = await self._registry.get(grant.session_id)
            except NotFound as exc:
                raise TokenRefused("session_unknown", "this session does not exist") from exc
            if host.session.ended:
                raise TokenRefused("session_ended", "this session has ended")
            if not may(grant.role, Action.JOIN):
                raise TokenRefused("not_permitted", "this token cannot join the call")
            present = [p for p in host.session.participants() if p.id != grant.participant_id]
            if len(present) >= self._settings.max_participants:
                raise TokenRefused("session_full", "this session is full")
        except TokenRefused as refused:
            log.info("connection refused: %s", refused.code)
            raise socketio.exceptions.ConnectionRefusedError(
                refused.message, {"code": refused.code, "message": refused.message}
            ) from None
        self._connections[sid] = Connection(sid, grant)

    async def _on_disconnect(self, sid: str, reason: Any = None) -> None:
        conn = self._connections.pop(sid, None)
        if conn is None or not conn.joined:
            return
        if self._sid_of.get(conn.participant_id) != sid:
            return  # replaced by a newer connection of the same person
        del self._sid_of[conn.participant_id]
        await self._bridge.close_peer(conn.participant_id)
        host = await self._registry.get(conn.grant.session_id)
        pid = conn.participant_id
        try:
            await host.run(lambda s, now: s.drop(pid, now))
        except NotFound:
            return  # already left or removed
        grace = self._settings.reconnect_grace_s
        host.run_later(grace, lambda s, now: s.expire_dropped(now, grace))

    # -- dispatch ----------------------------------------------------------------

    def _dispatch(self, event: str, handler: Handler) -> Callable[[str, Any], Awaitable[None]]:
        @functools.wraps(handler)
        async def run(sid: str, data: Any = None) -> None:
            conn = self._connections.get(sid)
            if conn is None:
                return
            try:
                if event != "join" and not conn.joined:
                    raise UserError("send join first")
                await handler(self, conn, data)
            except PeerCircleError as error:
                await self._error(sid, error.code, error.message, event)
            except Exception:
                log.exception("handler %s failed", event)
                await self._error(sid, "internal", "the server could not handle this", event)

        return run

    async def _on_unknown(self, event: str, sid: str, data: Any = None) -> None:
        await self._error(sid, "unknown_event", f"unknown event {event[:64]!r}", event[:64])

    async def _error(self, sid: str, code: str, message: str, event: str) -> None:
        await self._sio.emit("error", {"code": code, "message": message, "event": event}, to=sid)

    # -- handlers ----------------------------------------------------------------

    async def join(self, conn: Connection, data: Any) -> None:
        """`join`: become present; get a welcome and a fresh media offer."""
        request = parse_join(data)
        pid = conn.participant_id
        old_sid = self._sid_of.get(pid)
        if old_sid is not None and old_sid != conn.sid:
            await self._replace(old_sid)
        host = await self._registry.get(conn.grant.session_id)
        grant = conn.grant
        await host.run(lambda s, now: s.join(pid, grant.name, grant.role, now))
        conn.joined = True
        self._sid_of[pid] = conn.sid
        await self._sio.enter_room(conn.sid, conn.room)
        await self._sio.emit("welcome", self._welcome(host.session, conn), to=conn.sid)
        publish = [
            source
            for source, wanted, action in (
                ("mic", request.mic, Action.PUBLISH_MIC),
                ("camera", request.camera, Action.PUBLISH_CAMERA),
            )
            if wanted and may(grant.role, action)
        ]
        await self._bridge.open_peer(grant.session_id, pid, publish)

    async def answer(self, conn: Connection, data: Any) -> None:
        """`answer`: the client's answer to our latest offer."""
        answer = parse_answer(data)
        try:
            await self._media().accept_answer(conn.participant_id, answer.revision, answer.sdp)
        except KeyError as exc:
            raise UserError("no media connection: send join") from exc
        except LookupError as exc:
            raise UserError(str(exc)) from exc
        except ValueError as exc:
            raise ProtocolError(str(exc)[:200]) from exc

    async def ice_candidate(self, conn: Connection, data: Any) -> None:
        """`ice-candidate`: a trickled browser candidate."""
        cand = parse_ice_candidate(data)
        try:
            await self._media().add_ice_candidate(
                conn.participant_id, cand.candidate, cand.sdp_mid, cand.sdp_mline_index
            )
        except KeyError as exc:
            raise UserError("no media connection: send join") from exc
        except OverflowError as exc:
            raise RateLimited(str(exc)) from exc
        except ValueError as exc:
            raise ProtocolError(f"candidate: {exc}"[:200]) from exc

    async def media_state(self, conn: Connection, data: Any) -> None:
        """`media-state`: the participant muted/unmuted or turned the camera off/on."""
        state = parse_media_state(data)
        host = await self._registry.get(conn.grant.session_id)
        pid = conn.participant_id
        await host.run(lambda s, now: s.set_media_state(pid, state.mic, state.camera))

    async def leave(self, conn: Connection, data: Any) -> None:
        """`leave`: go now, without a grace period."""
        parse_empty(data)
        host = await self._registry.get(conn.grant.session_id)
        pid = conn.participant_id
        self._sid_of.pop(pid, None)
        conn.joined = False
        await self._bridge.close_peer(pid)
        await host.run(lambda s, now: s.leave(pid))
        await self._sio.emit("session-left", {"reason": "left"}, to=conn.sid)
        await self._sio.disconnect(conn.sid)

    # -- presenting --------------------------------------------------------------

    async def present(self, session: Session, events: list[Event]) -> None:
        """Host listener: tell the people in the session what changed."""
        room = f"session:{session.id}"
        for event in events:
            if isinstance(event, ParticipantJoined):
                await self._sio.emit("participant-joined", event.participant.to_wire(), room=room)
            elif isinstance(event, ParticipantUpdated):
                await self._sio.emit("participant-updated", event.participant.to_wire(), room=room)
            elif isinstance(event, ParticipantLeft):
                await self._sio.emit(
                    "participant-left",
                    {"id": event.participant_id, "reason": event.reason},
                    room=room,
                )
                sid = self._sid_of.pop(event.participant_id, None)
                if sid is not None and event.reason != "left":
                    await self._sio.emit("session-left", {"reason": event.reason}, to=sid)
                    await self._sio.leave_room(sid, room)
            elif isinstance(event, TrackPublished):
                await self._sio.emit("track-published", event.track.to_wire(), room=room)
            elif isinstance(event, TrackUnpublished):
                await self._sio.emit("track-unpublished", {"id": event.track_id}, room=room)
            elif isinstance(event, SessionEnded):
                await self._sio.emit("session-ended", {}, room=room)
                self._background(self._disconnect_room(room))

    async def _disconnect_room(self, room: str) -> None:
        for sid, conn in list(self._connections.items()):
            if conn.room == room:
                await self._sio.disconnect(sid)

    def _welcome(self, session: Session, conn: Connection) -> dict[str, Any]:
        return {
            "protocol": PROTOCOL_VERSION,
            "you": {
                "id": conn.participant_id,
                "name": conn.grant.name,
                "role": conn.grant.role.value,
            },
            "session": {"id": session.id, "title": session.title},
            "participants": [
                p.to_wire() for p in session.participants() if p.presence is not Presence.LEFT
            ],
            "tracks": [t.to_wire() for t in session.tracks()],
            "iceServers": [
                {"urls": list(s.urls), "username": s.username, "credential": s.credential}
                for s in self._settings.ice_servers
            ],
        }

    async def _replace(self, old_sid: str) -> None:
        old = self._connections.pop(old_sid, None)
        if old is not None:
            await self._sio.emit("session-left", {"reason": "replaced"}, to=old_sid)
            await self._sio.disconnect(old_sid)

    # -- media callbacks -----------------------------------------------------------

    def send_offer(self, participant_id: str, offer: dict[str, object]) -> None:
        """Deliver a media offer to the participant's current connection."""
        sid = self._sid_of.get(participant_id)
        if sid is not None:
            self._background(self._sio.emit("offer", offer, to=sid))

    def restart_media(self, participant_id: str) -> None:
        """The peer connection failed: ask the client to join again."""
        sid = self._sid_of.get(participant_id)
        if sid is not None:
            self._background(
                self._sio.emit(
                    "error",
                    {
                        "code": "media_failed",
                        "message": "media connection failed; rejoin",
                        "event": "media",
                    },
                    to=sid,
                )
            )

    def _background(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _media(self) -> Any:
        assert self._bridge.media is not None
        return self._bridge.media

    def connection_count(self) -> int:
        """Open sockets (for metrics)."""
        return len(self._connections)


_HANDLERS: dict[str, Handler] = {
    "join": Signaling.join,
    "answer": Signaling.answer,
    "ice-candidate": Signaling.ice_candidate,
    "media-state": Signaling.media_state,
    "leave": Signaling.leave,
}
