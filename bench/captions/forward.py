"""Does captioning slow the forward path? 15 mics forwarded to 4 slots each in real
time (bench/common/audio_harness.py: the real PublishedTrack/ForwardSlot code and the
real audio tap, no sockets), once with no caption engine and once while the whisper
engine transcribes without pause in its worker process. Prints how late the 20 ms send
ticks start and the loop's CPU per forwarded packet, and the ratio of the two runs.

    .venv/bin/python -m bench.captions.forward --seconds 30
"""

from __future__ import annotations

import argparse
import asyncio
import platform

from bench.common.audio_harness import forward_cost, speech_packets
from server.captions import CaptionEvent, CaptionSettings, SpeechSegment, load_engine
from tests.support.speech import silence, synthesize

MICS = 15


async def busy_engine(stop: asyncio.Event) -> int:
    """Keep the whisper worker transcribing (one utterance after another) until `stop`."""
    done = asyncio.Event()
    count = [0]

    def sink(output: object) -> None:
        if isinstance(output, CaptionEvent) and output.final:
            count[0] += 1
            done.set()

    engine = load_engine(CaptionSettings(engine="whisper", partials=False))
    await engine.start(sink)
    pcm = silence(0.2) + synthesize("Please open the window in the kitchen before we start.")
    n = 0
    while not stop.is_set():
        n += 1
        done.clear()
        engine.submit(SpeechSegment("main", "p1", f"u{n}", 0.0, len(pcm) / 32000, pcm))
        waiter = asyncio.ensure_future(done.wait())
        await asyncio.wait(
            [waiter, asyncio.ensure_future(stop.wait())],
            timeout=30,
            return_when=asyncio.FIRST_COMPLETED,
        )
        waiter.cancel()
    await engine.close()
    return count[0]


async def run(seconds: float) -> None:
    """Both runs, then the table."""
    payloads = speech_packets(seconds)
    quiet = await forward_cost(payloads, MICS, "worker")
    stop = asyncio.Event()
    captioning = asyncio.ensure_future(busy_engine(stop))
    await asyncio.sleep(5)  # the model is loaded and the worker busy
    busy = await forward_cost(payloads, MICS, "worker")
    stop.set()
    transcribed = await captioning
    print(
        f"# forward path while captioning, Python {platform.python_version()}, "
        f"{seconds:.0f} s, {MICS} mics x 4 slots"
    )
    print()
    print("| run | tick late p50 ms | p99 ms | max ms | loop CPU us / packet |")
    print("|---|---|---|---|---|")
    for name, r in (("no captions", quiet), (f"whisper busy ({transcribed} utterances)", busy)):
        print(
            f"| {name} | {r['late_p50_ms']:.2f} | {r['late_p99_ms']:.2f} "
            f"| {r['late_max_ms']:.2f} | {r['cpu_us']:.1f} |"
        )
    print(
        f"| ratio busy / none | {busy['late_p50_ms'] / max(quiet['late_p50_ms'], 1e-3):.2f} "
        f"| {busy['late_p99_ms'] / max(quiet['late_p99_ms'], 1e-3):.2f} | "
        f"| {busy['cpu_us'] / quiet['cpu_us']:.2f} |"
    )


def main(argv: list[str] | None = None) -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args(argv)
    asyncio.run(run(args.seconds))


if __name__ == "__main__":
    main()
