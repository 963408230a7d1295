"""Per-session glue: each consenting speaker's frames -> a segmenter -> the engine.
Consent is enforced here: audio of a speaker who has not agreed is never segmented
and never reaches an engine."""

from __future__ import annotations

from collections.abc import Iterable

from ..config import CaptionSettings
from ..domain.voice import VoiceFrame
from .engine import CaptionEngine
from .model import SpeechSegment
from .segmenter import Segmenter, SegmenterConfig


class CaptionPipeline:
    """Feeds one session's speakers to one engine. Nobody is captioned until `allow`."""

    def __init__(self, engine: CaptionEngine, config: SegmenterConfig | None = None) -> None:
        self.engine = engine
        self.config = config or SegmenterConfig()
        self._allowed: set[str] = set()
        self._segmenters: dict[str, Segmenter] = {}

    @classmethod
    def for_settings(cls, engine: CaptionEngine, settings: CaptionSettings) -> CaptionPipeline:
        """A pipeline cutting utterances as `settings` say (partials on or off)."""
        step = SegmenterConfig().partial_every_s if settings.partials else None
        return cls(engine, SegmenterConfig(partial_every_s=step))

    def allow(self, speaker: str) -> None:
        """`speaker` agreed to be captioned (captions are on and they did not decline)."""
        self._allowed.add(speaker)

    def forbid(self, speaker: str) -> None:
        """`speaker` declined (or captions were switched off): drop their open utterance
        and whatever of theirs still waits for the engine."""
        self._allowed.discard(speaker)
        self._segmenters.pop(speaker, None)
        forget = getattr(self.engine, "forget_speaker", None)
        if callable(forget):
            forget(speaker)

    def is_allowed(self, speaker: str) -> bool:
        """True if `speaker`'s audio may reach the engine."""
        return speaker in self._allowed

    def feed(self, room: str, speaker: str, frames: Iterable[VoiceFrame]) -> int:
        """Segment `speaker`'s frames heard in `room`; returns segments submitted."""
        if speaker not in self._allowed:
            return 0
        segmenter = self._segmenters.get(speaker)
        submitted = 0
        if segmenter is not None and segmenter.room != room:
            # Moved to another breakout: what was said before belongs to the old room.
            submitted += self._submit(segmenter.flush())
            segmenter = None
        if segmenter is None:
            segmenter = self._segmenters[speaker] = Segmenter(room, speaker, self.config)
        for frame in frames:
            submitted += self._submit(segmenter.push(frame))
        return submitted

    def idle(self, now: float) -> int:
        """Media time is `now`: end utterances of speakers who went quiet."""
        return sum(self._submit(s.idle(now)) for s in list(self._segmenters.values()))

    def leave(self, speaker: str) -> int:
        """`speaker` left: their open utterance is captioned, then forgotten."""
        segmenter = self._segmenters.pop(speaker, None)
        return self._submit(segmenter.flush()) if segmenter is not None else 0

    def _submit(self, segments: list[SpeechSegment]) -> int:
        for segment in segments:
            self.engine.submit(segment)
        return len(segments)
