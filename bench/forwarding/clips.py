"""Pre-encoded VP8 and Opus clips, and tracks that replay them without encoding.

A load generator that encodes eats the cores the server needs, so the clips are
encoded once with PyAV (cached under bench/out/) and replayed as `av.Packet`s:
aiortc's sender only packetizes a packet (`pack()` in aiortc/codecs/vpx.py, opus.py).
"""

from __future__ import annotations

import array
import asyncio
import fractions
import math
import os
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError

from bench.common.paths import OUT_DIR

VIDEO_CLOCK = 90_000
AUDIO_CLOCK = 48_000
AUDIO_FRAME_SAMPLES = 960  # 20 ms at 48 kHz
NOISE = 12  # amplitude of the video's luma noise


@dataclass(frozen=True)
class ClipSpec:
    """What to encode; every field is part of the cache file name."""

    width: int = 640
    height: int = 360
    fps: int = 30
    video_kbps: int = 400
    keyframe_interval_s: int = 2
    seconds: int = 10
    audio_kbps: int = 32

    @property
    def gop(self) -> int:
        """Frames from one keyframe to the next."""
        return self.fps * self.keyframe_interval_s

    def video_path(self, out_dir: Path) -> Path:
        """Where the VP8 clip is cached (IVF, so ffprobe/ffplay can open it)."""
        name = f"vp8-{self.width}x{self.height}-{self.fps}fps-{self.video_kbps}k"
        return out_dir / f"{name}-gop{self.gop}-{self.seconds}s.ivf"

    def audio_path(self, out_dir: Path) -> Path:
        """Where the Opus clip is cached (Ogg)."""
        return out_dir / f"opus-48k-20ms-{self.audio_kbps}k-{self.seconds}s.ogg"


@dataclass(frozen=True)
class Clip:
    """One encoded elementary stream: packets in order, one per frame."""

    kind: str
    packets: tuple[bytes, ...]
    keyframes: tuple[int, ...]
    clock_rate: int
    pts_step: int

    @property
    def frame_seconds(self) -> float:
        """Media time of one packet."""
        return self.pts_step / self.clock_rate

    @property
    def bitrate_kbps(self) -> float:
        """Average bitrate over the clip."""
        total_bits = 8 * sum(len(p) for p in self.packets)
        return total_bits / (len(self.packets) * self.frame_seconds) / 1000


def is_vp8_keyframe(frame: bytes) -> bool:
    """VP8 frame tag: bit 0 of the first byte is 0 for a key frame (RFC 6386, 9.1)."""
    return len(frame) > 0 and frame[0] & 0x01 == 0


def load_clips(spec: ClipSpec = ClipSpec(), out_dir: Path = OUT_DIR) -> tuple[Clip, Clip]:
    """The (audio, video) clips for `spec`, encoding and caching them on first use."""
    out_dir.mkdir(parents=True, exist_ok=True)
    video_path, audio_path = spec.video_path(out_dir), spec.audio_path(out_dir)
    if not video_path.exists():
        _write_atomically(video_path, lambda tmp: _encode_video(spec, tmp))
    if not audio_path.exists():
        _write_atomically(audio_path, lambda tmp: _encode_audio(spec, tmp))
    video_packets = _read_packets(video_path)
    video = Clip(
        kind="video",
        packets=video_packets,
        keyframes=tuple(i for i, p in enumerate(video_packets) if is_vp8_keyframe(p)),
        clock_rate=VIDEO_CLOCK,
        pts_step=VIDEO_CLOCK // spec.fps,
    )
    audio_packets = _read_packets(audio_path)
    audio = Clip(
        kind="audio",
        packets=audio_packets,
        keyframes=tuple(range(len(audio_packets))),
        clock_rate=AUDIO_CLOCK,
        pts_step=AUDIO_FRAME_SAMPLES,
    )
    if not video.keyframes or video.keyframes[0] != 0:
        raise RuntimeError(f"{video_path}: the clip must start with a keyframe")
    return audio, video


def _write_atomically(path: Path, write: Callable[[Path], None]) -> None:
    # Concurrent first runs must never read a half-written clip, nor share a temporary
    # file (two load generators may encode the same clip at once).
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    write(tmp)
    tmp.replace(path)


def _read_packets(path: Path) -> tuple[bytes, ...]:
    with av.open(str(path)) as container:
        stream = container.streams[0]
        return tuple(bytes(p) for p in container.demux(stream) if p.size)


def _encode_video(spec: ClipSpec, path: Path) -> None:
    """A panning noisy gradient plus a moving box of fresh noise: not trivially compressible."""
    rng = random.Random(1)
    w, h = spec.width, spec.height
    # Low-amplitude noise on gradients: full-range noise would need ten times the
    # bitrate at any quantizer, which is not what a camera sends.
    texture = [
        bytes((x // 4 + y // 3 + rng.randint(-NOISE, NOISE)) % 200 + 28 for x in range(2 * w))
        for y in range(2 * h)
    ]
    box = min(w, h) // 3
    bitrate = spec.video_kbps * 1000
    with av.open(str(path), "w", format="ivf") as container:
        stream = container.add_stream("libvpx", rate=spec.fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.bit_rate = bitrate
        stream.codec_context.gop_size = spec.gop
        # The settings aiortc's own Vp8Encoder uses (realtime CBR, no alt-ref
        # frames), so the clip looks like what an aiortc or browser peer would send.
        stream.options = {
            "deadline": "realtime",
            "cpu-used": "6",
            "lag-in-frames": "0",
            "auto-alt-ref": "0",
            "keyint_min": str(spec.gop),
            "minrate": str(bitrate),
            "maxrate": str(bitrate),
            "bufsize": str(bitrate),
            "undershoot-pct": "100",
            "overshoot-pct": "15",
        }
        for index in range(spec.seconds * spec.fps):
            y = _video_luma(texture, w, h, index, box, rng)
            frame = av.VideoFrame(w, h, "yuv420p")
            chroma = bytes([128 + int(40 * math.sin(index / 15))]) * (w // 2)
            planes = (y, [chroma] * (h // 2), [chroma] * (h // 2))
            for plane, rows in zip(frame.planes, planes, strict=True):
                plane.update(_pad_rows(rows, plane.line_size))
            frame.pts = index
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def _pad_rows(rows: list[bytes], line_size: int) -> bytes:
    # A plane's rows may be padded beyond the picture width.
    return b"".join(row.ljust(line_size, b"\0") for row in rows)


def _video_luma(
    texture: list[bytes], w: int, h: int, index: int, box: int, rng: random.Random
) -> list[bytes]:
    dx, dy = (3 * index) % w, (2 * index) % h
    rows = [texture[dy + row][dx : dx + w] for row in range(h)]
    # A moving box of fresh noise: some of every frame cannot be predicted.
    bx = int((w - box) * (0.5 + 0.5 * math.sin(index / 20)))
    by = int((h - box) * (0.5 + 0.5 * math.cos(index / 27)))
    for row in range(by, by + box):
        line = rows[row]
        fresh = bytes(180 + rng.randint(-NOISE, NOISE) for _ in range(box))
        rows[row] = line[:bx] + fresh + line[bx + box :]
    return rows


def _encode_audio(spec: ClipSpec, path: Path) -> None:
    """A warbling tone with a little noise, 20 ms Opus frames."""
    rng = random.Random(2)
    with av.open(str(path), "w", format="ogg") as container:
        stream = container.add_stream("libopus", rate=AUDIO_CLOCK, layout="stereo")
        stream.bit_rate = spec.audio_kbps * 1000
        stream.options = {"application": "voip", "frame_duration": "20"}
        frames = spec.seconds * AUDIO_CLOCK // AUDIO_FRAME_SAMPLES
        for index in range(frames):
            samples = array.array("h")
            for n in range(AUDIO_FRAME_SAMPLES):
                t = (index * AUDIO_FRAME_SAMPLES + n) / AUDIO_CLOCK
                tone = math.sin(2 * math.pi * (440 + 60 * math.sin(2 * math.pi * 3 * t)) * t)
                value = int(6000 * tone + rng.randint(-800, 800))
                samples.extend((value, value))
            frame = av.AudioFrame(format="s16", layout="stereo", samples=AUDIO_FRAME_SAMPLES)
            frame.planes[0].update(samples.tobytes())
            frame.sample_rate = AUDIO_CLOCK
            frame.pts = index * AUDIO_FRAME_SAMPLES
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


class ClipTrack(MediaStreamTrack):
    """Replays a clip in real time as `av.Packet`s, looping with ever-growing pts.

    Honours keyframe requests (PLI/FIR) as a browser would, by skipping ahead to the
    clip's next keyframe; the content jumps but every receiver can decode from there.
    """

    def __init__(self, clip: Clip) -> None:
        super().__init__()
        self.kind = clip.kind
        self._clip = clip
        self._time_base = fractions.Fraction(1, clip.clock_rate)
        self._position = 0
        self._start: float | None = None
        self._keyframe_requested: Callable[[], bool] = lambda: False
        self.frames_sent = 0
        self.keyframes_on_request = 0

    def follow_keyframe_requests(self, requested: Callable[[], bool]) -> None:
        """Poll `requested()` before each frame; True means send a keyframe next."""
        self._keyframe_requested = requested

    async def recv(self) -> av.Packet[Any]:
        """The next packet, at its real-time instant."""
        if self.readyState != "live":
            raise MediaStreamError
        loop = asyncio.get_running_loop()
        if self._start is None:
            self._start = loop.time()
        # An absolute schedule: a late frame does not push every later one back.
        delay = self._start + self.frames_sent * self._clip.frame_seconds - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        if self._keyframe_requested() and self.kind == "video":
            self._skip_to_keyframe()
        packet = av.Packet(self._clip.packets[self._position])
        packet.pts = self.frames_sent * self._clip.pts_step
        packet.time_base = self._time_base
        self._position = (self._position + 1) % len(self._clip.packets)
        self.frames_sent += 1
        return packet

    def _skip_to_keyframe(self) -> None:
        if self._position in self._clip.keyframes:
            return
        later = [k for k in self._clip.keyframes if k > self._position]
        self._position = later[0] if later else 0
        self.keyframes_on_request += 1
