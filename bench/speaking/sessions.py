"""Synthetic sessions through the real mic path: espeak-ng WAVs (bench/speaking/speech.py) ->
20 ms Opus packets (PyAV, once) -> the server's `AudioTap` (libopus decode to 16 kHz,
webrtcvad, media clock) -> voice frames per mic, as the tap delivers them.

Everything is cached under `bench/out/accuracy/<session>/`: the WAVs and truth, the
packets, and the tap's frames (with the decode + VAD CPU it took), so a tuning sweep
replays the ledger on the same frames without decoding again.
"""

from __future__ import annotations

import asyncio
import json
import random
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.common.audio_harness import rtp
from bench.speaking.speech import SessionSpec, generate
from media.audio_tap import BATCH_S, AudioTap
from media.voice import VoiceFrame as MediaFrame
from server.domain.speaking import FrameBatch, VoiceFrame
from tests.support.audio import encode_opus, read_wav

PACKET_S = 0.02
PACKETS_PER_BATCH = round(BATCH_S / PACKET_S)
# Bump when the cached frames would differ (tap, VAD mode, feeding): forces a re-run.
FRAMES_VERSION = 1
# Each mic's media clock is anchored on its first packet's arrival: network paths
# differ, so mics agree to within this (docs/SPEAKING.md assumes about 50 ms).
MAX_SKEW_S = 0.05


@dataclass(frozen=True)
class Session:
    """One generated session on disk and its truth."""

    name: str
    path: Path
    truth: dict[str, object]

    @property
    def people(self) -> list[dict[str, object]]:
        """The truth's participants."""
        return self.truth["participants"]  # type: ignore[return-value]

    @property
    def duration_s(self) -> float:
        """Length of every mic's audio."""
        return float(self.truth["duration_s"])  # type: ignore[arg-type]


@dataclass
class TapFrames:
    """One session's frames per mic, with the tap batch each was delivered in."""

    people: list[str]
    # person -> arrays: start (s), voiced (bool), level (dBFS), batch index.
    frames: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]
    batches: int
    decode_cpu_s: float
    stream_s: float

    def batch_frames(self) -> list[list[FrameBatch]]:
        """Per tap batch, one `FrameBatch` per mic that delivered frames in it."""
        out: list[list[FrameBatch]] = [[] for _ in range(self.batches)]
        for person in self.people:
            start, voiced, level, batch = self.frames[person]
            cuts = np.flatnonzero(np.diff(batch)) + 1
            for lo, hi in zip(np.r_[0, cuts], np.r_[cuts, len(batch)], strict=True):
                if hi <= lo:
                    continue
                frames = tuple(
                    VoiceFrame(float(s), bool(v), float(lv))
                    for s, v, lv in zip(start[lo:hi], voiced[lo:hi], level[lo:hi], strict=True)
                )
                out[int(batch[lo])].append(FrameBatch(person, frames))
        return out


def session(spec: SessionSpec, root: Path) -> Session:
    """Generate the session's WAVs and truth once (cached by its spec)."""
    name = (
        f"n{spec.participants}-{spec.minutes:g}min-{spec.condition}-s{spec.seed}"
        f"-silent{spec.silent}-mono{spec.monologue_s:g}-pause{spec.pause_s[1]:g}"
    )
    path = root / name
    truth_file = path / "truth.json"
    if not truth_file.exists():
        generate(spec, path)
    return Session(name, path, json.loads(truth_file.read_text()))


def opus_packets(s: Session, person: str) -> list[bytes]:
    """The mic's 20 ms Opus packets (encoded once with PyAV, then cached)."""
    cache = s.path / f"{person}.opus-packets"
    if cache.exists():
        data = cache.read_bytes()
        packets, at = [], 0
        while at < len(data):
            (size,) = struct.unpack_from("<H", data, at)
            packets.append(data[at + 2 : at + 2 + size])
            at += 2 + size
        return packets
    packets = encode_opus(read_wav(s.path / f"{person}.wav"))
    cache.write_bytes(b"".join(struct.pack("<H", len(p)) + p for p in packets))
    return packets


def tap_frames(s: Session, fresh: bool = False) -> TapFrames:
    """The tap's frames for every mic of the session (cached unless `fresh`)."""
    cache = s.path / f"frames-v{FRAMES_VERSION}.npz"
    people = [str(p["id"]) for p in s.people]
    if cache.exists() and not fresh:
        data = np.load(cache)
        frames = {
            p: (data[f"{p}.start"], data[f"{p}.voiced"], data[f"{p}.level"], data[f"{p}.batch"])
            for p in people
        }
        meta = data["meta"]
        return TapFrames(people, frames, int(meta[0]), float(meta[1]), float(meta[2]))
    packets = {p: opus_packets(s, p) for p in people}
    result = asyncio.run(_feed_tap(people, packets, _skews(s, people)))
    arrays: dict[str, np.ndarray] = {
        "meta": np.array([result.batches, result.decode_cpu_s, result.stream_s])
    }
    for p, (start, voiced, level, batch) in result.frames.items():
        arrays |= {
            f"{p}.start": start,
            f"{p}.voiced": voiced,
            f"{p}.level": level,
            f"{p}.batch": batch,
        }
    np.savez(cache, **arrays)  # type: ignore[arg-type]
    return result


def _skews(s: Session, people: Sequence[str]) -> dict[str, float]:
    rng = random.Random(f"skew-{s.name}")
    return {p: rng.uniform(0.0, MAX_SKEW_S) for p in people}


class _Clock:
    """The media clock the tap anchors each mic on (seconds of session time)."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def _feed_tap(
    people: list[str], packets: dict[str, list[bytes]], skews: dict[str, float]
) -> TapFrames:
    """Push every mic's packets in 100 ms batches, as the forward path and the flush
    timer do; the tap decodes inline (`threaded=False`: same code, deterministic)."""
    clock = _Clock()
    got: dict[str, list[tuple[float, bool, float, int]]] = {p: [] for p in people}
    current = [0]  # the batch being flushed (the sink runs inside `flush`)

    def sink(peer_id: str, track_id: str, frames: Sequence[MediaFrame]) -> None:
        got[peer_id].extend((f.start, f.voiced, f.level_dbfs, current[0]) for f in frames)

    tap = AudioTap(sink, clock=clock, threaded=False)
    mics = {p: tap.open_mic(p, f"{p}-mic") for p in people}
    count = max(len(v) for v in packets.values())
    batches = -(-count // PACKETS_PER_BATCH)
    for batch_index in range(batches):
        current[0] = batch_index
        for m, p in enumerate(people):
            first = batch_index * PACKETS_PER_BATCH
            for n in range(first, min(first + PACKETS_PER_BATCH, len(packets[p]))):
                # Arrival = send time + this mic's path delay; only the first one anchors.
                clock.now = n * PACKET_S + skews[p]
                mics[p].push(rtp(1000 + m, n, packets[p][n]))
        tap.flush()
    cpu = tap.worker_cpu_s
    tap.close()
    frames = {
        p: (
            np.array([f[0] for f in rows], dtype=np.float64),
            np.array([f[1] for f in rows], dtype=bool),
            np.array([f[2] for f in rows], dtype=np.float64),
            np.array([f[3] for f in rows], dtype=np.int32),
        )
        for p, rows in got.items()
    }
    stream_s = sum(len(v) for v in packets.values()) * PACKET_S
    return TapFrames(people, frames, batches, cpu, stream_s)
