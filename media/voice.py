"""What the audio tap reports: 30 ms voice frames of one mic on a media clock.

A frame's `start` is the mic's anchor (the arrival of its first packet, on the clock
given to the MediaServer) plus the RTP time since then, so durations come only from
RTP timestamps and sample counts. Lost packets and silence suppression (DTX) leave
gaps with no frames; consumers count missing time as silence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

FRAME_S = 0.03  # webrtcvad frame: 30 ms at 16 kHz = 480 samples
SAMPLE_RATE = 16_000
FRAME_SAMPLES = 480
FRAME_BYTES = FRAME_SAMPLES * 2
RTP_CLOCK = 48_000
SILENCE_DBFS = -127.0
_FULL_SCALE_SQUARED = 32768.0 * 32768.0


@dataclass(frozen=True, slots=True)
class VoiceFrame:
    """One 30 ms frame of a mic: webrtcvad's decision, its level and (if captured) its PCM."""

    start: float  # seconds on the media clock
    voiced: bool  # webrtcvad's raw decision
    level_dbfs: float  # RMS level of the frame, dBFS (-127 for digital silence)
    pcm: bytes | None  # 16 kHz s16le mono, 960 bytes, only when capture is on


def level_dbfs(pcm: bytes | bytearray | memoryview) -> float:
    """RMS level of s16le samples in dBFS, floored at -127 (digital silence)."""
    samples = np.frombuffer(pcm, dtype=np.int16).astype(np.float64)
    if samples.size == 0:
        return SILENCE_DBFS
    mean_square = float(np.dot(samples, samples)) / samples.size
    if mean_square <= 0.0:
        return SILENCE_DBFS
    return max(SILENCE_DBFS, 10.0 * math.log10(mean_square / _FULL_SCALE_SQUARED))
