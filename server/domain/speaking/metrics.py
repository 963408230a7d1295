"""Speaking metrics per person, per room and for the session, over any span of time.
docs/SPEAKING.md gives every formula."""

from __future__ import annotations

from dataclasses import dataclass, field

from . import intervals as iv
from .balance import entropy, gini
from .ledger import SpeakingLedger
from .model import Category, Span, TalkGroup


@dataclass(frozen=True)
class PersonMetrics:
    """One person's talk within one scope (a room or the session) and span of time."""

    person_id: str
    group: TalkGroup
    present_s: float
    talk_s: float
    patient_talk_s: float
    facilitator_talk_s: float
    presenter_talk_s: float
    # Share of the scope's patient talk; None for facilitators and when nobody talked.
    share: float | None
    # Group size x share: 1.0 is an equal share.
    dominance: float | None
    turns: int
    backchannels: int
    mean_turn_s: float | None
    longest_turn_s: float
    # The latest turn (also one still going on) and when it ended (None: no turn yet).
    last_turn_s: float
    last_turn_end: float | None
    last_spoke_at: float | None
    since_last_spoke_s: float | None
    spoken: bool
    overlap_s: float
    interruptions_made: int
    interruptions_received: int


@dataclass(frozen=True)
class GroupMetrics:
    """A room's (room set) or the whole session's (room None) talk over [start, end)."""

    room: str | None
    start: float
    end: float
    people: dict[str, PersonMetrics]
    # Patients present in the scope during the span: the balance baseline.
    group_size: int
    talk_s: float
    patient_talk_s: float
    facilitator_talk_s: float
    presenter_talk_s: float
    facilitator_share: float | None
    overlap_s: float
    interruptions: int
    gini: float | None
    entropy: float | None


@dataclass(frozen=True)
class ScopedMetrics:
    """The same span of time seen for the whole session and for each room."""

    session: GroupMetrics
    rooms: dict[str, GroupMetrics] = field(default_factory=dict)


@dataclass(frozen=True)
class SpeakingReport:
    """Everything measured at `now`: since the start and over the rolling window."""

    now: float
    whole: ScopedMetrics
    window: ScopedMetrics


def speaking_report(ledger: SpeakingLedger, now: float) -> SpeakingReport:
    """Metrics at `now` over the whole session and over the last `window_s`."""
    window_start = now - ledger.settings.window_s
    return SpeakingReport(
        now, _scoped(ledger, float("-inf"), now), _scoped(ledger, window_start, now)
    )


def _scoped(ledger: SpeakingLedger, lo: float, now: float) -> ScopedMetrics:
    rooms = sorted(
        {
            state.room
            for p in ledger.people()
            for a, b, state in ledger.timeline(p).periods(now)
            if state.present and b > lo
        }
    )
    by_room = {room: group_metrics(ledger, room, lo, now) for room in rooms}
    return ScopedMetrics(group_metrics(ledger, None, lo, now, by_room), by_room)


def group_metrics(
    ledger: SpeakingLedger,
    room: str | None,
    lo: float,
    now: float,
    rooms: dict[str, GroupMetrics] | None = None,
) -> GroupMetrics:
    """Metrics of one room, or (room None) of the session, over [lo, now)."""
    s = ledger.settings
    spans: dict[str, dict[Category, list[Span]]] = {}
    for person in ledger.people():
        mine: dict[Category, list[Span]] = {c: [] for c in Category}
        for (r, category), items in ledger.spans(person).items():
            if room is None or r == room:
                mine[category] += [sp for sp in items if sp.start < now]
        spans[person] = mine
    baseline = [p for p in ledger.people() if _patient_present(ledger, p, room, lo, now) > 0]
    patient_total = sum(_talk(spans[p][Category.PATIENT], lo, now) for p in ledger.people())
    if room is None:
        # Rooms are acoustically apart: overlaps and interruptions are per room.
        rooms = rooms or {}
        overlap = {
            p: sum(g.people[p].overlap_s for g in rooms.values() if p in g.people) for p in spans
        }
        made = {
            p: sum(g.people[p].interruptions_made for g in rooms.values() if p in g.people)
            for p in spans
        }
        got = {
            p: sum(g.people[p].interruptions_received for g in rooms.values() if p in g.people)
            for p in spans
        }
        room_overlap = sum(g.overlap_s for g in rooms.values())
    else:
        overlap, room_overlap = _overlaps(spans, lo, now)
        made, got = _interruptions(
            spans, lo, now, s.turn_gap_s, s.min_turn_s, s.interruption_yield_s
        )
    people: dict[str, PersonMetrics] = {}
    for p in ledger.people():
        present = ledger.timeline(p).present_s(lo, now, room)
        everything = [sp for items in spans[p].values() for sp in items]
        if present <= 0 and not any(sp.end > lo for sp in everything):
            continue
        state = ledger.timeline(p).latest()
        group = state.group if state else TalkGroup.PATIENT
        by_cat = {c: _talk(items, lo, now) for c, items in spans[p].items()}
        share = (
            by_cat[Category.PATIENT] / patient_total
            if patient_total > 0 and p in baseline
            else None
        )
        runs = iv.clip(iv.bridge(((sp.start, sp.end) for sp in everything), s.turn_gap_s), lo, now)
        turns = [b - a for a, b in runs if b - a >= s.min_turn_s - 1e-9]
        last_turn = next(((a, b) for a, b in reversed(runs) if b - a >= s.min_turn_s - 1e-9), None)
        last_end = max((sp.end for sp in everything), default=None)
        people[p] = PersonMetrics(
            person_id=p,
            group=group,
            present_s=present,
            talk_s=sum(by_cat.values()),
            patient_talk_s=by_cat[Category.PATIENT],
            facilitator_talk_s=by_cat[Category.FACILITATOR],
            presenter_talk_s=by_cat[Category.PRESENTER],
            share=share,
            dominance=None if share is None else share * len(baseline),
            turns=len(turns),
            backchannels=len(runs) - len(turns),
            mean_turn_s=sum(turns) / len(turns) if turns else None,
            longest_turn_s=max(turns, default=0.0),
            last_turn_s=last_turn[1] - last_turn[0] if last_turn else 0.0,
            last_turn_end=last_turn[1] if last_turn else None,
            last_spoke_at=last_end,
            since_last_spoke_s=None if last_end is None else max(0.0, now - last_end),
            spoken=sum(by_cat.values()) >= s.spoken_min_s - 1e-9,
            overlap_s=overlap.get(p, 0.0),
            interruptions_made=made.get(p, 0),
            interruptions_received=got.get(p, 0),
        )
    total = sum(m.talk_s for m in people.values())
    facilitator = sum(m.facilitator_talk_s for m in people.values())
    baseline_talk = [people[p].patient_talk_s if p in people else 0.0 for p in baseline]
    return GroupMetrics(
        room=room,
        start=lo,
        end=now,
        people=people,
        group_size=len(baseline),
        talk_s=total,
        patient_talk_s=patient_total,
        facilitator_talk_s=facilitator,
        presenter_talk_s=sum(m.presenter_talk_s for m in people.values()),
        facilitator_share=facilitator / total if total > 0 else None,
        overlap_s=room_overlap,
        interruptions=sum(made.values()),
        gini=gini(baseline_talk),
        entropy=entropy(baseline_talk),
    )


def _talk(items: list[Span], lo: float, hi: float) -> float:
    return sum(sp.talk_within(lo, hi) for sp in items)


def _patient_present(
    ledger: SpeakingLedger, person: str, room: str | None, lo: float, hi: float
) -> float:
    """Seconds present as a patient in the scope within [lo, hi)."""
    total = 0.0
    for a, b, state in ledger.timeline(person).periods(hi):
        if state.present and state.group is TalkGroup.PATIENT and room in (None, state.room):
            total += max(0.0, min(b, hi) - max(a, lo))
    return total


def _overlaps(
    spans: dict[str, dict[Category, list[Span]]], lo: float, hi: float
) -> tuple[dict[str, float], float]:
    """Per person: time they talked while someone else did; and time two or more did."""
    talk = {
        p: iv.clip(iv.union((sp.start, sp.end) for items in by.values() for sp in items), lo, hi)
        for p, by in spans.items()
    }
    out: dict[str, float] = {}
    for p, mine in talk.items():
        others = iv.union(x for q, xs in talk.items() if q != p for x in xs)
        out[p] = iv.length(iv.intersection(mine, others))
    return out, iv.length(iv.at_least_two(list(talk.values())))


def _interruptions(
    spans: dict[str, dict[Category, list[Span]]],
    lo: float,
    hi: float,
    gap: float,
    min_turn: float,
    yield_s: float,
) -> tuple[dict[str, int], dict[str, int]]:
    """A turn of A starting inside a turn of B, which then ends within `yield_s` of
    A's start and before A's turn does, is one interruption made by A, received by B."""
    turns = {
        p: [
            (a, b)
            for a, b in iv.bridge(((sp.start, sp.end) for xs in by.values() for sp in xs), gap)
            if b - a >= min_turn - 1e-9
        ]
        for p, by in spans.items()
    }
    made: dict[str, int] = {}
    got: dict[str, int] = {}
    for p, mine in turns.items():
        for a, b in mine:
            if not lo <= a < hi:
                continue
            victims = [
                q
                for q, theirs in turns.items()
                if q != p and any(qa < a < qb <= min(a + yield_s, b) for qa, qb in theirs)
            ]
            if victims:
                made[p] = made.get(p, 0) + 1
                for q in victims:
                    got[q] = got.get(q, 0) + 1
    return made, got
