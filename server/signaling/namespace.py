"""socket.io namespace: authenticate, parse, submit to the host. Errors become `error`
events here, and only here; what changed is told by the presenter."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn

import socketio

from ..bridge import MediaBridge
from ..captions.service import CaptionService
from ..config import Settings
from ..domain.errors import (
    Moved,
    NotFound,
    NotPermitted,
    PeerCircleError,
    RateLimited,
    Unavailable,
    UserError,
)
from ..domain.model import Presence
from ..domain.roles import Action, Role, may
from ..domain.session import ENTRY_REFUSALS, Session
from ..host import Command, SessionHost, SessionRegistry
from ..speaking.service import SpeakingService
from ..telemetry.logs import log_context
from ..tokens import TokenRefused, TokenSigner
from .bodies import welcome
from .captioners import CaptionerConnections
from .captions import CaptionHandlers
from .connections import (
    Connection,
    ConnectionRegistry,
    call_room,
    facilitator_room,
    room_channel,
)
from .goround import RoundHandlers
from .guard import LogBudget
from .inbound import (
    PROTOCOL_VERSION,
    parse_empty,
    parse_join,
)
from .links import LinkHandlers
from .moderation import ModerationHandlers
from .negotiation import NegotiationHandlers
from .planning import PlanHandlers
from .presenter import Presenter
from .ratelimit import LinkLimits
from .rooms import BreakoutHandlers
from .sharing import SharingHandlers
from .speaking import SpeakingHandlers

log = logging.getLogger(__name__)

Handler = Callable[["Signaling", Connection, Any], Awaitable[None]]
# Events a participant in the waiting room may send.
WAITING_ROOM_EVENTS = frozenset({"join", "leave"})
# A lost connection that cannot be recorded (the store is away) is retried this often.
DROP_ATTEMPTS = 120
DROP_RETRY_S = 1.0
# Events a captioner service may send.
CAPTIONER_EVENTS = frozenset({"caption-text"})


class Signaling(
    CaptionerConnections,
    NegotiationHandlers,
    SharingHandlers,
    CaptionHandlers,
    ModerationHandlers,
    BreakoutHandlers,
    SpeakingHandlers,
    LinkHandlers,
    RoundHandlers,
    PlanHandlers,
):
    """The socket.io side of PeerCircle (breakout-room handlers in `signaling_rooms`)."""

    def __init__(
        self,
        sio: socketio.AsyncServer,
        registry: SessionRegistry,
        bridge: MediaBridge,
        signer: TokenSigner,
        settings: Settings,
        captions: CaptionService,
        speaking: SpeakingService | None = None,
    ) -> None:
        self._sio = sio
        self.captions = captions
        self.speaking = speaking
        self._registry = registry
        self._bridge = bridge
        self._signer = signer
        self._settings = settings
        self.connections = ConnectionRegistry()
        self.presenter = Presenter(sio, self.connections, self._enter_call)
        sio.on("connect", self._on_connect)
        sio.on("disconnect", self._on_disconnect)
        # Knocks and connection attempts per link (participant id), across sockets.
        self.link_limits = LinkLimits()
        self._log = LogBudget(log)
        # Unknown, reserved and malformed events never get here: the GuardedServer
        # (server/signaling/guard.py) answers them before python-socketio dispatches.
        # The table names this class's methods, so it is imported here, once built.
        from .handlers import HANDLERS

        for event, handler in HANDLERS.items():
            sio.on(event, self._dispatch(event, handler))

    # -- connection life -------------------------------------------------------

    async def _on_connect(self, sid: str, environ: dict[str, Any], auth: Any) -> None:
        auth = auth if isinstance(auth, dict) else {}
        try:
            if self.connections.get(sid) is not None:
                # Identity is bound once per socket (the guard refuses a `connect` event;
                # this holds even if a library upgrade let one through).
                raise TokenRefused("not_permitted", "this socket is already connected")
            if auth.get("protocol", PROTOCOL_VERSION) != PROTOCOL_VERSION:
                raise TokenRefused(
                    "protocol_unsupported", f"this server speaks protocol {PROTOCOL_VERSION}"
                )
            grant = self._signer.verify(auth.get("token"), time.time())
            try:
                host = await self._registry.get(grant.session_id)
            except NotFound as exc:
                raise TokenRefused("session_unknown", "this session does not exist") from exc
            except Unavailable as exc:
                # Nothing is waved through while the store is away: try again shortly.
                raise TokenRefused("unavailable", exc.message) from exc
            except Moved as moved:
                # Any node is a door: the session lives on another, which we name.
                self._refuse_moved(moved)
            refusal = host.session.entry_refusal(grant.participant_id)
            if refusal is not None:
                raise TokenRefused(refusal, ENTRY_REFUSALS[refusal])
            if grant.role is Role.CAPTIONER:
                await self._attach_captioner(sid, grant)
                return
            if not may(grant.role, Action.JOIN):
                raise TokenRefused("not_permitted", "this token cannot join the call")
            others = [p for p in host.session.participants() if p.id != grant.participant_id]
            if len(others) >= self._settings.max_participants:
                raise TokenRefused("session_full", "this session is full")
            if not self.link_limits.allow(grant.participant_id):
                raise TokenRefused("rate_limited", "too many attempts with this link; wait")
        except TokenRefused as refused:
            self._refuse_connection(refused)
        except socketio.exceptions.ConnectionRefusedError:
            raise  # a refusal already made (`moved`)
        except Exception as exc:
            # Whatever a token or payload did, the client gets a clean refusal and the
            # log one line (no traceback a stranger can fill the disk with).
            self._log.warn("connect failed: %s", type(exc).__name__)
            self._refuse_connection(
                TokenRefused("internal", "the server could not check this link; try again")
            )
        self.connections.add(Connection(sid, grant))

    def _refuse_moved(self, moved: Moved) -> NoReturn:
        self._log.info("connection sent to the owner: %s", moved.url or "(unknown)")
        data = {"code": "moved", "message": moved.message, "url": moved.url}
        raise socketio.exceptions.ConnectionRefusedError(moved.message, data) from None

    async def let_go(self, session_id: str, url: str = "") -> None:
        """This node no longer owns the session (another node took it over, or it was
        handed over on drain): tell each of its sockets `error` `moved` with the new
        owner's URL when known, then close it, so each client connects again there
        (or here, to be sent there)."""
        for conn in self.connections.in_session(session_id):
            self.connections.remove(conn.sid)
            self.presenter.background(self._send_away(conn.sid, url))

    async def _send_away(self, sid: str, url: str) -> None:
        message = "this session is served by another node now; connect again"
        await self._error(sid, "moved", message, "", url)
        await self._sio.disconnect(sid)

    def _refuse_connection(self, refused: TokenRefused) -> NoReturn:
        self._log.info("connection refused: %s", refused.code)
        raise socketio.exceptions.ConnectionRefusedError(
            refused.message, {"code": refused.code, "message": refused.message}
        ) from None

    async def _on_disconnect(self, sid: str, reason: Any = None) -> None:
        if self._sio.manager.is_connected(sid, "/"):
            # Not a real disconnect (python-socketio marks a leaving socket first): an
            # event named `disconnect` that got past the guard. Never drop anyone on it.
            return
        conn = self.connections.get(sid)
        if conn is not None and conn.grant.role is Role.CAPTIONER:
            self.connections.remove(sid)
            self.captions.detach_captioner(conn.session_id, sid)
            # Not from here: this may run inside an emit under the host's lock.
            self.presenter.background(self._detach_captioner(conn))
            return
        current = conn is not None and self.connections.is_current(conn)
        self.connections.remove(sid)
        if conn is None or not conn.joined or not current:
            return  # never joined, or replaced by a newer connection of the same person
        # Engine.IO may call this from inside an emit to the dead socket, that is from
        # inside a session command holding the host's lock: drop the person afterwards.
        self.presenter.background(self._drop(conn))

    async def _drop(self, conn: Connection) -> None:
        """The connection is gone: keep the seat for the grace period (the bridge closes
        the media when the person shows as reconnecting)."""
        pid = conn.participant_id
        for attempt in range(DROP_ATTEMPTS):
            try:
                host = await self._registry.get(conn.session_id)
                await host.run(lambda s, now: s.drop(pid, now))
                break
            except (NotFound, UserError, Moved):
                return  # already gone (or the session is another node's now)
            except Unavailable:
                # The store is away: the person would show as present forever. Try
                # again until it answers (the seat is kept meanwhile, as on a drop).
                if attempt == DROP_ATTEMPTS - 1:
                    log.warning("could not record a dropped connection; giving up")
                    return
                await asyncio.sleep(DROP_RETRY_S)
        grace = self._settings.reconnect_grace_s
        host.run_later(grace, lambda s, now: s.expire_dropped(now, grace))

    async def _enter_call(self, conn: Connection, session: Session) -> None:
        """The participant is in the call now: rooms and welcome (the presenter calls
        this first, so the bridge's offer follows the welcome)."""
        if conn.in_call:
            return
        conn.in_call = True
        await self._sio.enter_room(conn.sid, call_room(session.id))
        room = session.participant(conn.participant_id).room
        await self._sio.enter_room(conn.sid, room_channel(session.id, room))
        if conn.moderates:
            await self._sio.enter_room(conn.sid, facilitator_room(session.id))
        await self._sio.emit("welcome", self._welcome(session, conn), to=conn.sid)

    def publish_of(self, participant_id: str) -> list[str] | None:
        """What the participant's connection in the call asked to publish (None: no
        connection in the call), for the bridge opening their media."""
        conn = self.connections.current(participant_id)
        return list(conn.publish) if conn is not None and conn.in_call else None

    # -- dispatch ----------------------------------------------------------------

    def _dispatch(self, event: str, handler: Handler) -> Callable[[str, Any], Awaitable[None]]:
        @functools.wraps(handler)
        async def run(sid: str, data: Any = None) -> None:
            conn = self.connections.get(sid)
            if conn is None:
                return
            # Whatever is logged while this event is handled names who sent it (opaque ids).
            with log_context(session_id=conn.session_id, participant_id=conn.participant_id):
                await self._handle(conn, event, handler, data)

        return run

    async def _handle(self, conn: Connection, event: str, handler: Handler, data: Any) -> None:
        """Check who may send `event` now, then run its handler; errors become `error`."""
        sid = conn.sid
        try:
            if conn.grant.role is Role.CAPTIONER:
                if event not in CAPTIONER_EVENTS:
                    raise NotPermitted("a captioner only sends caption text")
                conn.limits.check(event)
                await handler(self, conn, data)
                return
            if event != "join" and not conn.joined:
                raise UserError("send join first")
            if event not in WAITING_ROOM_EVENTS and not conn.in_call:
                raise NotPermitted("you are in the waiting room")
            conn.limits.check(event)
            await handler(self, conn, data)
        except Moved as moved:
            # The session is no longer here: say so, then close; connecting again
            # (to any node) is sent to the owner.
            await self._error(sid, moved.code, moved.message, event, moved.url)
            self.connections.remove(sid)
            await self._sio.disconnect(sid)
        except PeerCircleError as error:
            await self._error(sid, error.code, error.message, event)
        except Exception:
            log.exception("handler %s failed", event)
            await self._error(sid, "internal", "the server could not handle this", event)

    async def _error(self, sid: str, code: str, message: str, event: str, url: str = "") -> None:
        body = {"code": code, "message": message, "event": event}
        if url:
            body["url"] = url  # `moved`: the owner's public URL, from the node registry
        await self._sio.emit("error", body, to=sid)

    async def _host(self, conn: Connection) -> SessionHost:
        return await self._registry.get(conn.session_id)

    async def _run(self, conn: Connection, command: Command) -> None:
        await (await self._host(conn)).run(command)

    # -- arriving and leaving --------------------------------------------------------

    async def join(self, conn: Connection, data: Any) -> None:
        """`join`: knock; come in (welcome + offer) or wait."""
        request = parse_join(data)
        grant = conn.grant
        conn.publish = [
            source
            for source, wanted, action in (
                ("mic", request.mic, Action.PUBLISH_MIC),
                ("camera", request.camera, Action.PUBLISH_CAMERA),
            )
            if wanted and may(grant.role, action)
        ]
        if not self.link_limits.allow(grant.participant_id):
            raise RateLimited("too many knocks with this link; wait a little")
        replaced = self.connections.make_current(conn)
        if replaced is not None:
            await self._replace(replaced)
        conn.joined = True
        conn.in_call = False
        host = await self._host(conn)
        pid = grant.participant_id
        declined = request.captions_declined
        try:
            events = await host.run(
                lambda s, now: s.join(
                    pid, grant.name, grant.role, now, grant.pre_admitted, declines_captions=declined
                )
            )
        except Unavailable:
            # Refused, not waved through: the session did not change; join again later.
            conn.joined = False
            raise
        # Coming in (welcome, then media) follows the events: the presenter and the
        # bridge. A repeated knock has none.
        presence = host.session.participant(pid).presence
        if presence is Presence.WAITING and not events:
            # A repeated knock changes nothing (no audit record, no push to the
            # facilitators); only this socket hears that it is waiting.
            body = {"session": {"title": host.session.title}}
            await self._sio.emit("waiting", body, to=conn.sid)

    async def leave(self, conn: Connection, data: Any) -> None:
        """`leave`: go now, without a grace period."""
        parse_empty(data)
        pid = conn.participant_id
        await self._run(conn, lambda s, now: s.leave(pid))
        conn.joined = False
        await self._sio.emit("session-left", {"reason": "left"}, to=conn.sid)
        await self._sio.disconnect(conn.sid)

    async def _replace(self, old_sid: str) -> None:
        old = self.connections.remove(old_sid)
        if old is not None:
            # Its media goes when the new connection's join restarts it (the bridge).
            await self._sio.emit("session-left", {"reason": "replaced"}, to=old_sid)
            await self._sio.disconnect(old_sid)

    # -- presenting ----------------------------------------------------------------------

    def _welcome(self, session: Session, conn: Connection) -> dict[str, Any]:
        return welcome(session, conn.grant, self._settings.ice_servers)

    def send_offer(self, participant_id: str, offer: dict[str, object]) -> None:
        """Deliver a media offer to the participant's current connection."""
        conn = self.connections.current(participant_id)
        if conn is not None:
            self.presenter.background(self._sio.emit("offer", offer, to=conn.sid))

    def restart_media(self, participant_id: str) -> None:
        """The peer connection failed: ask the client to join again."""
        conn = self.connections.current(participant_id)
        if conn is not None:
            body = {"code": "media_failed", "message": "media failed; rejoin", "event": "media"}
            self.presenter.background(self._sio.emit("error", body, to=conn.sid))

    def video_paused(self, participant_id: str, paused: bool) -> None:
        """The media plane paused (or resumed) others' video to this participant."""
        conn = self.connections.current(participant_id)
        if conn is not None:
            body = {"video": "paused" if paused else "flowing"}
            self.presenter.background(self._sio.emit("media-quality", body, to=conn.sid))

    def connection_count(self) -> int:
        """Open sockets (for metrics)."""
        return len(self.connections)
