"""Audio tap benchmark: CPU of decode + VAD per audio stream-second, and what the tap
adds to the forward path.

No network: pre-encoded Opus packets of espeak-ng speech (20 ms, 32 kbps) are fed
to the tap in 100 ms batches, as the flush timer does.

1. Decode + VAD at 1, 6 and 15 mics: the worker thread's CPU (time.thread_time)
   per second of audio, and the process's CPU per second of audio (everything:
   hand-off, batching, delivery). Reference: PyAV's decoder (48 kHz) + its
   resampler to 16 kHz + the same VAD, the path this tap does not take.
2. The forward path: `PublishedTrack.on_packet` of 15 mics to 4 subscriber slots
   each (header rewrite, packet cache; the send goes to a null link, so no SRTP
   or socket), paced in real time, with the tap off, on (worker thread) and on
   with decoding on the event loop instead. Printed: the loop thread's CPU inside
   the forward path per packet (the hand-off), and how late each 20 ms tick
   started (what the batches or the worker's hold on the GIL cost the loop).

Run: `.venv/bin/python -m bench.speaking.audio_tap` (about a minute).
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import time

import av
import numpy as np
import webrtcvad

from bench.common.audio_harness import Counting, forward_cost, rtp, speech_packets
from media.audio_tap import AudioTap


async def tap_cpu(mics: int, payloads: list[bytes]) -> dict[str, float]:
    """Feed `mics` streams of `payloads` in 100 ms batches; CPU per audio second."""
    sink = Counting()
    tap = AudioTap(sink)
    taps = [tap.open_mic(f"p{m}", f"t{m}") for m in range(mics)]
    process_start = time.process_time()
    wall_start = time.perf_counter()
    for first in range(0, len(payloads), 5):
        for m, mic in enumerate(taps):
            for n in range(first, min(first + 5, len(payloads))):
                mic.push(rtp(1000 + m, n, payloads[n]))
        tap.flush()
        while tap.backlog > 2 * mics:  # noqa: ASYNC110 (the worker has no event to wait on)
            await asyncio.sleep(0.001)  # faster than real time, but never dropping
    expected = mics * (len(payloads) * 2 // 3) - mics
    sink.wanted = expected
    await sink.enough.wait()
    process_s = time.process_time() - process_start
    wall_s = time.perf_counter() - wall_start
    audio_s = mics * len(payloads) * 0.02
    result = {
        "worker_ms_per_s": tap.worker_cpu_s * 1000 / audio_s,
        "process_ms_per_s": process_s * 1000 / audio_s,
        "realtime_x": audio_s / wall_s / mics,
    }
    tap.close()
    return result


def pyav_reference(payloads: list[bytes]) -> float:
    """CPU ms per audio second: PyAV decode (48 kHz) + resample to 16 kHz + webrtcvad."""
    decoder = av.CodecContext.create("libopus", "r")
    resampler = av.AudioResampler(format="s16", layout="mono", rate=16_000)
    vad = webrtcvad.Vad(2)
    pending = b""
    start = time.process_time()
    for payload in payloads:
        for frame in decoder.decode(av.Packet(payload)):
            for out in resampler.resample(frame):
                pending += bytes(out.planes[0])[: out.samples * 2]
        while len(pending) >= 960:
            chunk, pending = pending[:960], pending[960:]
            vad.is_speech(chunk, 16_000)
            samples = np.frombuffer(chunk, dtype=np.int16).astype(np.float64)
            float(np.dot(samples, samples))
    return (time.process_time() - start) * 1000 / (len(payloads) * 0.02)


async def run(seconds: float) -> None:
    """Print both tables."""
    payloads = speech_packets(seconds)
    print(f"# audio tap, {platform.python_version()}, {seconds:.0f} s of speech per mic")
    print()
    print("| mics | worker CPU ms / stream-s | process CPU ms / stream-s | x realtime per mic |")
    print("|---|---|---|---|")
    for mics in (1, 6, 15):
        r = await tap_cpu(mics, payloads)
        print(
            f"| {mics} | {r['worker_ms_per_s']:.2f} | {r['process_ms_per_s']:.2f} "
            f"| {r['realtime_x']:.0f} |"
        )
    print()
    print(f"reference, PyAV decode + resample + VAD: {pyav_reference(payloads):.2f} ms / stream-s")
    print()
    mics, ticks = 15, 500
    print(f"forward path, {mics} mics x 4 slots, {ticks * 0.02:.0f} s in real time")
    print()
    print("| tap | loop CPU us / packet | tick late p50 ms | p99 ms | max ms | voice frames |")
    print("|---|---|---|---|---|---|")
    best: dict[str, float] = {}
    for mode in ("off", "worker", "loop", "off", "worker", "loop"):
        r = await forward_cost(payloads[:ticks], mics, mode)
        best[mode] = min(best.get(mode, float("inf")), r["cpu_us"])
        print(
            f"| {mode} | {r['cpu_us']:.1f} | {r['late_p50_ms']:.2f} | {r['late_p99_ms']:.2f} "
            f"| {r['late_max_ms']:.2f} | {r['frames']:.0f} |"
        )
    print()
    print(
        "forward path CPU per packet, tap on / off (best of 2): "
        f"worker {best['worker'] / best['off']:.2f}, on the loop {best['loop'] / best['off']:.2f}"
    )


def main(argv: list[str] | None = None) -> None:
    """Command line: `--seconds` of audio per mic."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args(argv)
    asyncio.run(run(args.seconds))


if __name__ == "__main__":
    main()
