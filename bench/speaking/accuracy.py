"""Speaking-time accuracy (issue 6, item 6): synthetic sessions through the real path.

Sessions of 2, 6 and 10 participants from espeak-ng voices (bench/speaking/speech.py: overlaps,
backchannels, one long monologue; one silent patient at 6 and 10) in two conditions,
`clean` and `realistic` (pink noise at 10-20 dB SNR, residual echo of the others at
-15 to -30 dB in each mic, one speaker 15 dB quieter). Each mic is Opus-encoded once
(PyAV, 20 ms, 32 kbps) and its packets are fed to the server's `AudioTap` in 100 ms
batches (libopus decode, webrtcvad mode 2, media clock; mics anchored up to 50 ms
apart), then to the domain `SpeakingLedger` (advance every batch; report, find_cues
and CueBoard once per media second). A truth ledger fed from the truth intervals, with
the same metric and cue settings, gives the cues to compare with. Everyone is a patient.

    .venv/bin/python -m bench.speaking.accuracy            # 10 min sessions, a few minutes
    .venv/bin/python -m bench.speaking.accuracy --quick    # 6 min sessions
    .venv/bin/python -m bench.speaking.accuracy --people   # also every participant
    .venv/bin/python -m bench.speaking.accuracy --sweep echo_margin_db=6,8,10 --no-cues

Generated audio, packets and the tap's frames are cached in bench/out/accuracy/
(`--fresh` decodes again); `--set NAME=VALUE` and `--sweep NAME=V1,V2` override
`SpeakingSettings` fields for the ledger only (the sweep takes every combination).
"""

from __future__ import annotations

import argparse
import itertools
import platform
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

from bench.common.paths import OUT_DIR
from bench.speaking.replay import Replay, Score, replay, score, truth_replay
from bench.speaking.sessions import Session, TapFrames, session, tap_frames
from bench.speaking.speech import SessionSpec
from server.domain.speaking import FrameBatch, SpeakingSettings

ROOT = OUT_DIR / "accuracy"
# Sentence pauses inside a turn stay under the turn gap (0.5 s), so the truth's turns
# are the generator's turns (the monologue is one turn in the truth too).
PAUSE_S = (0.2, 0.45)
TARGETS = {
    "clean": {"talk": 5.0, "share": 2.0, "silent": 10.0, "delay": 2.0},
    "realistic": {"talk": 10.0, "share": 3.0, "silent": 10.0, "delay": 2.0},
}
DECODE_TARGET_MS = 5.0


@dataclass
class Case:
    """One condition and size: its session, the tap's frames and the truth ledger."""

    condition: str
    size: int
    session: Session
    frames: TapFrames
    batches: list[list[FrameBatch]]
    truth: Replay | None = None


def spec_for(size: int, condition: str, minutes: float, seed: int) -> SessionSpec:
    """The session of one size: one silent patient from 6 up, a long monologue (long
    enough for the long-turn cue when the session allows it)."""
    return SessionSpec(
        participants=size,
        minutes=minutes,
        condition=condition,
        seed=seed,
        silent=0 if size < 3 else 1,
        monologue_s=min(200.0, minutes * 60 / 3),
        pause_s=PAUSE_S,
    )


def load_cases(
    sizes: Sequence[int], conditions: Sequence[str], minutes: float, seed: int, fresh: bool
) -> list[Case]:
    """Generate (or reuse) every session and run its mics through the tap."""
    cases = []
    for condition in conditions:
        for size in sizes:
            s = session(spec_for(size, condition, minutes, seed), ROOT)
            frames = tap_frames(s, fresh)
            cases.append(Case(condition, size, s, frames, frames.batch_frames()))
    return cases


def run_case(
    case: Case, settings: SpeakingSettings, cues: bool, tolerance_s: float
) -> tuple[Score, Replay]:
    """The measured ledger on the case's frames, scored against the truth."""
    if case.truth is None or (cues and not case.truth.reports):
        case.truth = truth_replay(case.session, settings, cues)
    measured = replay(case.batches, case.frames.people, case.session.duration_s, settings, cues)
    return score(case.session, measured, case.truth, tolerance_s), measured


def _fmt(x: float | None, digits: int = 2) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def print_results(
    cases: Sequence[Case], settings: SpeakingSettings, cues: bool, tolerance_s: float, people: bool
) -> None:
    """The main table (and the per-person one), with the targets checked."""
    print(
        "| condition | N | judged (>= 60 s) | talk err max % | talk err mean % | share err max pp "
        "| silent false s / 10 min | entropy err | gini err | cues truth / measured "
        "| precision | recall | delay median / max s | decode + VAD ms / stream-s "
        "| ledger ms / stream-s | report + cues ms / call |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    rows: list[tuple[Case, Score]] = []
    for case in cases:
        sc, measured = run_case(case, settings, cues, tolerance_s)
        rows.append((case, sc))
        stream_s = case.frames.stream_s
        delays = sc.matched_delays
        delay = f"{statistics.median(delays):.1f} / {max(delays, key=abs):.1f}" if delays else "-"
        report_ms = 1000 * measured.report_cpu_s / measured.reports if measured.reports else None
        print(
            f"| {case.condition} | {case.size} | {len(sc.judged())} | {sc.talk_error_max_pct:.1f} "
            f"| {sc.talk_error_mean_pct:+.1f} | {sc.share_error_max_pp:.2f} "
            f"| {sc.silent_false_per_10min:.1f} | {sc.entropy_error:.3f} | {sc.gini_error:.3f} "
            f"| {sc.truth_cues} / {sc.measured_cues} | {_fmt(sc.precision)} | {_fmt(sc.recall)} "
            f"| {delay} | {1000 * case.frames.decode_cpu_s / stream_s:.2f} "
            f"| {1000 * measured.ledger_cpu_s / stream_s:.3f} | {_fmt(report_ms, 1)} |"
        )
    print()
    for case, sc in rows:
        misses = _misses(case, sc, cues)
        verdict = "all targets met" if not misses else "missed: " + "; ".join(misses)
        print(f"- {case.condition} N={case.size}: {verdict}")
    if people:
        print()
        print(
            "| condition | N | person | truth s | measured s | error % | share truth % "
            "| share measured % |"
        )
        print("|---|---|---|---|---|---|---|---|")
        for case, sc in rows:
            for p in sc.people:
                tag = p.person + (" (silent)" if p.silent else "") + (" (quiet)" if p.quiet else "")
                print(
                    f"| {case.condition} | {case.size} | {tag} | {p.truth_s:.1f} "
                    f"| {p.measured_s:.1f} | {p.error_pct:+.1f} | {100 * p.truth_share:.1f} "
                    f"| {100 * p.measured_share:.1f} |"
                )


def _misses(case: Case, sc: Score, cues: bool) -> list[str]:
    t = TARGETS[case.condition]
    misses = []
    if sc.talk_error_max_pct > t["talk"]:
        misses.append(f"talk {sc.talk_error_max_pct:.1f}% > {t['talk']:g}%")
    if sc.share_error_max_pp > t["share"]:
        misses.append(f"share {sc.share_error_max_pp:.2f} pp > {t['share']:g}")
    if sc.silent_false_per_10min > t["silent"]:
        misses.append(f"silent {sc.silent_false_per_10min:.1f} s > {t['silent']:g} s")
    if cues and sc.matched_delays and max(abs(d) for d in sc.matched_delays) > t["delay"]:
        misses.append(f"cue delay {max(abs(d) for d in sc.matched_delays):.1f} s > 2 s")
    if cues and sc.recall is not None and sc.recall < 1.0:
        misses.append(f"cue recall {sc.recall:.2f}")
    if 1000 * case.frames.decode_cpu_s / case.frames.stream_s > DECODE_TARGET_MS:
        misses.append("decode + VAD CPU")
    return misses


def sweep(
    cases: Sequence[Case],
    base: SpeakingSettings,
    grid: dict[str, list[float]],
    cues: bool,
    tolerance_s: float,
) -> None:
    """One row per combination: the worst of each figure per condition."""
    names = list(grid)
    conditions = sorted({c.condition for c in cases})
    head = " | ".join(names)
    cols = " | ".join(
        f"{c} talk max % | {c} talk mean % | {c} share pp | {c} silent s"
        + (f" | {c} P / R" if cues else "")
        for c in conditions
    )
    print(f"| {head} | {cols} |")
    print("|" + "---|" * (len(names) + len(conditions) * (5 if cues else 4)))
    for values in itertools.product(*grid.values()):
        overrides: dict[str, Any] = dict(zip(names, values, strict=True))
        settings = replace(base, **overrides)
        out = [_num(v) for v in values]
        for condition in conditions:
            scores = [
                run_case(c, settings, cues, tolerance_s)[0]
                for c in cases
                if c.condition == condition
            ]
            out += [
                f"{max(s.talk_error_max_pct for s in scores):.1f}",
                f"{statistics.mean(s.talk_error_mean_pct for s in scores):+.1f}",
                f"{max(s.share_error_max_pp for s in scores):.2f}",
                f"{max(s.silent_false_per_10min for s in scores):.1f}",
            ]
            if cues:
                precision = [s.precision for s in scores if s.precision is not None]
                recall = [s.recall for s in scores if s.recall is not None]
                out.append(
                    f"{_fmt(min(precision, default=None))} / {_fmt(min(recall, default=None))}"
                )
        print("| " + " | ".join(out) + " |", flush=True)


def _num(v: float) -> str:
    return f"{v:g}"


def parse_settings(pairs: Sequence[str]) -> dict[str, list[Any]]:
    """NAME=V1,V2 pairs as typed values of `SpeakingSettings` fields."""
    types = {f.name: f.type for f in fields(SpeakingSettings)}
    out: dict[str, list[Any]] = {}
    for pair in pairs:
        name, _, values = pair.partition("=")
        if name not in types:
            raise SystemExit(f"no setting {name!r}")
        cast = int if types[name] in ("int", int) else float
        out[name] = [cast(v) for v in values.split(",")]
    return out


def main(argv: list[str] | None = None) -> None:
    """Command line (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", default="2,6,10")
    parser.add_argument("--conditions", default="clean,realistic")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--quick", action="store_true", help="6 minute sessions")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--fresh", action="store_true", help="decode again (keep audio)")
    parser.add_argument("--people", action="store_true", help="print every participant")
    parser.add_argument("--no-cues", dest="cues", action="store_false")
    parser.add_argument("--tolerance", type=float, default=30.0, help="cue matching, seconds")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--sweep", action="append", default=[], metavar="NAME=V1,V2")
    args = parser.parse_args(argv)
    minutes = 6.0 if args.quick else args.minutes
    base = replace(SpeakingSettings(), **{k: v[0] for k, v in parse_settings(args.set).items()})
    sizes = [int(x) for x in args.sizes.split(",")]
    conditions = args.conditions.split(",")
    print(
        f"# speaking accuracy, {minutes:g} min sessions, seed {args.seed}, "
        f"Python {platform.python_version()}"
    )
    changed = {
        f.name: getattr(base, f.name)
        for f in fields(base)
        if getattr(base, f.name) != getattr(SpeakingSettings(), f.name)
    }
    print(f"settings changed from the defaults: {changed or 'none'}")
    print()
    cases = load_cases(sizes, conditions, minutes, args.seed, args.fresh)
    if args.sweep:
        sweep(cases, base, parse_settings(args.sweep), args.cues, args.tolerance)
    else:
        print_results(cases, base, args.cues, args.tolerance, args.people)


if __name__ == "__main__":
    main()
