"""One frozen settings object: defaults in code, overrides from PEERCIRCLE_* variables."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit


@dataclass(frozen=True)
class IceServer:
    """One configured STUN/TURN server (an entry of RTCConfiguration.iceServers); the
    app hands them to the media plane, the welcome to the browser."""

    urls: tuple[str, ...]
    username: str | None = None
    credential: str | None = None


@dataclass(frozen=True)
class Settings:
    """Everything configurable about one PeerCircle process."""

    host: str = "127.0.0.1"
    port: int = 8080
    # Where browsers reach this node; join links are built on it.
    public_url: str = ""
    admin_key: str = ""
    token_secret: str = ""
    # Join tokens' `aud` claim: the deployment they admit to (docs/API.md).
    token_audience: str = "peercircle"
    token_ttl_s: int = 12 * 3600
    store: str = "memory"
    redis_url: str = "redis://127.0.0.1:6379/0"
    ice_servers: tuple[IceServer, ...] = ()
    offer_loopback_candidates: bool = True
    reconnect_grace_s: float = 30.0
    ping_interval_s: float = 5.0
    ping_timeout_s: float = 5.0
    max_participants: int = 30
    audit_retention_days: float = 365.0
    # Caption text kept (only when a session enables a transcript) and speaking
    # statistics (the ledger and the report) are dropped after these many days.
    transcript_retention_days: float = 30.0
    stats_retention_days: float = 30.0
    # Patients see their own talk time in the toolbar (PEERCIRCLE_SHOW_OWN_TALK_TIME).
    show_own_talk_time: bool = True
    # Testing only: lose every n-th forwarded video packet on its way to each
    # subscriber (after caching it, so NACK can recover it). 0: never.
    fault_drop_video_every: int = 0
    demo: bool = False
    log_level: str = "INFO"
    # "text" (one human line per record) or "json" (one JSON object per line).
    log_format: str = "text"
    # Origins (scheme://host[:port]) that may open a socket.io connection besides this
    # server's own (same origin, and public_url's origin when set).
    allowed_origins: tuple[str, ...] = ()
    # GET /metrics (Prometheus text format) needs `Authorization: Bearer <token>`;
    # unset: /metrics is off (404).
    metrics_token: str = ""
    # On SIGTERM: answer /readyz 503 ("draining") for this long before closing, so a
    # load balancer sends no new sessions here.
    drain_grace_s: float = 0.0
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        """The URL browsers open, without a trailing slash."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def extra_origins(self) -> frozenset[str]:
        """Origins allowed besides the request's own: the configured ones and
        public_url's origin."""
        origins = {_origin(o) for o in self.allowed_origins if o.strip()}
        if self.public_url:
            origins.add(_origin(self.public_url))
        return frozenset(origins)


def _origin(url: str) -> str:
    """`scheme://host[:port]` of a URL, as browsers send it in Origin."""
    parts = urlsplit(url.strip())
    if not parts.scheme or not parts.netloc:
        raise ValueError(f"not an origin (scheme://host[:port]): {url!r}")
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def _bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _ice_servers(value: str) -> tuple[IceServer, ...]:
    """PEERCIRCLE_ICE_SERVERS: a JSON list like RTCConfiguration.iceServers."""
    if not value.strip():
        return ()
    servers = []
    for entry in json.loads(value):
        urls = entry["urls"]
        servers.append(
            IceServer(
                urls=tuple([urls] if isinstance(urls, str) else urls),
                username=entry.get("username"),
                credential=entry.get("credential"),
            )
        )
    return tuple(servers)


def load_settings(env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
    """Build settings from defaults, then the environment, then explicit overrides."""
    env = os.environ if env is None else env

    def get(name: str) -> str | None:
        return env.get(f"PEERCIRCLE_{name}")

    values: dict[str, object] = {}
    for name, cast in (
        ("HOST", str),
        ("PUBLIC_URL", str),
        ("ADMIN_KEY", str),
        ("TOKEN_SECRET", str),
        ("TOKEN_AUDIENCE", str),
        ("STORE", str),
        ("REDIS_URL", str),
        ("LOG_LEVEL", str),
        ("LOG_FORMAT", str),
        ("METRICS_TOKEN", str),
        ("DRAIN_GRACE_S", float),
        ("PORT", int),
        ("TOKEN_TTL_S", int),
        ("MAX_PARTICIPANTS", int),
        ("FAULT_DROP_VIDEO_EVERY", int),
        ("RECONNECT_GRACE_S", float),
        ("AUDIT_RETENTION_DAYS", float),
        ("TRANSCRIPT_RETENTION_DAYS", float),
        ("STATS_RETENTION_DAYS", float),
        ("PING_INTERVAL_S", float),
        ("PING_TIMEOUT_S", float),
    ):
        raw = get(name)
        if raw is not None and raw != "":
            values[name.lower()] = cast(raw)
    for name, attr in (
        ("ICE_LOOPBACK", "offer_loopback_candidates"),
        ("DEMO", "demo"),
        ("SHOW_OWN_TALK_TIME", "show_own_talk_time"),
    ):
        raw = get(name)
        if raw is not None and raw != "":
            values[attr] = _bool(raw)
    raw_origins = get("ALLOWED_ORIGINS")
    if raw_origins:
        values["allowed_origins"] = tuple(o.strip() for o in raw_origins.split(",") if o.strip())
    raw_ice = get("ICE_SERVERS")
    if raw_ice:
        values["ice_servers"] = _ice_servers(raw_ice)
    values.update(overrides)
    settings = Settings(**values)  # type: ignore[arg-type]
    if settings.store not in {"memory", "redis"}:
        raise ValueError("PEERCIRCLE_STORE must be 'memory' or 'redis'")
    if settings.log_format not in {"text", "json"}:
        raise ValueError("PEERCIRCLE_LOG_FORMAT must be 'text' or 'json'")
    # A malformed origin fails at start, not on every connection.
    _ = settings.extra_origins
    if not settings.token_secret:
        # A process-local secret: links die with the process, which is what a
        # one-process demo wants. Multi-node deployments must set one.
        settings = replace(settings, token_secret=secrets.token_urlsafe(32))
    return settings
