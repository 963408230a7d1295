"""Figures of one side-by-side run (server, N) from the lean load generators' reports."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from bench.forwarding.lean_streams import LATENCY_BUCKET_NS, stream_name


@dataclass
class Figures:
    """What the table prints for one server at one N."""

    cpu_cores: float
    cpu_us_per_packet: float
    packets_per_s: float
    delivered: float
    worst_pair: float
    video_delivered: float
    latency_p50_ms: float
    latency_p99_ms: float
    latency_max_ms: float
    loadgen_cores: float
    other_cores: float
    server_udp_drops: int
    loadgen_udp_drops: int


@dataclass
class SideResult:
    """One server at one N: figures, or notes saying why not."""

    server: str
    n: int
    screen: bool
    figures: Figures | None = None
    notes: list[str] = field(default_factory=list)
    rss_mb: list[float] = field(default_factory=list)


def percentile(histogram: Counter[int], share: float) -> float:
    """The `share` quantile of a latency histogram, in ms (bucket midpoints)."""
    total = sum(histogram.values())
    if not total:
        return float("nan")
    rank, seen = share * total, 0
    for bucket in sorted(histogram):
        seen += histogram[bucket]
        if seen >= rank:
            return (bucket + 0.5) * LATENCY_BUCKET_NS / 1e6
    return float("nan")


def delivery(n: int, reports: list[dict[str, Any]]) -> tuple[float, float, float, int]:
    """(share of frames delivered, worst subscriber/stream pair, video share, packets)."""
    sent: dict[int, int] = {}
    received: Counter[tuple[int, int]] = Counter()
    packets = 0
    for report in reports:
        sent.update({int(sid): frames for sid, (frames, _packets) in report["sent"].items()})
        for key, frames in report["received"].items():
            slot, sid = (int(x) for x in key.split(","))
            received[(slot, sid)] += frames
        packets += int(report["packets_received"])
    expected = got = video_expected = video_got = 0
    worst = 1.0
    for sid, frames in sent.items():
        publisher, kind = stream_name(sid)
        for slot in range(n):
            if slot == publisher:
                continue
            share = min(received[(slot, sid)] / frames, 1.0) if frames else 1.0
            worst = min(worst, share)
            expected += frames
            got += min(received[(slot, sid)], frames)
            if kind != "audio":
                video_expected += frames
                video_got += min(received[(slot, sid)], frames)
    return (
        got / expected if expected else 0.0,
        worst,
        video_got / video_expected if video_expected else 0.0,
        packets,
    )


def merged_latency(reports: list[dict[str, Any]], kind: int | None = None) -> Counter[int]:
    """All generators' latency histograms in one (of one kind: 0 audio, 1 video, 2 screen)."""
    histogram: Counter[int] = Counter()
    for report in reports:
        for index, by_kind in enumerate(report["latency"]):
            if kind is None or kind == index:
                for bucket, count in by_kind.items():
                    histogram[int(bucket)] += int(count)
    return histogram


def _cell(value: float, digits: int = 2) -> str:
    return f"{value:.{digits}f}"


def table(results: list[SideResult]) -> str:
    """Markdown: one row per (N, server), then PeerCircle / Janus ratios per N."""
    head = (
        "| N | server | CPU (cores) | us / fwd packet | fwd packets/s | frames delivered | "
        "worst pair | video delivered | latency p50 / p99 / max (ms) | loadgen (cores) | "
        "other load (cores) | UDP drops server / loadgen |\n" + "|---" * 12 + "|\n"
    )
    rows, ratios = [], []
    for r in results:
        label = f"{r.n}{' + screen' if r.screen else ''}"
        f = r.figures
        if f is None:
            rows.append(f"| {label} | {r.server} | " + "; ".join(r.notes) + " |" + " |" * 10)
            continue
        rows.append(
            f"| {label} | {r.server} | {_cell(f.cpu_cores)} | {_cell(f.cpu_us_per_packet, 1)} | "
            f"{f.packets_per_s:.0f} | {100 * f.delivered:.2f}% | {100 * f.worst_pair:.1f}% | "
            f"{100 * f.video_delivered:.2f}% | {_cell(f.latency_p50_ms)} / "
            f"{_cell(f.latency_p99_ms)} / {_cell(f.latency_max_ms, 1)} | "
            f"{_cell(f.loadgen_cores)} | {_cell(f.other_cores)} | "
            f"{f.server_udp_drops} / {f.loadgen_udp_drops} |"
        )
    by_key = {(r.n, r.screen, r.server): r.figures for r in results}
    for n, screen in dict.fromkeys((r.n, r.screen) for r in results):
        ours, theirs = by_key.get((n, screen, "PeerCircle")), by_key.get((n, screen, "Janus"))
        if ours is None or theirs is None:
            continue
        ratios.append(
            f"| {n}{' + screen' if screen else ''} | {ours.cpu_cores / theirs.cpu_cores:.2f} | "
            f"{ours.cpu_us_per_packet / theirs.cpu_us_per_packet:.2f} | "
            f"{ours.latency_p50_ms / theirs.latency_p50_ms:.2f} | "
            f"{ours.latency_p99_ms / theirs.latency_p99_ms:.2f} |"
        )
    out = head + "\n".join(rows)
    if ratios:
        out += (
            "\n\n| N | CPU PeerCircle / Janus | per packet | latency p50 | latency p99 |\n"
            + "|---" * 5
            + "|\n"
            + "\n".join(ratios)
        )
    return out
