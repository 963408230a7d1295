"""Test media: video that says who sent it and moves every frame.

Each frame's top half is flat at luma `level` (the sender's signature) and a bright
bar in the bottom half moves each frame. `read_pattern` recovers both from a decoded
frame, so a receiver can tell whose video it is showing and that it is not frozen.

- `PatternVideoTrack` yields raw frames; aiortc encodes them (and, on its own, starts
  a new keyframe whenever the bandwidth estimate moves).
- `EncodedPatternTrack` encodes itself and makes a keyframe only at the start and when
  the far side asks (PLI/FIR), as a browser does: a subscriber that joins mid-stream
  sees video only if the SFU's keyframe request reaches the publisher.
"""

from __future__ import annotations

import asyncio
import fractions
import time
from dataclasses import dataclass

import av
from aiortc import MediaStreamTrack, RTCRtpSender
from av.video.frame import PictureType

from tests.support.aiortc_taps import take_keyframe_request

WIDTH, HEIGHT = 160, 120
FPS = 15
BAR_WIDTH = 16
BAR_STEP = 8
BACKGROUND, BAR = 16, 235
VIDEO_CLOCK = 90_000


class PatternVideoTrack(MediaStreamTrack):
    """A camera stand-in: signature luma on top, a moving bar below, at FPS."""

    kind = "video"

    def __init__(self, level: int) -> None:
        super().__init__()
        self.level = level
        self.frames_sent = 0
        self._started: float | None = None

    async def recv(self) -> av.VideoFrame:
        """The next frame, paced at FPS."""
        if self._started is None:
            self._started = time.monotonic()
        due = self._started + self.frames_sent / FPS
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)  # pacing, like a camera
        frame = pattern_frame(self.level, self.frames_sent)
        self.frames_sent += 1
        return frame


def pattern_frame(level: int, n: int) -> av.VideoFrame:
    """Frame `n` of the pattern with signature `level`."""
    top = bytes([level]) * (WIDTH * HEIGHT // 2)
    x = (n * BAR_STEP) % (WIDTH - BAR_WIDTH)
    row = bytes([BACKGROUND]) * x + bytes([BAR]) * BAR_WIDTH
    row += bytes([BACKGROUND]) * (WIDTH - len(row))
    chroma = bytes([128]) * (WIDTH // 2 * HEIGHT // 2)
    frame = av.VideoFrame(WIDTH, HEIGHT, "yuv420p")
    frame.planes[0].update(top + row * (HEIGHT // 2))
    frame.planes[1].update(chroma)
    frame.planes[2].update(chroma)
    frame.pts = n * VIDEO_CLOCK // FPS
    frame.time_base = fractions.Fraction(1, VIDEO_CLOCK)
    return frame


class EncodedPatternTrack(MediaStreamTrack):
    """The pattern as VP8 packets; keyframes only at the start and on request.

    Set `sender` to the RTCRtpSender the track is attached to, so PLI/FIR from the
    far side (aiortc raises the sender's keyframe flag) can be honoured.
    """

    kind = "video"

    def __init__(self, level: int) -> None:
        super().__init__()
        self.level = level
        self.sender: RTCRtpSender | None = None
        self.frames_sent = 0
        self.keyframes_sent = 0
        # time.monotonic() of each keyframe, and of each keyframe request honoured.
        self.keyframe_times: list[float] = []
        self.requests_seen: list[float] = []
        self._started: float | None = None
        encoder = av.CodecContext.create("libvpx", "w")
        encoder.width, encoder.height, encoder.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        encoder.time_base = fractions.Fraction(1, VIDEO_CLOCK)
        encoder.framerate = fractions.Fraction(FPS, 1)
        encoder.bit_rate = 300_000
        encoder.gop_size = 1_000_000  # no keyframes of its own accord
        encoder.options = {
            "deadline": "realtime",
            "cpu-used": "8",
            "lag-in-frames": "0",
            "auto-alt-ref": "0",
        }
        self._encoder = encoder

    async def recv(self) -> av.Packet:  # type: ignore[type-arg]
        """The next encoded frame, paced at FPS."""
        if self._started is None:
            self._started = time.monotonic()
        delay = self._started + self.frames_sent / FPS - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)  # pacing, like a camera
        frame = pattern_frame(self.level, self.frames_sent)
        if self.sender is not None and take_keyframe_request(self.sender):
            self.requests_seen.append(time.monotonic())
            frame.pict_type = PictureType.I
        (packet,) = self._encoder.encode(frame)
        packet.pts = frame.pts
        packet.time_base = fractions.Fraction(1, VIDEO_CLOCK)
        self.frames_sent += 1
        if packet.is_keyframe:
            self.keyframes_sent += 1
            self.keyframe_times.append(time.monotonic())
        return packet


@dataclass(frozen=True)
class Pattern:
    """What a decoded pattern frame shows."""

    level: int
    bar_x: int | None


def read_pattern(frame: av.VideoFrame) -> Pattern:
    """The signature luma and the bar position of a decoded PatternVideoTrack frame."""
    plane = frame.planes[0]
    stride = plane.line_size
    luma = bytes(plane)
    width, height = frame.width, frame.height
    samples = sorted(
        luma[y * stride + x]
        for y in range(height // 8, height * 3 // 8, 4)
        for x in range(width // 8, width * 7 // 8, 4)
    )
    level = samples[len(samples) // 2]
    row = height * 3 // 4
    bright = [x for x in range(width) if luma[row * stride + x] > (BACKGROUND + BAR) // 2]
    return Pattern(level, min(bright) if bright else None)


def closest_level(level: int, levels: dict[str, int]) -> str | None:
    """Whose signature `level` is (within 20), or None."""
    name, best = min(levels.items(), key=lambda item: abs(item[1] - level))
    return name if abs(best - level) <= 20 else None
