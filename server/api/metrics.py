"""Prometheus exposition (`GET /metrics`, text format): one collector that reads the live
figures of this node at scrape time, so nothing is counted twice.

The JSON `GET /api/metrics` shows the same media and captions figures under the admin
key; this endpoint is for scrapers: off unless PEERCIRCLE_METRICS_TOKEN is set, and then
behind `Authorization: Bearer <token>`.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from ..domain.session import Session
from ..telemetry.timings import Timings

PREFIX = "peercircle"

# media.stats() keys that are levels: (metric name, help).
MEDIA_GAUGES = {
    "peers": ("peers", "Peer connections (one per participant in a call)"),
    "receive_slots": ("receive_slots", "Server-to-subscriber media slots"),
    "video_paused_peers": (
        "video_paused_subscribers",
        "Subscribers whose video is paused because their link cannot keep up",
    ),
    "mic_taps": ("audio_tap_mics", "Mics decoded for voice activity and captions"),
    "audio_decoders": ("audio_tap_decoders", "Live Opus decoders"),
    "tap_backlog": ("audio_tap_backlog_packets", "Mic packets waiting to be decoded"),
}
# media.stats() keys that only grow: (metric name without _total, help).
MEDIA_COUNTERS = {
    "packets_in": ("media_packets_in", "RTP packets received from publishers"),
    "frames_in": ("media_frames_in", "Frames received from publishers"),
    "packets_out": ("forwarded_packets", "RTP packets forwarded to subscribers"),
    "octets_out": ("forwarded_bytes", "Payload bytes forwarded to subscribers"),
    "frames_out": ("forwarded_frames", "Frames forwarded to subscribers"),
    "retransmitted": ("retransmitted_packets", "Packets resent from the cache (NACK)"),
    "retransmit_misses": ("retransmit_misses", "NACKed packets that could not be resent"),
    "video_encodes": ("video_encodes", "Video frames encoded (an SFU keeps this at 0)"),
    "video_decodes": ("video_decodes", "Video frames decoded (an SFU keeps this at 0)"),
    "voice_frames": ("voice_frames", "30 ms frames of decoded mic audio"),
    "tap_packets": ("audio_tap_packets", "Mic packets handed to the audio tap"),
}
# Packets lost on purpose or by necessity, by why.
DROP_REASONS = {
    "packets_dropped": "malformed_or_unroutable",
    "packets_over_rate": "over_rate",
    "send_failures": "send_failed",
    "fault_drops": "fault_injected",
    "tap_packets_dropped": "audio_tap_overflow",
    "tap_packets_late": "audio_late",
    "tap_packets_undecodable": "audio_undecodable",
}
CAPTION_GAUGES = {"caption_sessions", "captions_queued"}


@dataclass(frozen=True)
class NodeFigures:
    """Where the collector reads this node's figures, each a cheap call."""

    media: Callable[[], Mapping[str, int]]
    captions: Callable[[], Mapping[str, float]]
    connections: Callable[[], int]
    sessions: Callable[[], Iterable[Session]]
    speaking_tick: Timings
    loop_lag: Timings


def _name(key: str) -> str:
    key = re.sub(r"[^a-zA-Z0-9_]", "_", key)
    return re.sub(r"_s$", "_seconds", key)


def _histogram(name: str, help_text: str, timings: Timings) -> HistogramMetricFamily:
    return HistogramMetricFamily(
        f"{PREFIX}_{name}", help_text, buckets=timings.cumulative(), sum_value=timings.total_s
    )


class NodeCollector(Collector):
    """Every PeerCircle figure of this process, read when Prometheus scrapes."""

    def __init__(self, figures: NodeFigures) -> None:
        self._figures = figures

    def collect(self) -> Iterator[Metric]:
        """The metric families, built from the live numbers."""
        yield from self._sessions()
        figures = self._figures
        yield GaugeMetricFamily(
            f"{PREFIX}_connections", "Open socket.io connections", value=figures.connections()
        )
        yield from self._media(figures.media())
        yield from self._captions(figures.captions())
        yield _histogram(
            "speaking_tick_seconds",
            "Wall time of one speaking-time tick over every live session",
            figures.speaking_tick,
        )
        yield _histogram(
            "event_loop_lag_seconds",
            "How late the event loop woke a 250 ms timer",
            figures.loop_lag,
        )
        yield GaugeMetricFamily(
            f"{PREFIX}_event_loop_lag_last_seconds",
            "Event-loop lag of the latest probe",
            value=figures.loop_lag.last_s,
        )

    def _sessions(self) -> Iterator[Metric]:
        live = [s for s in self._figures.sessions() if not s.ended]
        yield GaugeMetricFamily(
            f"{PREFIX}_sessions", "Live sessions hosted by this node", value=len(live)
        )
        rooms = sum(len({p.room for p in s.participants()}) for s in live)
        yield GaugeMetricFamily(
            f"{PREFIX}_rooms", "Rooms with someone in them (main room and breakouts)", value=rooms
        )
        people = GaugeMetricFamily(
            f"{PREFIX}_participants", "Participants of live sessions", labels=["presence"]
        )
        people.add_metric(["in_call"], sum(len(s.participants()) for s in live))
        people.add_metric(["waiting"], sum(len(s.waiting()) for s in live))
        yield people

    def _media(self, stats: Mapping[str, int]) -> Iterator[Metric]:
        for key, (name, help_text) in MEDIA_GAUGES.items():
            if key in stats:
                yield GaugeMetricFamily(f"{PREFIX}_{name}", help_text, value=stats[key])
        for key, (name, help_text) in MEDIA_COUNTERS.items():
            if key in stats:
                yield CounterMetricFamily(f"{PREFIX}_{name}", help_text, value=stats[key])
        drops = CounterMetricFamily(
            f"{PREFIX}_dropped_packets", "Media packets not forwarded, by reason", labels=["reason"]
        )
        for key, reason in DROP_REASONS.items():
            drops.add_metric([reason], stats.get(key, 0))
        yield drops
        yield CounterMetricFamily(
            f"{PREFIX}_dropped_frames",
            "Frames not sent to a subscriber that was not ready (waiting for a keyframe, "
            "an answer, its transport, or paused)",
            value=stats.get("frames_dropped", 0),
        )
        if "tap_cpu_ms" in stats:
            yield CounterMetricFamily(
                f"{PREFIX}_audio_tap_cpu_seconds",
                "CPU time of the mic decode and VAD worker",
                value=stats["tap_cpu_ms"] / 1000,
            )

    def _captions(self, metrics: Mapping[str, float]) -> Iterator[Metric]:
        for key, value in sorted(metrics.items()):
            name = f"{PREFIX}_{_name(key)}"
            if key in CAPTION_GAUGES:
                yield GaugeMetricFamily(name, f"Captions: {key}", value=value)
            else:
                yield CounterMetricFamily(name, f"Captions: {key}", value=value)


def metrics_registry(figures: NodeFigures) -> CollectorRegistry:
    """A registry of this node's collector plus the process's CPU, memory and files."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(NodeCollector(figures))
    ProcessCollector(namespace=PREFIX, registry=registry)
    return registry


def metrics_route(
    token: str, registry: CollectorRegistry
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """GET /metrics: 404 while no token is configured, 401 without the right bearer."""

    async def scrape(request: web.Request) -> web.Response:
        if not token:
            raise web.HTTPNotFound(text="metrics are off: set PEERCIRCLE_METRICS_TOKEN")
        header = request.headers.get("Authorization", "")
        scheme, _, given = header.partition(" ")
        if scheme != "Bearer" or not hmac.compare_digest(
            given.strip().encode("utf-8", "replace"), token.encode()
        ):
            raise web.HTTPUnauthorized(
                text="a valid metrics token is required",
                headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
            )
        return web.Response(
            body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    return scrape
