"""A person's state over time, so late frames are judged by the state at their time."""

from __future__ import annotations

from bisect import bisect_right, insort
from collections.abc import Iterator
from typing import Any

from .model import PersonState, TalkGroup


class Timeline:
    """State changes of one person, in time order; before the first, absent."""

    def __init__(self) -> None:
        self._times: list[float] = []
        self._states: list[PersonState] = []

    def change(self, t: float, **fields: Any) -> None:
        """From `t` on, the state is the state at `t` with `fields` replaced."""
        base = self.at(t)
        if base is None:
            base = PersonState(False, "", False, False, TalkGroup.PATIENT)
        new = base._replace(**fields)
        i = bisect_right(self._times, t)
        # Facts normally arrive in order; a late one is inserted and later changes keep
        # their own values (they were facts too).
        if i and self._times[i - 1] == t:
            self._states[i - 1] = new
            return
        insort(self._times, t)
        self._states.insert(i, new)

    def at(self, t: float) -> PersonState | None:
        """The state at time `t`, or None before the first fact."""
        i = bisect_right(self._times, t)
        return self._states[i - 1] if i else None

    def segment(self, t: float) -> float:
        """When the state holding at `t` began (talk never bridges across a change)."""
        i = bisect_right(self._times, t)
        return self._times[i - 1] if i else float("-inf")

    def latest(self) -> PersonState | None:
        """The current state."""
        return self._states[-1] if self._states else None

    def periods(self, until: float) -> Iterator[tuple[float, float, PersonState]]:
        """(start, end, state) for every stretch up to `until`."""
        for i, (t, state) in enumerate(zip(self._times, self._states, strict=True)):
            end = self._times[i + 1] if i + 1 < len(self._times) else until
            end = min(end, until)
            if end > t:
                yield t, end, state

    def present_s(self, lo: float, hi: float, room: str | None = None) -> float:
        """Seconds present within [lo, hi), in `room` or anywhere."""
        total = 0.0
        for a, b, state in self.periods(hi):
            if state.present and (room is None or state.room == room):
                total += max(0.0, min(b, hi) - max(a, lo))
        return total

    def first_present(self) -> float | None:
        """When this person first came in."""
        return next((t for t, _, s in self.periods(float("inf")) if s.present), None)

    def to_record(self) -> list[list[Any]]:
        """Compact JSON form."""
        return [
            [t, int(s.present), s.room, int(s.muted), int(s.presenting), s.group.value]
            for t, s in zip(self._times, self._states, strict=True)
        ]

    @classmethod
    def from_record(cls, rows: list[list[Any]]) -> Timeline:
        """Inverse of `to_record`."""
        timeline = cls()
        for t, present, room, muted, presenting, group in rows:
            timeline._times.append(float(t))
            timeline._states.append(
                PersonState(
                    bool(present), str(room), bool(muted), bool(presenting), TalkGroup(group)
                )
            )
        return timeline
