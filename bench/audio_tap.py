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

Run: `.venv/bin/python -m bench.audio_tap` (about a minute).
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import time
from collections.abc import Sequence
from dataclasses import dataclass

import av
import numpy as np
import webrtcvad

from media.aiortc_hooks import SendParameters
from media.audio_tap import AudioTap
from media.tracks import ForwardSlot, PublishedTrack
from media.voice import VoiceFrame
from tests.support.audio import encode_opus, speak

SENTENCES = (
    ("en-us", "Every voice in this group deserves to be heard, the quiet ones too."),
    ("en-gb+f3", "Take a slow breath and tell us how your week has gone so far."),
    ("en-us+m3", "I noticed that I felt calmer after our last session together."),
)


@dataclass
class Packet:
    """The fields of a decrypted RTP packet the forward path and the tap read."""

    payload_type: int
    sequence_number: int
    timestamp: int
    ssrc: int
    marker: int
    payload: bytes


def speech_packets(seconds: float) -> list[bytes]:
    """`seconds` of speech (three voices, looped, 0.3 s pauses) as 20 ms Opus packets."""
    pause = bytes(2 * 14_400)
    clip = b"".join(speak(text, voice) + pause for voice, text in SENTENCES)
    packets = encode_opus(clip)
    wanted = int(seconds / 0.02)
    return (packets * (wanted // len(packets) + 1))[:wanted]


def rtp(ssrc: int, n: int, payload: bytes) -> Packet:
    """Packet `n` of a stream."""
    return Packet(111, n & 0xFFFF, (n * 960) & 0xFFFFFFFF, ssrc, 0, payload)


class Counting:
    """The tap's sink: counts frames."""

    def __init__(self) -> None:
        self.frames = 0
        self.wanted: int | None = None
        self.enough = asyncio.Event()

    def __call__(self, peer_id: str, track_id: str, frames: Sequence[VoiceFrame]) -> None:
        self.frames += len(frames)
        if self.wanted is not None and self.frames >= self.wanted:
            self.enough.set()


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


class NullLink:
    """Stands in for a subscriber's SRTP transport: accepts every packet."""

    connected = True

    async def send(self, data: bytes) -> bool:
        """Accept the packet."""
        return True

    def sent(self, rtp_timestamp: int, payload_size: int, ntp_time: int | None = None) -> None:
        """Nothing to count."""


async def no_keyframes(ssrc: int) -> None:
    """Audio never asks for keyframes."""


async def forward_cost(payloads: list[bytes], mics: int, mode: str) -> dict[str, float]:
    """Forward `mics` streams to 4 slots each in real time (one packet per mic every
    20 ms); the loop's CPU inside the forward path per packet, and how late each
    20 ms tick started (GIL contention with the worker and the tap's batches show
    there). `mode`: off, worker (the default tap) or loop (decode on the loop)."""
    sink = Counting()
    tap = AudioTap(sink, threaded=mode != "loop")
    tracks = []
    for m in range(mics):
        mic = tap.open_mic(f"p{m}", f"t{m}") if mode != "off" else None
        track = PublishedTrack(f"t{m}", "audio", no_keyframes, mic)
        for s in range(4):
            slot = ForwardSlot("audio")
            params = SendParameters(2000 + s, 3000 + s, 111, None, 48000, str(s), 9)
            slot.sender_started(params, NullLink())  # type: ignore[arg-type]
            slot.set_source(track)
        tracks.append(track)
    loop = asyncio.get_running_loop()
    begin = loop.time() + 0.05
    cpu = 0.0
    late: list[float] = []
    for n, payload in enumerate(payloads):
        due = begin + n * 0.02
        await asyncio.sleep(max(0.0, due - loop.time()))
        late.append(loop.time() - due)
        started = time.thread_time()
        for m, track in enumerate(tracks):
            track.on_packet(rtp(1000 + m, n, payload))
        cpu += time.thread_time() - started
    tap.close()
    late.sort()
    packets = len(payloads) * mics
    return {
        "cpu_us": cpu * 1e6 / packets,
        "late_p50_ms": late[len(late) // 2] * 1000,
        "late_p99_ms": late[int(len(late) * 0.99)] * 1000,
        "late_max_ms": late[-1] * 1000,
        "frames": sink.frames,
    }


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
