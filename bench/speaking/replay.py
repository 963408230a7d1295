"""The tap's frames through the domain `SpeakingLedger`, beside a truth ledger fed from
the truth intervals, and the scores that compare them.

Both ledgers run on the same cadence: frames every tap batch (100 ms) then `advance`,
and once per media second `speaking_report` + `find_cues` + `CueBoard.update`, with the
same metric and cue settings. The truth ledger takes a 30 ms frame as voiced when its
centre is inside a truth interval, credits everything (no echo rule) and does not
smooth, so its cues are the cues of the truth intervals themselves.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from bench.speaking.sessions import MAX_SKEW_S, Session
from media.audio_tap import BATCH_S
from server.domain.speaking import (
    CueBoard,
    CueKey,
    FrameBatch,
    SpeakingLedger,
    SpeakingSettings,
    TalkGroup,
    VoiceFrame,
    entropy,
    find_cues,
    gini,
    speaking_report,
)

ROOM = "main"
REPORT_EVERY_S = 1.0
TRUTH_LEVEL_DBFS = -20.0


@dataclass
class Replay:
    """What one ledger measured over a whole session."""

    talk: dict[str, float]
    share: dict[str, float]
    entropy: float | None
    gini: float | None
    cues: list[tuple[CueKey, float]] = field(default_factory=list)
    ledger_cpu_s: float = 0.0
    report_cpu_s: float = 0.0
    reports: int = 0


def replay(
    batches: Sequence[Sequence[FrameBatch]],
    people: Sequence[str],
    duration_s: float,
    settings: SpeakingSettings,
    cues: bool = True,
    lag_s: float = MAX_SKEW_S,
) -> Replay:
    """Feed batch i at media time (i + 1) x BATCH_S + `lag_s` (every mic's frames of
    the batch are in by then), advance, and report + cues once per media second."""
    ledger = SpeakingLedger(settings)
    for person in people:
        ledger.joined(person, 0.0, ROOM, TalkGroup.PATIENT)
    board = CueBoard(settings)
    out = Replay({}, {}, None, None)
    next_report = REPORT_EVERY_S
    for i, batch in enumerate(batches):
        now = (i + 1) * BATCH_S + lag_s
        started = time.process_time()
        for frames in batch:
            ledger.add_frames(frames)
        ledger.advance(now)
        out.ledger_cpu_s += time.process_time() - started
        if cues and now >= next_report:
            next_report += REPORT_EVERY_S
            started = time.process_time()
            changes = board.update(find_cues(ledger, speaking_report(ledger, now)), now)
            out.report_cpu_s += time.process_time() - started
            out.reports += 1
            out.cues += [(cue.key, now) for cue in changes.appeared]
    end = max(duration_s, len(batches) * BATCH_S) + settings.lag_timeout_s + 1.0
    ledger.advance(end)
    whole = speaking_report(ledger, end).whole.session
    out.talk = {p: whole.people[p].talk_s for p in people}
    out.share = {p: whole.people[p].share or 0.0 for p in people}
    out.entropy, out.gini = whole.entropy, whole.gini
    return out


def truth_settings(settings: SpeakingSettings) -> SpeakingSettings:
    """The same metrics and cues, but every truth frame credited and nothing smoothed."""
    return replace(
        settings,
        hangover_s=0.0,
        min_burst_s=0.0,
        echo_window_s=0.0,
        echo_margin_db=1e9,
        lag_timeout_s=0.0,
    )


def truth_batches(s: Session, frame_s: float) -> list[list[FrameBatch]]:
    """Voiced 30 ms frames of the truth intervals, each in the first batch after it ends."""
    count = math.ceil(round(s.duration_s / BATCH_S, 6))
    out: list[dict[str, list[VoiceFrame]]] = [{} for _ in range(count)]
    for person in s.people:
        pid = str(person["id"])
        intervals: list[dict[str, float]] = person["intervals"]  # type: ignore[assignment]
        for interval in intervals:
            k = int(interval["start"] / frame_s)
            while (k + 0.5) * frame_s < interval["end"]:
                start = k * frame_s
                if start + frame_s / 2 >= interval["start"]:
                    index = min(count - 1, int((start + frame_s) / BATCH_S - 1e-9))
                    frame = VoiceFrame(start, True, TRUTH_LEVEL_DBFS)
                    out[index].setdefault(pid, []).append(frame)
                k += 1
    return [[FrameBatch(p, tuple(f)) for p, f in batch.items()] for batch in out]


def truth_replay(s: Session, settings: SpeakingSettings, cues: bool = True) -> Replay:
    """The truth ledger's view of the session (see the module docstring)."""
    people = [str(p["id"]) for p in s.people]
    batches = truth_batches(s, settings.frame_s)
    return replay(batches, people, s.duration_s, truth_settings(settings), cues, lag_s=0.0)


@dataclass(frozen=True)
class PersonScore:
    """One participant: truth and measured talk."""

    person: str
    silent: bool
    quiet: bool
    truth_s: float
    measured_s: float
    truth_share: float
    measured_share: float

    @property
    def error_pct(self) -> float:
        """Signed talk-time error, percent of the truth."""
        return 100.0 * (self.measured_s - self.truth_s) / self.truth_s if self.truth_s else 0.0


@dataclass(frozen=True)
class Score:
    """How one measured session compares with its truth."""

    people: list[PersonScore]
    duration_s: float
    entropy_error: float
    gini_error: float
    truth_cues: int
    measured_cues: int
    matched_delays: list[float]

    def judged(self, min_talk_s: float = 60.0) -> list[PersonScore]:
        """People whose talk-time error counts (enough talk to judge)."""
        return [p for p in self.people if p.truth_s >= min_talk_s]

    @property
    def talk_error_max_pct(self) -> float:
        """Largest absolute talk-time error among the judged."""
        return max((abs(p.error_pct) for p in self.judged()), default=0.0)

    @property
    def talk_error_mean_pct(self) -> float:
        """Mean signed talk-time error among the judged (the bias)."""
        judged = self.judged()
        return sum(p.error_pct for p in judged) / len(judged) if judged else 0.0

    @property
    def share_error_max_pp(self) -> float:
        """Largest absolute share error, percentage points."""
        return max(100.0 * abs(p.measured_share - p.truth_share) for p in self.people)

    @property
    def silent_false_per_10min(self) -> float:
        """Talk credited to the silent participants, seconds per 10 minutes (worst one)."""
        silent = [p.measured_s for p in self.people if p.silent]
        return max(silent, default=0.0) * 600.0 / self.duration_s

    @property
    def precision(self) -> float | None:
        """Measured cues that match a truth cue."""
        return len(self.matched_delays) / self.measured_cues if self.measured_cues else None

    @property
    def recall(self) -> float | None:
        """Truth cues the measurement also raised."""
        return len(self.matched_delays) / self.truth_cues if self.truth_cues else None


def score(s: Session, measured: Replay, truth: Replay, tolerance_s: float) -> Score:
    """Compare a measured replay with the truth file and the truth ledger's cues."""
    truth_talk = {str(p["id"]): float(p["talk_s"]) for p in s.people}  # type: ignore[arg-type]
    total = sum(truth_talk.values()) or 1.0
    people = [
        PersonScore(
            pid,
            bool(p["silent"]),
            float(p["gain_db"]) < 0,  # type: ignore[arg-type]
            truth_talk[pid],
            measured.talk[pid],
            truth_talk[pid] / total,
            measured.share[pid],
        )
        for p in s.people
        for pid in [str(p["id"])]
    ]
    talks = list(truth_talk.values())
    return Score(
        people,
        s.duration_s,
        _diff(measured.entropy, entropy(talks)),
        _diff(measured.gini, gini(talks)),
        len(truth.cues),
        len(measured.cues),
        match_cues(truth.cues, measured.cues, tolerance_s),
    )


def _diff(a: float | None, b: float | None) -> float:
    return abs((a or 0.0) - (b or 0.0))


def match_cues(
    truth: Sequence[tuple[CueKey, float]],
    measured: Sequence[tuple[CueKey, float]],
    tolerance_s: float,
) -> list[float]:
    """Pair each truth cue with the earliest unpaired measured cue of the same key
    within `tolerance_s`; the delays (measured - truth) of the pairs."""
    free: dict[CueKey, list[float]] = {}
    for key, at in measured:
        free.setdefault(key, []).append(at)
    delays: list[float] = []
    for key, at in sorted(truth, key=lambda kt: kt[1]):
        candidates = free.get(key, [])
        near = [m for m in candidates if abs(m - at) <= tolerance_s]
        if near:
            best = min(near)
            candidates.remove(best)
            delays.append(best - at)
    return delays
