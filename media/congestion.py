"""Slow consumers: a subscriber that keeps losing video is degraded (its video paused,
its audio kept) instead of slowing the room, and probed again later.

Pure: the caller feeds, once a second, how many video packets went to the subscriber
and how many of them it reported lost (NACKed); time is passed in.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import Enum

log = logging.getLogger(__name__)


class VideoState(Enum):
    """Whether a subscriber receives video."""

    FLOWING = "flowing"
    PAUSED = "paused"
    PROBING = "probing"


@dataclass(frozen=True)
class CongestionSettings:
    """Thresholds of the guard; defaults suit a group call on consumer links."""

    # Loss (NACKed / sent video packets over a second) that counts as a bad second.
    bad_loss: float = 0.20
    # Bad seconds in a row before video is paused.
    bad_seconds: int = 4
    # Seconds with few packets do not say much: ignore them.
    min_packets: int = 20
    # First pause length; doubled after a failed probe, up to `max_hold_s`.
    hold_s: float = 8.0
    max_hold_s: float = 64.0
    # A probe that stays good this long restores the subscriber for good.
    probe_s: float = 10.0


class CongestionGuard:
    """One subscriber's video state machine (FLOWING -> PAUSED -> PROBING -> ...)."""

    def __init__(self, name: str, settings: CongestionSettings | None = None) -> None:
        self.name = name
        self.settings = settings or CongestionSettings()
        self.state = VideoState.FLOWING
        self._bad = 0
        self._hold_s = self.settings.hold_s
        self._since = 0.0

    @property
    def video_paused(self) -> bool:
        """Whether video should not be sent to this subscriber now."""
        return self.state is VideoState.PAUSED

    def update(self, now: float, sent: int, lost: int) -> bool:
        """One second's figures; returns True when the state changed."""
        s = self.settings
        if self.state is VideoState.PAUSED:
            if now - self._since >= self._hold_s:
                return self._move(VideoState.PROBING, now)
            return False
        if sent < s.min_packets:
            return False
        bad = lost / sent >= s.bad_loss
        self._bad = self._bad + 1 if bad else 0
        if self.state is VideoState.PROBING:
            if bad:
                # Still too lossy: back off longer each time.
                self._hold_s = min(self._hold_s * 2, s.max_hold_s)
                return self._move(VideoState.PAUSED, now)
            if now - self._since >= s.probe_s:
                self._hold_s = s.hold_s
                return self._move(VideoState.FLOWING, now)
            return False
        if self._bad >= s.bad_seconds:
            return self._move(VideoState.PAUSED, now)
        return False

    def _move(self, state: VideoState, now: float) -> bool:
        """The one transition; logs old -> new."""
        log.info("subscriber %s video: %s -> %s", self.name, self.state.value, state.value)
        self.state = state
        self._since = now
        self._bad = 0
        return True
