"""CPU cost of the speaking ledger: ingest + attribution, report + cues, record.

Synthetic session: N mics in one room, one speaker at a time (turns of 2-20 s, with
short backchannels), and every other mic hearing the speaker as echo 25 dB down, so
every frame of every mic is voiced (the worst case for attribution). Frames arrive
in 0.5 s batches per mic, as from the media tap; `advance` runs after each round of
batches, the report and cues once per media second.

    .venv/bin/python -m bench.speaking.ledger [--minutes 10] [--sizes 2,6,10,15]
"""

from __future__ import annotations

import argparse
import json
import random
import time

from server.domain.speaking import (
    CueBoard,
    FrameBatch,
    SpeakingLedger,
    TalkGroup,
    VoiceFrame,
    find_cues,
    speaking_report,
)

FRAME_S = 0.03
BATCH_FRAMES = 17  # about 0.5 s


def script(n: int, seconds: float, rng: random.Random) -> list[int]:
    """Who speaks in each frame (-1: nobody)."""
    frames = int(seconds / FRAME_S)
    who = [-1] * frames
    i = 0
    while i < frames:
        length = int(rng.uniform(2, 20) / FRAME_S)
        speaker = rng.randrange(n)
        for k in range(i, min(frames, i + length)):
            who[k] = speaker
        i += length + int(rng.uniform(0.2, 1.5) / FRAME_S)
    return who


def run(n: int, minutes: float) -> dict[str, float]:
    """Feed one synthetic session; CPU seconds of each part."""
    rng = random.Random(n)
    who = script(n, minutes * 60, rng)
    ledger = SpeakingLedger()
    board = CueBoard(ledger.settings)
    people = [f"p{i}" for i in range(n)]
    for i, person in enumerate(people):
        group = TalkGroup.FACILITATOR if i == 0 else TalkGroup.PATIENT
        ledger.joined(person, 0.0, "main", group)
    ingest = report = last_report = 0.0
    reports = 0
    next_report = 1.0
    for first in range(0, len(who), BATCH_FRAMES):
        chunk = range(first, min(len(who), first + BATCH_FRAMES))
        batches = []
        for i, person in enumerate(people):
            frames = tuple(
                VoiceFrame(
                    k * FRAME_S,
                    who[k] >= 0,
                    -20.0 + rng.uniform(-3, 3) if who[k] == i else -45.0 + rng.uniform(-3, 3),
                )
                for k in chunk
            )
            batches.append(FrameBatch(person, frames))
        now = (chunk[-1] + 1) * FRAME_S
        start = time.process_time()
        for batch in batches:
            ledger.add_frames(batch)
        ledger.advance(now)
        ingest += time.process_time() - start
        if now >= next_report:
            next_report += 1.0
            start = time.process_time()
            board.update(find_cues(ledger, speaking_report(ledger, now)), now)
            last_report = time.process_time() - start
            report += last_report
            reports += 1
    start = time.process_time()
    record = json.dumps(ledger.to_record())
    to_record = time.process_time() - start
    media_s = len(who) * FRAME_S
    return {
        "ingest_ms_per_stream_s": 1000 * ingest / (media_s * n),
        "report_ms": 1000 * report / reports,
        "last_report_ms": 1000 * last_report,
        "record_kb": len(record) / 1024,
        "record_ms": 1000 * to_record,
    }


def main() -> None:
    """Print one table row per group size."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--sizes", default="2,6,10,15")
    args = parser.parse_args()
    print(f"speaking ledger, {args.minutes:g} min of media per size")
    print(
        "| mics | ingest + attribution, ms CPU per stream-second | report + cues, ms per "
        "call (mean / last) | record KB | to_record + json, ms |"
    )
    print("|---|---|---|---|---|")
    for n in (int(x) for x in args.sizes.split(",")):
        r = run(n, args.minutes)
        print(
            f"| {n} | {r['ingest_ms_per_stream_s']:.2f} | {r['report_ms']:.1f} / "
            f"{r['last_report_ms']:.1f} | "
            f"{r['record_kb']:.0f} | {r['record_ms']:.1f} |"
        )


if __name__ == "__main__":
    main()
