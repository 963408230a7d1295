"""Per-stream smoothing: credited voiced frames become voiced intervals [start, end)."""

from __future__ import annotations

from dataclasses import dataclass

from .settings import SpeakingSettings


@dataclass
class _Open:
    segment: float
    start: float
    end: float
    voiced_s: float


@dataclass(frozen=True)
class Burst:
    """A smoothed interval of talk within one state segment of its person."""

    segment: float
    start: float
    end: float


class Smoother:
    """Bridges gaps up to the hangover, then drops bursts whose voiced content is under
    the minimum. Bridging comes first so that speech broken by one-frame VAD dropouts
    is not thrown away piece by piece; counting voiced content (not span) keeps two
    clicks a hangover apart from becoming talk."""

    def __init__(self, settings: SpeakingSettings) -> None:
        self._s = settings
        self._open: _Open | None = None

    def voiced(self, segment: float, start: float) -> Burst | None:
        """A credited voiced frame; returns a burst it closed, if any."""
        frame = self._s.frame_s
        current = self._open
        if (
            current is not None
            and current.segment == segment
            and start - current.end <= self._s.hangover_s + 1e-9
        ):
            if start + frame > current.end:
                current.voiced_s += min(frame, start + frame - current.end)
                current.end = start + frame
            return None
        closed = self.close()
        self._open = _Open(segment, start, start + frame, frame)
        return closed

    def passed(self, t: float) -> Burst | None:
        """Decisions reached `t`; close the open burst if no frame can extend it now."""
        if self._open is not None and t - self._open.end > self._s.hangover_s:
            return self.close()
        return None

    def close(self) -> Burst | None:
        """Close the open burst (a state change or the end): kept only if long enough."""
        current, self._open = self._open, None
        if current is None or current.voiced_s < self._s.min_burst_s - 1e-9:
            return None
        return Burst(current.segment, current.start, current.end)

    def provisional(self) -> Burst | None:
        """The open burst as it stands, if it is already long enough to count."""
        current = self._open
        if current is None or current.voiced_s < self._s.min_burst_s - 1e-9:
            return None
        return Burst(current.segment, current.start, current.end)
