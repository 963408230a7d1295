"""Figures of one benchmark run, computed from load-generator counters and CPU samples."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bench.common.procstat import CpuSample, drops_between

KINDS = ("audio", "video")


@dataclass(frozen=True)
class Figures:
    """What one measuring window showed."""

    window_s: float
    server_cores: float
    ms_per_stream_s: float
    ms_per_delivered_stream_s: float
    delivered: dict[str, float]
    worst_stream: float
    loadgen_cores: float
    other_cores: float
    keyframes_on_request: int
    intact: float
    not_connected: int
    loadgen_loop_lag_s: float
    udp_drops_server: int
    udp_drops_loadgen: int
    server_counters: dict[str, int] = field(default_factory=dict)


@dataclass
class RunResult:
    """One server at one room size: figures, or why there are none."""

    server: str
    n: int
    figures: Figures | None = None
    notes: list[str] = field(default_factory=list)
    server_rss_mb: float = 0.0


def compute(
    n: int,
    start: dict[str, Any],
    end: dict[str, Any],
    cpu0: CpuSample,
    cpu1: CpuSample,
    loop_lag_s: float,
    counters0: dict[str, int] | None,
    counters1: dict[str, int] | None,
) -> Figures:
    """Deltas over the window between the `window-start` and `window-end` snapshots."""
    wall = cpu1.wall - cpu0.wall
    sent = {k: end["sent"][k] - start["sent"].get(k, 0) for k in end["sent"]}
    received = {k: end["received"][k] - start["received"].get(k, 0) for k in end["received"]}
    delivered: dict[str, float] = {}
    for kind in KINDS:
        wanted = sum(v for k, v in sent.items() if k.endswith("/" + kind)) * (n - 1)
        got = sum(v for k, v in received.items() if k.endswith("/" + kind))
        delivered[kind] = got / wanted if wanted else 0.0
    # Per stream: what one subscriber got of what one publisher sent.
    shares = [
        frames / sent[key.split("<", 1)[1]] if sent.get(key.split("<", 1)[1]) else 0.0
        for key, frames in received.items()
    ]
    server_s = cpu1.server_s - cpu0.server_s
    loadgen_s = cpu1.loadgen_s - cpu0.loadgen_s
    streams = 2 * n * (n - 1)
    # A server that drops most frames looks cheap per nominal stream; per delivered
    # stream-second (each kind weighted by its share delivered) it does not.
    delivered_streams = n * (n - 1) * (delivered["audio"] + delivered["video"])
    counters: dict[str, int] = {}
    if counters0 is not None and counters1 is not None:
        counters = {k: v - counters0.get(k, 0) for k, v in counters1.items()}
    return Figures(
        window_s=wall,
        server_cores=server_s / wall,
        ms_per_stream_s=1000 * server_s / (streams * wall),
        ms_per_delivered_stream_s=(
            1000 * server_s / (delivered_streams * wall) if delivered_streams else float("inf")
        ),
        delivered=delivered,
        worst_stream=min(shares) if shares else 0.0,
        loadgen_cores=loadgen_s / wall,
        # Everything else on the machine (other people's tests): the noise floor.
        other_cores=(cpu1.host_s - cpu0.host_s - server_s - loadgen_s) / wall,
        keyframes_on_request=end["keyframes_on_request"] - start["keyframes_on_request"],
        intact=(end["intact"] - start["intact"]) / max(1, sum(received.values())),
        loadgen_loop_lag_s=loop_lag_s,
        not_connected=end["not_connected"],
        udp_drops_server=drops_between(cpu0.server_udp_drops, cpu1.server_udp_drops),
        udp_drops_loadgen=drops_between(cpu0.loadgen_udp_drops, cpu1.loadgen_udp_drops),
        server_counters=counters,
    )


def _pct(share: float) -> str:
    return f"{100 * share:.1f}%"


def table(results: list[RunResult]) -> str:
    """The results as a Markdown table, then ratios and notes."""
    lines = [
        "| N | server | server CPU (cores) | CPU per fwd stream-s (ms) "
        "| CPU per delivered stream-s (ms) | audio delivered | video delivered "
        "| worst stream | loadgen CPU (cores) | other load (cores) "
        "| UDP drops server / loadgen |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        f = r.figures
        if f is None:
            lines.append(f"| {r.n} | {r.server} | - | - | - | - | - | - | - | - | - |")
            continue
        lines.append(
            f"| {r.n} | {r.server} | {f.server_cores:.2f} | {f.ms_per_stream_s:.2f} "
            f"| {f.ms_per_delivered_stream_s:.2f} "
            f"| {_pct(f.delivered['audio'])} | {_pct(f.delivered['video'])} "
            f"| {_pct(f.worst_stream)} | {f.loadgen_cores:.2f} | {f.other_cores:.2f} "
            f"| {f.udp_drops_server} / {f.udp_drops_loadgen} |"
        )
    lines += ["", *_ratios(results), "", *_notes(results)]
    return "\n".join(lines)


def _ratios(results: list[RunResult]) -> list[str]:
    lines = ["| N | CPU PeerCircle / MediaRelay | video delivered PeerCircle / MediaRelay |"]
    lines.append("|---|---|---|")
    for n in sorted({r.n for r in results}):
        by = {r.server: r.figures for r in results if r.n == n}
        ours, ref = by.get("PeerCircle"), by.get("MediaRelay")
        if ours is None or ref is None or ref.server_cores == 0 or ref.delivered["video"] == 0:
            lines.append(f"| {n} | - | - |")
            continue
        cpu = ours.server_cores / ref.server_cores
        video = ours.delivered["video"] / ref.delivered["video"]
        lines.append(f"| {n} | {cpu:.2f} | {video:.2f} |")
    return lines


def _notes(results: list[RunResult]) -> list[str]:
    lines = []
    for r in results:
        f = r.figures
        parts = list(r.notes)
        if f is not None:
            parts.append(f"window {f.window_s:.1f} s")
            if f.not_connected:
                parts.append(f"{f.not_connected} peer connections not connected at the end")
            parts.append(f"keyframes sent on request {f.keyframes_on_request}")
            parts.append(f"received frames byte-identical to the clip {_pct(f.intact)}")
            parts.append(f"loadgen worst loop lag {1000 * f.loadgen_loop_lag_s:.0f} ms")
            if f.server_counters:
                shown = (
                    "frames_in",
                    "frames_out",
                    "packets_in",
                    "packets_out",
                    "retransmitted",
                    "frames_dropped",
                    "video_encodes",
                )
                parts += [f"{k} {f.server_counters[k]}" for k in shown if k in f.server_counters]
                parts += [f"video_decodes {f.server_counters.get('video_decodes', 0)}"]
                packets_out = f.server_counters.get("packets_out", 0)
                if packets_out:
                    # Everything the server process did, over what it sent: receiving,
                    # RTCP and signaling included.
                    us = 1e6 * f.server_cores * f.window_s / packets_out
                    parts.append(f"server CPU per forwarded packet {us:.1f} us")
        if r.server_rss_mb:
            parts.append(f"server RSS {r.server_rss_mb:.0f} MiB")
        lines.append(f"- N={r.n} {r.server}: " + "; ".join(parts))
    return lines
