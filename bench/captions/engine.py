"""Caption benchmark: espeak-ng sentences with known text, several voices, paced in
real time through webrtcvad, the segmenter and the configured engine (default:
whisper tiny.en in its worker process).

    .venv/bin/python -m bench.captions.engine [--engine whisper] [--voices 3] [--sentences 4]

Prints word error rate, latency from the end of each spoken sentence to its final
caption (p50, p95), CPU per audio second (worker and this process), and what the
backlog did with one speaker at a time and with several talking at once.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import time
from dataclasses import dataclass, field

from bench.common.procstat import process_cpu_s
from server.captions import (
    FRAME_S,
    CaptionEvent,
    CaptionOutput,
    CaptionPipeline,
    CaptionSettings,
    ProcessEngine,
    load_engine,
)
from tests.support.speech import VOICES, silence, synthesize, vad_frames

SENTENCES = (
    "The group will meet again on Thursday afternoon to talk about sleep.",
    "Please remember to bring your notebook and a glass of water.",
    "I felt much calmer this week after the walk by the river.",
    "We are going to practice a breathing exercise for five minutes.",
    "My sister called me on Sunday and we talked for an hour.",
    "It is hard to ask for help when everything feels heavy.",
    "Today we will share one small thing that went well.",
    "The weather was cold but the morning light was beautiful.",
)
GAP_S = 1.5  # silence after each sentence, longer than the segmenter's end silence


@dataclass
class Spoken:
    """One sentence placed on the media clock."""

    speaker: str
    text: str
    end: float  # media time of its last sample


@dataclass
class Run:
    """What came back during one scenario."""

    finals: list[tuple[float, CaptionEvent]] = field(default_factory=list)
    max_queued: int = 0


def words(text: str) -> list[str]:
    """Lower-case words without punctuation."""
    return re.findall(r"[a-z']+", text.lower())


def word_errors(truth: str, heard: str) -> tuple[int, int]:
    """(substitutions + deletions + insertions, words in the truth)."""
    ref, hyp = words(truth), words(heard)
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1], len(ref)


def script(
    speakers: list[str], sentences: int, voices: int
) -> tuple[dict[str, bytes], list[Spoken]]:
    """Each speaker's audio from media time 0 and the sentences in it."""
    audio: dict[str, bytes] = {}
    spoken: list[Spoken] = []
    for s, speaker in enumerate(speakers):
        pcm = silence(0.5)
        for k in range(sentences):
            text = SENTENCES[(s * sentences + k) % len(SENTENCES)]
            pcm += synthesize(text, VOICES[(s + k) % voices])
            spoken.append(Spoken(speaker, text, len(pcm) / 32_000))
            pcm += silence(GAP_S)
        audio[speaker] = pcm
    return audio, spoken


async def play(
    pipeline: CaptionPipeline, audio: dict[str, bytes], run: Run, engine: object
) -> float:
    """Feed every speaker's frames as their media time comes; returns the start time."""
    frames = {speaker: vad_frames(pcm) for speaker, pcm in audio.items()}
    for speaker in frames:
        pipeline.allow(speaker)
    t0 = time.monotonic()
    sent = dict.fromkeys(frames, 0)
    while any(sent[s] < len(f) for s, f in frames.items()):
        now = time.monotonic() - t0
        for speaker, items in frames.items():
            due = [f for f in items[sent[speaker] :] if f.start + FRAME_S <= now]
            pipeline.feed("main", speaker, due)
            sent[speaker] += len(due)
        if isinstance(engine, ProcessEngine):
            run.max_queued = max(run.max_queued, engine.metrics().queued)
        await asyncio.sleep(0.02)
    return t0


def pct(values: list[float], q: float) -> float:
    """The q-quantile (0..1) of `values`, nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


async def scenario(settings: CaptionSettings, speakers: int, sentences: int, voices: int) -> None:
    """Run one scenario and print its table rows."""
    names = [f"p{n}" for n in range(1, speakers + 1)]
    audio, spoken = script(names, sentences, voices)
    run = Run()
    t_ref = [0.0]

    def sink(output: CaptionOutput) -> None:
        if isinstance(output, CaptionEvent) and output.final:
            run.finals.append((time.monotonic() - t_ref[0], output))

    engine = load_engine(settings)
    await engine.start(sink)
    pipeline = CaptionPipeline.for_settings(engine, settings)
    # Let the worker load its model before the clock starts.
    while isinstance(engine, ProcessEngine) and engine.metrics().transcribed == 0:
        if engine._worker is not None:
            break
        await asyncio.sleep(0.1)
    worker = engine._worker if isinstance(engine, ProcessEngine) else None
    cpu_worker0 = process_cpu_s(worker.process.pid) if worker else 0.0
    cpu_self0 = process_cpu_s(os.getpid())
    t_ref[0] = time.monotonic()
    t0 = await play(pipeline, audio, run, engine)
    t_ref[0] = t0
    last_end = max(s.end for s in spoken)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and engine.metrics().queued + (
        1 if len(run.finals) < len(spoken) else 0
    ):
        pipeline.idle(time.monotonic() - t0)
        await asyncio.sleep(0.05)
    metrics = engine.metrics()
    cpu_worker = (process_cpu_s(worker.process.pid) - cpu_worker0) if worker else 0.0
    cpu_self = process_cpu_s(os.getpid()) - cpu_self0
    await engine.close()

    errors = total = 0
    latencies: list[float] = []
    for item in spoken:
        # The final whose time span covers the sentence's end (merged finals cover several).
        match = [
            (at, c)
            for at, c in run.finals
            if c.speaker == item.speaker and c.start <= item.end <= c.end + 0.2
        ]
        if match:
            at, caption = match[0]
            latencies.append(at - item.end)
            e, n = word_errors(item.text, caption.text) if not caption.replaces else (0, 0)
        else:
            e, n = word_errors(item.text, "")
        errors += e
        total += n
    audio_s = sum(len(p) for p in audio.values()) / 32_000
    print(
        f"| {speakers} | {len(spoken)} | {100 * errors / max(total, 1):.1f}% "
        f"| {pct(latencies, 0.5):.2f} | {pct(latencies, 0.95):.2f} | {max(latencies):.2f} "
        f"| {1000 * cpu_worker / audio_s:.0f} | {1000 * cpu_self / audio_s:.0f} "
        f"| {metrics.submitted} | {run.max_queued} | {metrics.merged} | {metrics.dropped} "
        f"| {metrics.dropped_partials} | {metrics.busy_s / last_end:.2f} |"
    )


async def main() -> None:
    """Parse arguments, run the scenarios, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", default="whisper")
    parser.add_argument("--voices", type=int, default=3)
    parser.add_argument("--sentences", type=int, default=4, help="per speaker")
    parser.add_argument("--speakers", default="1,3", help="scenarios: speakers at once")
    parser.add_argument("--no-partials", action="store_true")
    args = parser.parse_args()
    settings = CaptionSettings(engine=args.engine, partials=not args.no_partials)
    print(
        f"engine {args.engine}, partials {settings.partials}, "
        f"{platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(
        "| speakers at once | sentences | WER | final p50 (s) | final p95 (s) | final max (s) "
        "| worker CPU ms / audio s | server CPU ms / audio s | segments | max queued "
        "| merged | dropped | partials dropped | worker busy share |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for speakers in (int(s) for s in args.speakers.split(",")):
        await scenario(settings, speakers, args.sentences, args.voices)


if __name__ == "__main__":
    asyncio.run(main())
