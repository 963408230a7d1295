"""Plain values of the caption layer: voice frames in (`VoiceFrame`, the domain's),
speech segments, captions out."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

SAMPLE_RATE = 16_000
# s16le mono: two bytes per sample.
BYTES_PER_SECOND = SAMPLE_RATE * 2
FRAME_S = 0.03
FRAME_BYTES = int(FRAME_S * BYTES_PER_SECOND)


@dataclass(frozen=True)
class SpeechSegment:
    """Audio of one speaker, cut at voice-activity boundaries: an utterance (final) or
    the part of it heard so far (partial). `replaces` names utterances merged into it."""

    room: str
    speaker: str
    utterance_id: str
    start: float
    end: float
    pcm: bytes
    final: bool = True
    replaces: tuple[str, ...] = ()

    @property
    def duration_s(self) -> float:
        """Seconds of audio in `pcm`."""
        return len(self.pcm) / BYTES_PER_SECOND


@dataclass(frozen=True)
class CaptionEvent:
    """Text for one utterance. A partial is replaced by later captions of the same
    utterance id; a final also replaces the utterances listed in `replaces`."""

    room: str
    speaker: str
    utterance_id: str
    text: str
    final: bool
    start: float
    end: float
    replaces: tuple[str, ...] = ()

    @staticmethod
    def for_segment(segment: SpeechSegment, text: str) -> CaptionEvent:
        """The caption of `segment` with `text`."""
        return CaptionEvent(
            room=segment.room,
            speaker=segment.speaker,
            utterance_id=segment.utterance_id,
            text=text,
            final=segment.final,
            start=segment.start,
            end=segment.end,
            replaces=segment.replaces,
        )


class EngineState(Enum):
    """Where an engine is in its life; `OFF` means no more captions from it."""

    STARTING = "starting"
    RUNNING = "running"
    RESTARTING = "restarting"
    OFF = "off"


@dataclass(frozen=True)
class EngineStatus:
    """A change of an engine's state, with a reason a facilitator can read."""

    engine: str
    state: EngineState
    reason: str = ""


CaptionOutput = CaptionEvent | EngineStatus


@dataclass
class EngineMetrics:
    """Counters of one engine, for /metrics: what was queued, dropped, merged, how often
    it was restarted and how long it was busy."""

    submitted: int = 0
    queued: int = 0
    dropped: int = 0
    dropped_partials: int = 0
    merged: int = 0
    transcribed: int = 0
    failures: int = 0
    restarts: int = 0
    busy_s: float = 0.0
    audio_s: float = 0.0
    extra: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, float]:
        """Flat name -> number, ready for a metrics endpoint."""
        values: dict[str, float] = {
            "submitted": self.submitted,
            "queued": self.queued,
            "dropped": self.dropped,
            "dropped_partials": self.dropped_partials,
            "merged": self.merged,
            "transcribed": self.transcribed,
            "failures": self.failures,
            "restarts": self.restarts,
            "busy_s": round(self.busy_s, 3),
            "audio_s": round(self.audio_s, 3),
        }
        values.update(self.extra)
        return values
