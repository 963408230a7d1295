"""The after-session speaking report of the admin API: JSON, CSV and an SVG chart of
talk over time, all from the ledger record the speaking service keeps in the store."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
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


async def load_ledger(
    store: SessionStore, session_id: str, now: float, settings: SpeakingSettings
) -> tuple[SpeakingLedger, float] | None:
    """The stored ledger and the time it was flushed, or None (none, or expired)."""
    record = await store.load_kept("speaking", session_id, now)
    if record is None or record.get("v") != RECORD_VERSION:
        return None
    return SpeakingLedger.from_record(record["ledger"], settings), float(record["at"])


def report_json(
    session_id: str, ledger: SpeakingLedger, at: float, names: Mapping[str, str]
) -> dict[str, Any]:
    """Every metric per person and room, whole session and rolling window, as of `at`."""
    body = report_body(speaking_report(ledger, at), ledger.settings.window_s, digits=3)
    body["sessionId"] = session_id
    body["people"] = [{"id": pid, "name": names.get(pid, "")} for pid in ledger.people()]
    return body


def report_csv(body: Mapping[str, Any]) -> str:
    """One row per person per scope (session or room) and span (whole or window), and
    one row per scope and span for the group (person "*")."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["span", "room", "person", "name", *PERSON_COLUMNS, *GROUP_COLUMNS])
    names = {p["id"]: p["name"] for p in body["people"]}
    scopes = [("session", body["session"])] + [(r["room"], r) for r in body["rooms"]]
    for room, scope in scopes:
        for span in ("whole", "window"):
            group = scope[span]
            if group is None:
                continue
            for person in group["people"]:
                cells = [_cell(person.get(c)) for c in PERSON_COLUMNS]
                row = [span, room, person["id"], names.get(person["id"], ""), *cells]
                writer.writerow(row + [""] * len(GROUP_COLUMNS))
            totals = {"talkS": group["talkS"], "patientTalkS": group["patientTalkS"]}
            totals |= {
                "facilitatorTalkS": group["facilitatorTalkS"],
                "presenterTalkS": group["presenterTalkS"],
                "overlapS": group["overlapS"],
            }
            cells = [_cell(totals.get(c)) for c in PERSON_COLUMNS]
            writer.writerow(
                [span, room, "*", "", *cells, *(_cell(group[c]) for c in GROUP_COLUMNS)]
            )
    return out.getvalue()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def talk_chart_svg(ledger: SpeakingLedger, at: float, names: Mapping[str, str]) -> str:
    """Cumulative talk time per person over the session, as a small SVG line chart."""
    width, height, left, right, top, bottom = 720, 360, 56, 170, 20, 40
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

    def x(t: float) -> float:
        return left + plot_w * (t - t0) / span_s

    def y(v: float) -> float:
        return top + plot_h * (1 - v / y_max)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        "<title>Talk over time per person</title>",
        f'<rect width="{width}" height="{height}" fill="#fff"/>',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" '
        'stroke="#444"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#444"/>',
        f'<text x="{left + plot_w / 2}" y="{height - 8}" text-anchor="middle">'
        f"minutes since the first join ({span_s / 60:.1f} min)</text>",
        f'<text x="14" y="{top + plot_h / 2}" text-anchor="middle" '
        f'transform="rotate(-90 14 {top + plot_h / 2})">talk (s)</text>',
    ]
    for i in range(5):
        v = y_max * i / 4
        parts.append(
            f'<text x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{v:.0f}</text>'
            f'<line x1="{left}" y1="{y(v):.1f}" x2="{left + plot_w}" y2="{y(v):.1f}" '
            'stroke="#ddd"/>'
        )
    for n, (pid, points) in enumerate(series):
        colour = COLOURS[n % len(COLOURS)]
        path = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in points)
        label = escape(names.get(pid) or pid)
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
