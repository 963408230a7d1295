"""Frames of one speaker -> utterances, cut where the voice stops. Pure: media time
comes in with the frames (and `idle`), nothing here reads a clock."""

from __future__ import annotations

from array import array
from collections import deque
from dataclasses import dataclass

from ..domain.voice import VoiceFrame
from .model import FRAME_BYTES, FRAME_S, SpeechSegment

_SILENT_PCM = bytes(FRAME_BYTES)
# Media times are sums of 30 ms steps: compare durations to half a frame.
_SLACK = FRAME_S / 2


@dataclass(frozen=True)
class SegmenterConfig:
    """How utterances are cut. Defaults suit conversational speech through webrtcvad."""

    # This much silence ends an utterance; shorter pauses are bridged (webrtcvad flickers
    # between words, and a caption per word is unreadable).
    end_silence_s: float = 0.6
    # webrtcvad reports a word's onset a frame or two late: keep a little audio before it.
    preroll_s: float = 0.3
    # Trailing silence kept after the last voiced frame, so final consonants survive.
    tail_s: float = 0.15
    # Bursts with less voiced audio are clicks or coughs, not words.
    min_voiced_s: float = 0.24
    # Longer utterances are cut at the quietest frame of their second half.
    max_utterance_s: float = 10.0
    # The growing utterance is offered as a partial this often; None: no partials.
    partial_every_s: float | None = 1.5


def _energy(frame: VoiceFrame) -> int:
    """Sum of squared samples: only compared, never scaled."""
    samples = array("h", frame.pcm or _SILENT_PCM)
    return sum(s * s for s in samples)


class Segmenter:
    """Cuts one speaker's frames into `SpeechSegment`s: finals at the end of each
    utterance, partials of the growing one, and a cut when it runs too long."""

    def __init__(self, room: str, speaker: str, config: SegmenterConfig | None = None) -> None:
        self.room = room
        self.speaker = speaker
        self.config = config or SegmenterConfig()
        self._preroll: deque[VoiceFrame] = deque(
            maxlen=max(0, round(self.config.preroll_s / FRAME_S))
        )
        self._frames: list[VoiceFrame] = []
        self._voiced_s = 0.0
        self._last_voiced_end = 0.0
        self._last_end: float | None = None
        self._next_partial_s = 0.0
        self._count = 0

    @property
    def in_utterance(self) -> bool:
        """True while an utterance is open."""
        return bool(self._frames)

    def push(self, frame: VoiceFrame) -> list[SpeechSegment]:
        """Take the next frame of this speaker; return the segments it completes."""
        out: list[SpeechSegment] = []
        if frame.pcm is None:
            # Capture is off: nothing of this audio may reach an engine. Whatever was
            # heard before still ends as an utterance.
            out += self.flush()
            self._last_end = frame.end
            return out
        if self._last_end is not None and frame.start > self._last_end + _SLACK:
            out += self._fill_gap(frame.start)
        elif self._last_end is not None and frame.start < self._last_end - _SLACK:
            return out  # a late duplicate: its time is already covered
        self._last_end = frame.end
        out += self._step(frame)
        return out

    def idle(self, now: float) -> list[SpeechSegment]:
        """Media time reached `now` with no frames (muted mic, lost packets): end the
        utterance if the silence is long enough."""
        if self._frames and now - self._last_voiced_end >= self.config.end_silence_s - _SLACK:
            return self._close()
        return []

    def flush(self) -> list[SpeechSegment]:
        """End the open utterance now (speaker left, moved or declined)."""
        out = self._close() if self._frames else []
        self._preroll.clear()
        return out

    def _fill_gap(self, until: float) -> list[SpeechSegment]:
        """Missing frames are silence: inside an utterance they are filled with zeros
        (so timing holds), unless the gap alone ends it."""
        assert self._last_end is not None
        out: list[SpeechSegment] = []
        if not self._frames or until - self._last_voiced_end >= self.config.end_silence_s - _SLACK:
            out += self._close() if self._frames else []
            self._preroll.clear()
            return out
        t = self._last_end
        while t < until - _SLACK:
            out += self._step(VoiceFrame(t, False, pcm=_SILENT_PCM))
            t += FRAME_S
        return out

    def _step(self, frame: VoiceFrame) -> list[SpeechSegment]:
        config = self.config
        if not self._frames:
            if not frame.voiced:
                self._preroll.append(frame)
                return []
            self._open(list(self._preroll))
            self._preroll.clear()
        self._frames.append(frame)
        if frame.voiced:
            self._voiced_s += FRAME_S
            self._last_voiced_end = frame.end
        elif frame.end - self._last_voiced_end >= config.end_silence_s - _SLACK:
            return self._close()
        length = frame.end - self._frames[0].start
        if length >= config.max_utterance_s - _SLACK:
            return self._cut()
        if config.partial_every_s is not None and length >= self._next_partial_s - _SLACK:
            self._next_partial_s += config.partial_every_s
            return [self._segment(self._frames, final=False)]
        return []

    def _open(self, frames: list[VoiceFrame]) -> None:
        self._count += 1
        self._frames = frames
        self._voiced_s = sum(FRAME_S for f in frames if f.voiced)
        self._last_voiced_end = max((f.end for f in frames if f.voiced), default=0.0)
        step = self.config.partial_every_s
        self._next_partial_s = step if step is not None else 0.0

    def _close(self) -> list[SpeechSegment]:
        """End the utterance after its last voiced frame (plus a short tail)."""
        keep_until = self._last_voiced_end + self.config.tail_s
        kept = [f for f in self._frames if f.start < keep_until - _SLACK]
        rest = self._frames[len(kept) :]
        out = (
            [self._segment(kept, final=True)] if self._voiced_s >= self.config.min_voiced_s else []
        )
        self._frames = []
        self._voiced_s = 0.0
        self._preroll.extend(rest)
        return out

    def _cut(self) -> list[SpeechSegment]:
        """Too long: end the utterance at the quietest frame of its second half (an
        unvoiced one if any) and carry the rest into the next utterance."""
        frames = self._frames
        half = len(frames) // 2
        quietest = min(
            range(half, len(frames)), key=lambda i: (frames[i].voiced, _energy(frames[i]))
        )
        head, tail = frames[: quietest + 1], frames[quietest + 1 :]
        out = [self._segment(head, final=True)]
        self._frames = []
        if any(f.voiced for f in tail):
            self._open(tail)
        else:
            self._voiced_s = 0.0
            self._preroll.extend(tail)
        return out

    def _segment(self, frames: list[VoiceFrame], final: bool) -> SpeechSegment:
        return SpeechSegment(
            room=self.room,
            speaker=self.speaker,
            utterance_id=f"{self.speaker}.{self._count}",
            start=frames[0].start,
            end=frames[-1].end,
            pcm=b"".join(f.pcm or _SILENT_PCM for f in frames),
            final=final,
        )
