"""The after-session speaking report of the admin API: JSON, CSV and an SVG chart of
talk over time, all from the ledger record the speaking service keeps in the store."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import escape
from typing import Any

from ..domain.speaking import SpeakingLedger, SpeakingSettings, speaking_report
from ..store import SessionStore
from .service import RECORD_VERSION
from .wire import report_body

# Metrics columns of the CSV, in order (keys of the wire Person / Group bodies).
PERSON_COLUMNS = (
    "group",
    "presentS",
    "talkS",
    "patientTalkS",
    "facilitatorTalkS",
    "presenterTalkS",
    "share",
    "dominance",
    "turns",
    "backchannels",
    "meanTurnS",
    "longestTurnS",
    "sinceLastSpokeS",
    "spoken",
    "overlapS",
    "interruptionsMade",
    "interruptionsReceived",
)
GROUP_COLUMNS = ("groupSize", "facilitatorShare", "interruptions", "gini", "entropy")
# Colour-blind-safe palette (Okabe-Ito), cycled.
COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000")


@dataclass(frozen=True)
class ReportContext:
    """What a clinician reads a report by: the session's title and date, people's
    names and the rooms' names (ids stay in the report for systems)."""

    title: str = ""
    created_at: float | None = None
    names: Mapping[str, str] = field(default_factory=dict)
    room_names: Mapping[str, str] = field(default_factory=dict)


def iso(at: float | None) -> str | None:
    """An epoch time as ISO 8601 in UTC, to the second."""
    if at is None:
        return None
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


async def load_ledger(
    store: SessionStore, session_id: str, now: float, settings: SpeakingSettings
) -> tuple[SpeakingLedger, float] | None:
    """The stored ledger and the time it was flushed, or None (none, or expired)."""
    record = await store.load_kept("speaking", session_id, now)
    if record is None or record.get("v") != RECORD_VERSION:
        return None
    return SpeakingLedger.from_record(record["ledger"], settings), float(record["at"])


def report_json(
    session_id: str,
    ledger: SpeakingLedger,
    at: float,
    names: Mapping[str, str],
    context: ReportContext | None = None,
) -> dict[str, Any]:
    """Every metric per person and room, whole session and rolling window, as of `at`,
    with the session's title and date, ISO times and room names."""
    context = context or ReportContext(names=names)
    body = report_body(speaking_report(ledger, at), ledger.settings.window_s, digits=3)
    body["sessionId"] = session_id
    body["title"] = context.title
    body["date"] = (iso(context.created_at) or "")[:10]
    body["startedAt"] = iso(context.created_at)
    body["asOf"] = iso(at)
    body["people"] = [{"id": pid, "name": names.get(pid, "")} for pid in ledger.people()]
    for room in body["rooms"]:
        room["roomName"] = context.room_names.get(room["room"], room["room"])
    return body


def report_csv(body: Mapping[str, Any]) -> str:
    """One row per person per scope (session or room) and span (whole or window), and
    one row per scope and span for the group (person "*")."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    lead_columns = ["session", "date", "span", "room", "roomName", "person", "name"]
    writer.writerow([*lead_columns, *PERSON_COLUMNS, *GROUP_COLUMNS])
    names = {p["id"]: p["name"] for p in body["people"]}
    lead = [body.get("title", ""), body.get("date", "")]
    scopes = [("session", "Whole session", body["session"])] + [
        (r["room"], r.get("roomName", r["room"]), r) for r in body["rooms"]
    ]
    for room, room_name, scope in scopes:
        for span in ("whole", "window"):
            group = scope[span]
            if group is None:
                continue
            for person in group["people"]:
                cells = [_cell(person.get(c)) for c in PERSON_COLUMNS]
                row = [*lead, span, room, room_name, person["id"], names.get(person["id"], "")]
                writer.writerow(row + cells + [""] * len(GROUP_COLUMNS))
            totals = {"talkS": group["talkS"], "patientTalkS": group["patientTalkS"]}
            totals |= {
                "facilitatorTalkS": group["facilitatorTalkS"],
                "presenterTalkS": group["presenterTalkS"],
                "overlapS": group["overlapS"],
            }
            cells = [_cell(totals.get(c)) for c in PERSON_COLUMNS]
            row = [*lead, span, room, room_name, "*", "", *cells]
            writer.writerow(row + [_cell(group[c]) for c in GROUP_COLUMNS])
    return out.getvalue()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _tick_step(span_min: float) -> float:
    """A round number of minutes between time ticks: 5 to 10 ticks on the axis."""
    for step in (1, 2, 5, 10, 15, 30, 60):
        if span_min / step <= 10:
            return float(step)
    return 120.0


def talk_chart_svg(
    ledger: SpeakingLedger,
    at: float,
    names: Mapping[str, str],
    context: ReportContext | None = None,
) -> str:
    """Cumulative talk time per person over the session, as an SVG line chart with a
    title, time ticks, a legend and a text alternative."""
    context = context or ReportContext(names=names)
    width, height, left, right, top, bottom = 760, 400, 56, 190, 48, 44
    series: list[tuple[str, list[tuple[float, float]]]] = []
    starts = [ledger.timeline(p).first_present() for p in ledger.people()]
    t0 = min((s for s in starts if s is not None), default=at)
    for pid in ledger.people():
        spans = sorted(sp for items in ledger.spans(pid).values() for sp in items)
        points, total = [(t0, 0.0)], 0.0
        for sp in spans:
            points.append((sp.start, total))
            total += sp.talk
            points.append((sp.end, total))
        points.append((at, total))
        series.append((pid, points))
    span_s = max(at - t0, 1.0)
    top_talk = max((pts[-1][1] for _, pts in series), default=0.0)
    y_max = max(10.0, top_talk * 1.1)
    plot_w, plot_h = width - left - right, height - top - bottom
    grand = sum(pts[-1][1] for _, pts in series)

    def x(t: float) -> float:
        return left + plot_w * (t - t0) / span_s

    def y(v: float) -> float:
        return top + plot_h * (1 - v / y_max)

    def label_of(pid: str) -> str:
        return escape(names.get(pid) or pid)

    heading = "Talk over time per person"
    if context.title:
        heading += f": {context.title}"
    started = iso(context.created_at)
    subtitle = f"started {started}, " if started else ""
    shown = f"{span_s:.0f} s" if span_s < 120 else f"{span_s / 60:.0f} min"
    subtitle += f"{shown} shown, as of {iso(at)}"
    summary = "; ".join(
        f"{label_of(pid)} {pts[-1][1]:.0f} s"
        + (f" ({100 * pts[-1][1] / grand:.0f}% of all talk)" if grand > 0 else "")
        for pid, pts in sorted(series, key=lambda item: -item[1][-1][1])
    )
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12" '
        'role="img" aria-labelledby="chart-title chart-desc">',
        f'<title id="chart-title">{escape(heading)}</title>',
        f'<desc id="chart-desc">Cumulative seconds of talk since the first join. '
        f"{summary or 'Nobody has spoken yet.'}</desc>",
        f'<rect width="{width}" height="{height}" fill="#fff"/>',
        f'<text x="{left}" y="20" font-size="15" font-weight="bold">{escape(heading)}</text>',
        f'<text x="{left}" y="36" fill="#444">{escape(subtitle)}</text>',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" '
        'stroke="#444"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#444"/>',
        f'<text x="{left + plot_w / 2}" y="{height - 8}" text-anchor="middle">'
        "minutes since the first join</text>",
        f'<text x="14" y="{top + plot_h / 2}" text-anchor="middle" '
        f'transform="rotate(-90 14 {top + plot_h / 2})">talk (s)</text>',
    ]
    step = _tick_step(span_s / 60)
    minute = 0.0
    while minute * 60 <= span_s + 1e-6:
        tx = x(t0 + minute * 60)
        parts.append(
            f'<line x1="{tx:.1f}" y1="{top + plot_h}" x2="{tx:.1f}" y2="{top + plot_h + 5}" '
            f'stroke="#444"/><text x="{tx:.1f}" y="{top + plot_h + 18}" '
            f'text-anchor="middle">{minute:.0f}</text>'
        )
        minute += step
    for i in range(5):
        v = y_max * i / 4
        parts.append(
            f'<text x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{v:.3g}</text>'
            f'<line x1="{left}" y1="{y(v):.1f}" x2="{left + plot_w}" y2="{y(v):.1f}" '
            'stroke="#ddd"/>'
        )
    for n, (pid, points) in enumerate(series):
        colour = COLOURS[n % len(COLOURS)]
        path = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in points)
        label = label_of(pid)
        parts.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{path}">'
            f"<title>{label}</title></polyline>"
        )
        ly = top + 16 * n + 8
        parts.append(
            f'<rect x="{left + plot_w + 12}" y="{ly - 8}" width="10" height="10" '
            f'fill="{colour}"/><text x="{left + plot_w + 28}" y="{ly + 1}">{label} '
            f"({points[-1][1]:.0f} s)</text>"
        )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
