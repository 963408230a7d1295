"""One 30 ms frame of one mic, as the server sees it (the bridge makes it from the
media plane's frame): the speaking ledger and the caption pipeline both take it."""

from __future__ import annotations

from dataclasses import dataclass

FRAME_S = 0.03  # webrtcvad's frame: 30 ms at 16 kHz = 480 samples
SILENCE_DBFS = -127.0


@dataclass(frozen=True, slots=True)
class VoiceFrame:
    """Start on the mic's media clock, webrtcvad's decision, RMS level in dBFS, and the
    16 kHz s16le mono samples (960 bytes) when the speaker is captioned, else None."""

    start: float
    voiced: bool
    level_dbfs: float = SILENCE_DBFS
    pcm: bytes | None = None

    @property
    def end(self) -> float:
        """Media time just after this frame."""
        return self.start + FRAME_S
