"""Builds the aiohttp application: static client, admin API, socket.io, media."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from media.server import IceServer, MediaServer

from .api.admin import AdminApi
from .api.health import Readiness
from .api.http_security import origin_policy, security_headers
from .api.metrics import NodeFigures, metrics_registry, metrics_route
from .bridge import MediaBridge
from .captions.service import CaptionService
from .cluster.nodes import NodeDirectory
from .cluster.ownership import Ownership
from .config import Settings
from .domain.errors import Unavailable
from .host import EventListener, SessionRegistry
from .signaling.connections import call_room, facilitator_room, room_channel
from .signaling.guard import GuardedServer, quiet_library_logger
from .signaling.inbound import MAX_MESSAGE_BYTES
from .signaling.namespace import Signaling
from .speaking.service import FLUSH_EVERY_S, SpeakingService
from .store import Lease, SessionStore
from .store.memory import MemoryStore
from .telemetry.timings import LoopLagProbe
from .tokens import TokenSigner

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

ROOT = Path(__file__).resolve().parent.parent
CLIENT_DIR = ROOT / "client"
SOCKETIO_CLIENT = ROOT / "node_modules" / "socket.io-client" / "dist" / "socket.io.min.js"

SETTINGS = web.AppKey("settings", Settings)
REGISTRY = web.AppKey("registry", SessionRegistry)
MEDIA = web.AppKey("media", MediaServer)
SIGNALING = web.AppKey("signaling", Signaling)
SIGNER = web.AppKey("signer", TokenSigner)
STORE = web.AppKey("store", SessionStore)
READINESS = web.AppKey("readiness", Readiness)
OWNERSHIP = web.AppKey("ownership", Ownership)


class Drain:
    """SIGTERM with several nodes: stop taking sessions, hand each one this node holds
    to another live node (after its last writes), and send its people there."""

    def __init__(
        self,
        registry: SessionRegistry,
        nodes: NodeDirectory,
        readiness: Readiness,
        signaling: Signaling,
    ) -> None:
        self._registry = registry
        self._nodes = nodes
        self._readiness = readiness
        self._signaling = signaling

    async def run(self) -> int:
        """Drain; how many sessions went to other nodes. With no other node live the
        sessions stay here until the process stops (their leases are released then,
        and the next node to come up takes them over)."""
        self._readiness.draining = True
        await self._nodes.leave()
        try:
            others = await self._nodes.others()
        except Unavailable:
            others = []
        if not others:
            return 0
        handed = 0
        live = [s for s in self._registry.loaded_sessions() if not s.ended]
        for n, session in enumerate(live):
            target = others[n % len(others)]
            try:
                if await self._registry.hand_over(session.id, target):
                    handed += 1
                    log.info("drain: session %s handed to %s", session.id, target.node_id)
            except Unavailable:
                log.warning("drain: could not hand session %s over", session.id)
        await self._signaling.presenter.settled()
        return handed


DRAIN = web.AppKey("drain", Drain)


def make_store(settings: Settings) -> SessionStore:
    """The configured store: in memory by default, Redis when PEERCIRCLE_STORE=redis."""
    if settings.store == "redis":
        from .store.redis_store import RedisStore

        return RedisStore(settings.redis_url)
    return MemoryStore()


def build_app(settings: Settings, store: SessionStore | None = None) -> web.Application:
    """The whole PeerCircle process as one aiohttp application."""
    store = store or make_store(settings)
    listeners: list[EventListener] = []
    # The node registry and leases; with the in-memory store this node owns everything.
    nodes = NodeDirectory(
        store,
        settings.node_id or "n_" + secrets.token_hex(6),
        settings.base_url,
        (settings.internal_url or settings.base_url).rstrip("/"),
        load=lambda: signaling.connection_count(),
        heartbeat_s=settings.node_heartbeat_s,
        ttl_s=settings.node_ttl_s,
    )
    ownership = Ownership(store, nodes, settings.lease_ttl_s)
    registry = SessionRegistry(
        store, listeners, ownership=ownership, grace_s=settings.reconnect_grace_s
    )

    async def fence(session_id: str) -> Lease | None:
        # What services keep of a session (speaking ledger, transcript) is written
        # only under this node's lease of it, like the session's record.
        return await ownership.current(session_id)

    bridge = MediaBridge(registry)
    media = MediaServer(
        bridge,
        tuple(IceServer(s.urls, s.username, s.credential) for s in settings.ice_servers),
        settings.offer_loopback_candidates,
        drop_video_every=settings.fault_drop_video_every,
    )
    signer = TokenSigner(settings.token_secret, settings.token_audience)
    sio = GuardedServer(
        async_mode="aiohttp",
        max_http_buffer_size=MAX_MESSAGE_BYTES,
        # The page's own origin, PEERCIRCLE_PUBLIC_URL's and PEERCIRCLE_ALLOWED_ORIGINS.
        cors_allowed_origins=origin_policy(settings),
        # A call must notice a dead link within seconds, not socket.io's default 45 s.
        ping_interval=settings.ping_interval_s,
        ping_timeout=settings.ping_timeout_s,
        # The libraries' own loggers, quiet below WARNING (they log every event at INFO)
        # and logged once through the root handlers (not twice, as their defaults do).
        logger=quiet_library_logger("socketio.server"),
        engineio_logger=quiet_library_logger("engineio.server"),
    )

    async def emit(event: str, body: dict[str, Any], to: str) -> None:
        await sio.emit(event, body, to=to)

    captions = CaptionService(
        settings.captions,
        store,
        media.capture_audio,
        emit,
        channel=room_channel,
        everyone=call_room,
        session_of=registry.loaded_session,
        transcript_retention_s=settings.transcript_retention_days * 86400,
        fence=fence,
    )

    def sid_in_call(participant_id: str) -> str | None:
        conn = signaling.connections.current(participant_id)
        return conn.sid if conn is not None and conn.in_call else None

    speaking = SpeakingService(
        settings.speaking,
        store,
        emit,
        staff_room=facilitator_room,
        sid_of=sid_in_call,
        retention_s=settings.stats_retention_days * 86400,
        show_own_talk=settings.show_own_talk_time,
        fence=fence,
        # With a shared store another node may take the session over from what was
        # flushed: every second (at most ~2 s of talk lost); in memory every 5 s.
        flush_every_s=1.0 if settings.store == "redis" else FLUSH_EVERY_S,
    )
    signaling = Signaling(sio, registry, bridge, signer, settings, captions, speaking)
    bridge.attach(media, signaling.send_offer, signaling.restart_media)
    bridge.video_paused = signaling.video_paused
    bridge.publish_of = signaling.publish_of
    bridge.voice_sinks.append(captions.on_frames)
    bridge.voice_sinks.append(speaking.on_frames)
    # Present first, so clients hear of a change before media follows it.
    listeners += [signaling.presenter.present, bridge.on_events, captions.on_events]
    listeners.append(speaking.on_events)
    registry.on_load.append(speaking.on_loaded)
    # A session this node no longer owns: its people are sent to the new owner, its
    # captions stop, its speaking ledger is let go unwritten, its media closes.
    registry.on_unload.append(signaling.let_go)

    async def unload_services(session_id: str, url: str) -> None:
        await captions.let_go(session_id)
        speaking.let_go(session_id)
        await bridge.let_go(session_id)

    registry.on_unload.append(unload_services)
    registry.on_hand_over.append(speaking.hand_over)

    app = web.Application(middlewares=[security_headers], client_max_size=64 * 1024)
    app[SETTINGS] = settings
    app[REGISTRY] = registry
    app[MEDIA] = media
    app[SIGNALING] = signaling
    app[SIGNER] = signer
    app[STORE] = store
    readiness = Readiness(store)
    app[READINESS] = readiness
    app[OWNERSHIP] = ownership
    app[DRAIN] = Drain(registry, nodes, readiness, signaling)
    sio.attach(app)

    def metrics() -> dict[str, float]:
        return media.stats() | captions.metrics() | {"connections": signaling.connection_count()}

    api = AdminApi(
        settings,
        registry,
        signer,
        metrics,
        store,
        speaking.settings,
        speaking.live_ledger,
        ownership=ownership,
    )
    app.add_routes(api.routes())
    loop_lag = LoopLagProbe()
    figures = NodeFigures(
        media=media.stats,
        captions=captions.metrics,
        connections=signaling.connection_count,
        sessions=registry.loaded_sessions,
        speaking_tick=speaking.tick_timings,
        loop_lag=loop_lag.lag,
    )
    scrape = metrics_route(settings.metrics_token, metrics_registry(figures))
    app.add_routes(
        [
            web.get("/", _page("index.html")),
            web.get("/join", _page("call.html")),
            web.get("/healthz", readiness.livez),
            web.get("/livez", readiness.livez),
            web.get("/readyz", readiness.readyz),
            web.get("/metrics", scrape),
            web.get("/favicon.ico", _no_content),
            web.get("/vendor/socket.io.min.js", _socketio_client),
            web.static("/client", CLIENT_DIR, append_version=False),
        ]
    )

    async def purge_loop(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.ensure_future(_purge_periodically(store, settings, registry))
        loop_lag.start()
        nodes.start()
        ownership.start()
        registry.watch(settings.lease_ttl_s / 3)
        yield
        task.cancel()
        loop_lag.stop()

    app.cleanup_ctx.append(purge_loop)

    async def shutdown(app: web.Application) -> None:
        # The last writes first (under the leases), then leave the registry and give
        # the leases up, so other nodes take over at once.
        registry.close()
        await captions.close()
        await speaking.close()
        await ownership.stop()
        await nodes.stop()
        await media.close()
        await store.close()

    app.on_shutdown.append(shutdown)
    return app


async def _purge_periodically(
    store: SessionStore, settings: Settings, registry: SessionRegistry
) -> None:
    """Drop audit records and ended sessions' records past their retention, at start
    and then every `retention_sweep_s` (hourly by default)."""
    while True:
        now = time.time()
        try:
            dropped = await store.purge_audit(now - settings.audit_retention_days * 86400)
            if dropped:
                log.info("retention: dropped %d audit records", dropped)
            cutoff = now - settings.session_retention_days * 86400
            ended = await purge_ended_sessions(store, cutoff)
            for session_id in ended:
                registry.forget(session_id)
            if ended:
                log.info("retention: deleted %d ended sessions' records", len(ended))
        except Exception:
            log.exception("retention purge failed")
        await asyncio.sleep(settings.retention_sweep_s)


async def purge_ended_sessions(store: SessionStore, ended_before: float) -> list[str]:
    """Delete the records of sessions that ended before `ended_before` (a record of an
    older version, without `ended_at`, counts from its creation); their ids."""
    deleted: list[str] = []
    for session_id in await store.list_session_ids():
        record = await store.load_session(session_id)
        if record is None or not record.get("ended"):
            continue
        ended_at = record.get("ended_at") or record.get("created_at") or 0.0
        if float(ended_at) < ended_before:
            await store.delete_session(session_id)
            deleted.append(session_id)
    return deleted


def _page(name: str) -> Handler:
    async def serve(request: web.Request) -> web.StreamResponse:
        return web.FileResponse(CLIENT_DIR / name, headers={"Cache-Control": "no-store"})

    return serve


async def _no_content(request: web.Request) -> web.Response:
    return web.Response(status=204)


async def _socketio_client(request: web.Request) -> web.StreamResponse:
    if not SOCKETIO_CLIENT.exists():
        return web.Response(status=500, text="socket.io client missing: run scripts/setup.sh")
    return web.FileResponse(SOCKETIO_CLIENT)
