"""Echo and crosstalk: credit a voiced frame to its mic's owner only when no other
mic in the same room heard the same moment clearly louder."""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from ..voice import VoiceFrame
from .settings import SpeakingSettings
from .timeline import Timeline


@dataclass
class TypicalLevel:
    """A running estimate of one mic's speech level, learned from solo speech only
    (frames no other mic in the room explains), so echo never teaches it."""

    dbfs: float = 0.0
    frames: int = 0

    def learn(self, level: float, memory: int) -> None:
        """Fold one solo voiced frame in: a plain mean at first, then exponential."""
        self.frames += 1
        self.dbfs += (level - self.dbfs) / min(self.frames, memory)

    def confidence(self, full: int) -> float:
        """0 with nothing learned, 1 once `full` frames have been learned."""
        return min(1.0, self.frames / full) if full > 0 else 1.0


# Unvoiced frames needed before a mic's noise level is used at all.
_NOISE_MIN_FRAMES = 10


@dataclass
class _Stream:
    pending: list[tuple[float, bool, float]] = field(default_factory=list)
    # The mic's background level, learned from the frames webrtcvad calls unvoiced.
    noise: TypicalLevel = field(default_factory=TypicalLevel)
    # Voiced frames kept as evidence for the look-behind: starts and levels.
    starts: list[float] = field(default_factory=list)
    levels: list[float] = field(default_factory=list)
    watermark: float = float("-inf")

    def peak(self, lo: float, hi: float) -> float | None:
        """Loudest voiced frame starting within [lo, hi]."""
        i, j = bisect_left(self.starts, lo), bisect_right(self.starts, hi)
        return max(self.levels[i:j]) if j > i else None


class Attributor:
    """Buffers every mic's frames and decides each one once all mics have passed it
    (or the lag timeout has), yielding (person, start, credited) in time order."""

    def __init__(self, settings: SpeakingSettings) -> None:
        self._settings = settings
        self._streams: dict[str, _Stream] = {}
        self.typical: dict[str, TypicalLevel] = {}
        self.horizon = float("-inf")
        self.echo_frames: dict[str, int] = {}

    def add(self, person_id: str, frames: tuple[VoiceFrame, ...]) -> None:
        """Buffer frames; those behind the decided horizon are decided with what is left."""
        s = self._settings
        stream = self._streams.setdefault(person_id, _Stream())
        typical = self.typical.get(person_id)
        for f in frames:
            voiced = f.voiced and self._above_floors(stream, typical, f.level_dbfs)
            if not f.voiced:
                stream.noise.learn(f.level_dbfs, s.noise_memory_frames)
            insort(stream.pending, (f.start, voiced, f.level_dbfs))
            if voiced:
                i = bisect_right(stream.starts, f.start)
                stream.starts.insert(i, f.start)
                stream.levels.insert(i, f.level_dbfs)
            stream.watermark = max(stream.watermark, f.start + s.frame_s)

    def _above_floors(self, stream: _Stream, typical: TypicalLevel | None, level: float) -> bool:
        """Whether a voiced frame is loud enough to be speech at all: clear of the mic's
        noise (webrtcvad fires on noise at low SNR) and not far below its owner's
        typical speech (its hangover after an utterance). Frames below either floor
        are silence: never credited, never evidence of echo for another mic."""
        s = self._settings
        noise = stream.noise
        if (
            s.noise_margin_db > 0
            and noise.frames >= _NOISE_MIN_FRAMES
            and level < noise.dbfs + s.noise_margin_db
        ):
            return False
        return not (
            s.voice_floor_db > 0
            and typical is not None
            and typical.frames >= s.typical_full_frames
            and level < typical.dbfs - s.voice_floor_db
        )

    def decide(
        self, now: float, timelines: Mapping[str, Timeline]
    ) -> Iterator[tuple[str, float, bool]]:
        """Advance the horizon to `now` and yield every frame it passed, per person in
        time order, as (person, frame start, credited as the owner's own speech)."""
        s = self._settings
        floor = now - s.lag_timeout_s
        # Only mics that can still speak hold decisions back; a silent (DTX) mic holds
        # them back at most `lag_timeout_s`, as missing frames are silence.
        waits = [
            max(self._streams[pid].watermark if pid in self._streams else floor, floor)
            for pid, timeline in timelines.items()
            if (state := timeline.latest()) is not None and state.audible
        ]
        self.horizon = max(self.horizon, min(waits, default=floor) - s.echo_window_s)
        for person_id, stream in self._streams.items():
            cut = bisect_left(stream.pending, (self.horizon - s.frame_s + 1e-9,))
            ready, stream.pending = stream.pending[:cut], stream.pending[cut:]
            timeline = timelines.get(person_id)
            for start, voiced, level in ready:
                state = timeline.at(start) if timeline else None
                if state is None or not state.audible:
                    continue
                credited = voiced and self._own(person_id, start, level, state.room, timelines)
                yield person_id, start, credited
        self._prune()

    def _own(
        self, person_id: str, t: float, level: float, room: str, timelines: Mapping[str, Timeline]
    ) -> bool:
        """Whether a voiced frame of `person_id` at `t` is their own speech."""
        s = self._settings
        w = s.echo_window_s
        mine = self._streams[person_id].peak(t - w, t + w)
        own_peak = level if mine is None else max(mine, level)
        own_typ = self.typical.setdefault(person_id, TypicalLevel())
        solo = True
        for other_id, other in self._streams.items():
            if other_id == person_id:
                continue
            state = timelines[other_id].at(t) if other_id in timelines else None
            if state is None or not state.audible or state.room != room:
                continue
            peak = other.peak(t - w, t + w)
            if peak is None:
                continue
            solo = False
            if peak - own_peak - self._offset(own_typ, other_id) >= s.echo_margin_db:
                self.echo_frames[person_id] = self.echo_frames.get(person_id, 0) + 1
                return False
        if solo:
            own_typ.learn(level, s.typical_memory_frames)
        return True

    def _offset(self, own: TypicalLevel, other_id: str) -> float:
        """How much louder the other mic normally is, weighted by how sure we are."""
        s = self._settings
        other = self.typical.get(other_id)
        if other is None:
            return 0.0
        sure = own.confidence(s.typical_full_frames) * other.confidence(s.typical_full_frames)
        gap = max(-s.normalise_max_db, min(s.normalise_max_db, other.dbfs - own.dbfs))
        return s.normalise_weight * sure * gap

    def _prune(self) -> None:
        """Drop evidence no undecided frame can look at any more."""
        keep = self.horizon - 2 * self._settings.echo_window_s - self._settings.frame_s
        for stream in self._streams.values():
            lo = (
                min(keep, stream.pending[0][0] - self._settings.echo_window_s)
                if stream.pending
                else keep
            )
            i = bisect_left(stream.starts, lo)
            if i:
                del stream.starts[:i]
                del stream.levels[:i]
