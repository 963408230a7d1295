"""Fairness cues: found from a report, sent on change, rate-limited and dismissible."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from .ledger import SpeakingLedger
from .metrics import GroupMetrics, SpeakingReport
from .model import TalkGroup
from .settings import SpeakingSettings


class CueKind(StrEnum):
    """What a cue is about."""

    NOT_YET_SPOKEN = "not-yet-spoken"
    QUIET_FOR_LONG = "quiet-for-long"
    DOMINATING = "dominating"
    LONG_TURN = "long-turn"
    LOW_BALANCE = "low-balance"
    FACILITATOR_TALK = "facilitator-talk"


CueKey = tuple[CueKind, str | None, str]


@dataclass(frozen=True)
class Cue:
    """One cue: about a person (or a whole room, person None), with its numbers.
    `severity` grows as the situation gets worse (it decides "clearly worse")."""

    kind: CueKind
    person_id: str | None
    room: str
    severity: float
    numbers: Mapping[str, float] = field(default_factory=dict)

    @property
    def key(self) -> CueKey:
        """What makes two cues the same cue."""
        return self.kind, self.person_id, self.room


@dataclass(frozen=True)
class CueChanges:
    """What an update changed: cues to show, and cues to take down."""

    appeared: tuple[Cue, ...] = ()
    cleared: tuple[CueKey, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.appeared or self.cleared)


def find_cues(ledger: SpeakingLedger, report: SpeakingReport) -> list[Cue]:
    """Every cue that holds at the report's time (before rate limits and dismissals)."""
    s = ledger.settings
    now = report.now
    cues: list[Cue] = []
    for person, m in report.whole.session.people.items():
        state = ledger.state(person)
        if state is None or not state.present or state.group is not TalkGroup.PATIENT:
            continue
        if not m.spoken and m.present_s >= s.not_spoken_after_s:
            cues.append(
                Cue(
                    CueKind.NOT_YET_SPOKEN,
                    person,
                    state.room,
                    m.present_s,
                    {"present_s": m.present_s},
                )
            )
        quiet = m.since_last_spoke_s
        if quiet is not None and quiet >= s.quiet_after_s:
            cues.append(Cue(CueKind.QUIET_FOR_LONG, person, state.room, quiet, {"quiet_s": quiet}))
    for room, whole in report.whole.rooms.items():
        for person, m in whole.people.items():
            state = ledger.state(person)
            if (
                state is not None
                and state.present
                and state.room == room
                and state.group is TalkGroup.PATIENT
                and m.last_turn_end is not None
                and m.last_turn_s >= s.monologue_s
                and now - m.last_turn_end <= s.turn_recent_s
            ):
                turn = m.last_turn_s
                cues.append(Cue(CueKind.LONG_TURN, person, room, turn, {"turn_s": turn}))
    for room, window in report.window.rooms.items():
        cues += _window_cues(ledger, room, window)
    return cues


def _window_cues(ledger: SpeakingLedger, room: str, g: GroupMetrics) -> list[Cue]:
    s = ledger.settings
    span = {"window_s": s.window_s}
    cues: list[Cue] = []
    judged = g.group_size >= s.min_group_size and g.patient_talk_s >= s.min_window_talk_s
    for person, m in g.people.items():
        state = ledger.state(person)
        if (
            judged
            and state is not None
            and state.present
            and state.room == room
            and m.share is not None
            and m.dominance is not None
            and m.share >= s.dominance_min_share
            and m.dominance >= s.dominance_min_ratio
        ):
            numbers = {"share": m.share, "dominance": m.dominance, **span}
            cues.append(Cue(CueKind.DOMINATING, person, room, m.dominance, numbers))
    if judged and g.entropy is not None and g.entropy < s.low_balance_entropy:
        numbers = {"entropy": g.entropy, "gini": g.gini or 0.0, **span}
        cues.append(Cue(CueKind.LOW_BALANCE, None, room, 1.0 - g.entropy, numbers))
    share = g.facilitator_share
    if share is not None and g.talk_s >= s.min_window_talk_s and share > s.facilitator_share_max:
        numbers = {"share": share, **span}
        cues.append(Cue(CueKind.FACILITATOR_TALK, None, room, share, numbers))
    return cues


@dataclass
class _Track:
    cue: Cue | None = None
    dismissed_at: float | None = None
    dismissed_severity: float = 0.0


class CueBoard:
    """The cues on show for one session. `update` returns only what changed; a cue
    that appeared stays quiet for `cue_min_interval_s` per person and kind once it
    cleared; a dismissed cue stays quiet for `dismiss_quiet_s` unless clearly worse."""

    def __init__(self, settings: SpeakingSettings) -> None:
        self._min_interval_s = settings.cue_min_interval_s
        self._quiet_s = settings.dismiss_quiet_s
        self._worse_ratio = settings.dismiss_worse_ratio
        self._tracks: dict[CueKey, _Track] = {}
        # Per (kind, person or room): when a cue of that kind last appeared.
        self._appeared_at: dict[tuple[CueKind, str], float] = {}

    def update(self, cues: Iterable[Cue], now: float) -> CueChanges:
        """Compare what holds now with what is shown; return the changes to send."""
        holding = {c.key: c for c in cues}
        cleared: list[CueKey] = []
        appeared: list[Cue] = []
        for key, track in self._tracks.items():
            if track.cue is not None and key not in holding:
                track.cue = None
                cleared.append(key)
        for key, cue in holding.items():
            track = self._tracks.setdefault(key, _Track())
            if track.cue is not None:
                track.cue = cue  # still shown: numbers refresh silently, nothing is sent
                continue
            if self._quiet(track, cue, now):
                continue
            track.cue, track.dismissed_at = cue, None
            self._appeared_at[_rate_key(cue)] = now
            appeared.append(cue)
        return CueChanges(tuple(appeared), tuple(cleared))

    def dismiss(self, key: CueKey, now: float) -> CueChanges:
        """A facilitator dismissed a cue: take it down for everyone and keep it quiet."""
        track = self._tracks.get(key)
        if track is None or track.cue is None:
            return CueChanges()
        track.dismissed_at, track.dismissed_severity = now, track.cue.severity
        track.cue = None
        return CueChanges(cleared=(key,))

    def shown(self) -> list[Cue]:
        """The cues on show now (for a console that just connected)."""
        return [t.cue for t in self._tracks.values() if t.cue is not None]

    def _quiet(self, track: _Track, cue: Cue, now: float) -> bool:
        if track.dismissed_at is not None and now - track.dismissed_at < self._quiet_s:
            worse = abs(track.dismissed_severity) * self._worse_ratio
            # Clearly worse breaks through the dismissal (and the rate limit).
            return cue.severity < track.dismissed_severity + worse
        last = self._appeared_at.get(_rate_key(cue))
        return last is not None and now - last < self._min_interval_s


def _rate_key(cue: Cue) -> tuple[CueKind, str]:
    return cue.kind, cue.person_id if cue.person_id is not None else "room:" + cue.room
