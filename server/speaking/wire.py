"""Speaking statistics as wire bodies: the live `speaking-stats` / `cue` events and the
admin report share one shape (docs/PROTOCOL.md, "Speaking time"; docs/API.md)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ..domain.speaking import (
    Cue,
    CueKey,
    GroupMetrics,
    PersonMetrics,
    SpeakingReport,
)


def _r(value: float | None, digits: int) -> float | None:
    if value is None or math.isinf(value):
        return None
    return round(value, digits)


def person_body(m: PersonMetrics, digits: int = 1) -> dict[str, Any]:
    """One person's metrics in one scope (talk in seconds, shares as fractions)."""
    return {
        "id": m.person_id,
        "group": m.group.value,
        "presentS": _r(m.present_s, digits),
        "talkS": _r(m.talk_s, digits),
        "patientTalkS": _r(m.patient_talk_s, digits),
        "facilitatorTalkS": _r(m.facilitator_talk_s, digits),
        "presenterTalkS": _r(m.presenter_talk_s, digits),
        "share": _r(m.share, 3),
        "dominance": _r(m.dominance, 2),
        "turns": m.turns,
        "backchannels": m.backchannels,
        "meanTurnS": _r(m.mean_turn_s, digits),
        "longestTurnS": _r(m.longest_turn_s, digits),
        "lastSpokeAt": _r(m.last_spoke_at, digits),
        "sinceLastSpokeS": _r(m.since_last_spoke_s, digits),
        "spoken": m.spoken,
        "overlapS": _r(m.overlap_s, digits),
        "interruptionsMade": m.interruptions_made,
        "interruptionsReceived": m.interruptions_received,
    }


def group_body(g: GroupMetrics, digits: int = 1) -> dict[str, Any]:
    """A room's (or the session's) metrics over one span, with everyone in it."""
    return {
        "start": _r(g.start, digits),
        "end": _r(g.end, digits),
        "groupSize": g.group_size,
        "talkS": _r(g.talk_s, digits),
        "patientTalkS": _r(g.patient_talk_s, digits),
        "facilitatorTalkS": _r(g.facilitator_talk_s, digits),
        "presenterTalkS": _r(g.presenter_talk_s, digits),
        "facilitatorShare": _r(g.facilitator_share, 3),
        "overlapS": _r(g.overlap_s, digits),
        "interruptions": g.interruptions,
        "gini": _r(g.gini, 3),
        "entropy": _r(g.entropy, 3),
        "people": [person_body(m, digits) for m in g.people.values()],
    }


def report_body(report: SpeakingReport, window_s: float, digits: int = 1) -> dict[str, Any]:
    """The whole report: the session and each room, whole session and rolling window."""
    rooms = sorted(set(report.whole.rooms) | set(report.window.rooms))
    return {
        "at": round(report.now, 3),
        "windowS": window_s,
        "session": {
            "whole": group_body(report.whole.session, digits),
            "window": group_body(report.window.session, digits),
        },
        "rooms": [
            {
                "room": room,
                "whole": group_body(report.whole.rooms[room], digits)
                if room in report.whole.rooms
                else None,
                "window": group_body(report.window.rooms[room], digits)
                if room in report.window.rooms
                else None,
            }
            for room in rooms
        ],
    }


def change_key(body: Mapping[str, Any]) -> str:
    """What must differ for a `speaking-stats` body to be sent again: talk to 1 s and
    shares to 1 %; times that only tick on (the report time, time present, time since
    last spoke) are left out, the client derives them."""
    skip = {"at", "start", "end", "presentS", "sinceLastSpokeS"}

    def coarse(value: Any, key: str) -> Any:
        if isinstance(value, dict):
            return {k: coarse(v, k) for k, v in value.items() if k not in skip}
        if isinstance(value, list):
            return [coarse(v, key) for v in value]
        if isinstance(value, float):
            if key in ("share", "facilitatorShare", "gini", "entropy", "dominance"):
                return round(value, 2)
            return round(value)
        return value

    return repr(coarse(dict(body), ""))


def cue_key_text(key: CueKey) -> str:
    """A cue's identity as one string: kind:person:room (person "-" for a room cue)."""
    kind, person, room = key
    return f"{kind.value}:{person or '-'}:{room}"


def cue_body(cue: Cue, text: str) -> dict[str, Any]:
    """The `cue` event body: identity, rendered text and the numbers behind it."""
    return {
        "key": cue_key_text(cue.key),
        "kind": cue.kind.value,
        "person": cue.person_id,
        "room": cue.room,
        "severity": round(cue.severity, 3),
        "text": text,
        "numbers": {k: round(v, 3) for k, v in cue.numbers.items()},
    }
