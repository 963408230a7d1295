"""The ledger's inputs and its unit of account: frames in, spans of talk out."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

from ..voice import VoiceFrame


class TalkGroup(StrEnum):
    """Whose talk forms the baseline: facilitators' talk is reported apart."""

    FACILITATOR = "facilitator"
    PATIENT = "patient"


class Category(StrEnum):
    """What a stretch of talk counts as. A facilitator presenting is facilitator talk."""

    PATIENT = "patient"
    FACILITATOR = "facilitator"
    PRESENTER = "presenter"


@dataclass(frozen=True)
class FrameBatch:
    """Consecutive frames of one person's mic, as the media tap delivers them."""

    person_id: str
    frames: tuple[VoiceFrame, ...]


class Span(NamedTuple):
    """Talk from `start` to `end`; `talk` <= end - start once old spans are merged."""

    start: float
    end: float
    talk: float

    def talk_within(self, lo: float, hi: float) -> float:
        """Talk inside [lo, hi), pro rata for merged spans."""
        a, b = max(self.start, lo), min(self.end, hi)
        if b <= a:
            return 0.0
        length = self.end - self.start
        return self.talk if b - a >= length else self.talk * (b - a) / length


class PersonState(NamedTuple):
    """What matters of a person at one time: presence, room, mic, presenting, group."""

    present: bool
    room: str
    muted: bool
    presenting: bool
    group: TalkGroup

    @property
    def category(self) -> Category:
        """How talk in this state is counted."""
        if self.group is TalkGroup.FACILITATOR:
            return Category.FACILITATOR
        return Category.PRESENTER if self.presenting else Category.PATIENT

    @property
    def audible(self) -> bool:
        """Whether this mic may accrue talk (present and not muted)."""
        return self.present and not self.muted
