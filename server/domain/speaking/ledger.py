"""The speaking ledger: frames and session facts in, spans of talk per person per room out."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .attribution import Attributor, TypicalLevel
from .model import Category, FrameBatch, PersonState, Span, TalkGroup
from .settings import SpeakingSettings
from .smoothing import Burst, Smoother
from .timeline import Timeline

RECORD_VERSION = 1
# Folding old spans is cheap but not free: at most once a minute of media time.
_FOLD_EVERY_S = 60.0

SpanKey = tuple[str, Category]


class SpeakingLedger:
    """Who spoke when, per person and room. Stats belong to the person, not the
    connection: reconnects and room moves only add facts to their timeline.

    Time is the shared media clock of the frames, passed in; facts carry their time.
    """

    def __init__(self, settings: SpeakingSettings | None = None) -> None:
        self.settings = settings or SpeakingSettings()
        self._timelines: dict[str, Timeline] = {}
        self._smoothers: dict[str, Smoother] = {}
        self._spans: dict[str, dict[SpanKey, list[Span]]] = {}
        self._attributor = Attributor(self.settings)
        self._folded_at = float("-inf")

    # -- facts from the session ------------------------------------------------

    def joined(
        self, person_id: str, t: float, room: str, group: TalkGroup, muted: bool = False
    ) -> None:
        """The person is in the call at `t` (first time or back after a drop)."""
        self._timeline(person_id).change(t, present=True, room=room, group=group, muted=muted)

    def left(self, person_id: str, t: float) -> None:
        """The person dropped or left at `t`; their mic accrues nothing until they are back."""
        self._timeline(person_id).change(t, present=False)

    def moved(self, person_id: str, t: float, room: str) -> None:
        """The person went to another room (a breakout or back to the main room)."""
        self._timeline(person_id).change(t, room=room)

    def set_group(self, person_id: str, t: float, group: TalkGroup) -> None:
        """The person's role group changed."""
        self._timeline(person_id).change(t, group=group)

    def set_muted(self, person_id: str, t: float, muted: bool) -> None:
        """The person's mic was muted or unmuted at `t`."""
        self._timeline(person_id).change(t, muted=muted)

    def set_presenting(self, person_id: str, t: float, presenting: bool) -> None:
        """The person started or stopped presenting at `t`."""
        self._timeline(person_id).change(t, presenting=presenting)

    # -- audio -------------------------------------------------------------------

    def add_frames(self, batch: FrameBatch) -> None:
        """Buffer a batch of one mic's VAD frames; `advance` decides them."""
        self._attributor.add(batch.person_id, batch.frames)

    def advance(self, now: float) -> None:
        """Decide every frame all mics have passed (or the lag timeout has) by `now`."""
        touched: set[str] = set()
        for person_id, start, credited in self._attributor.decide(now, self._timelines):
            touched.add(person_id)
            if credited:
                segment = self._timelines[person_id].segment(start)
                self._keep(person_id, self._smoother(person_id).voiced(segment, start))
        for person_id, smoother in self._smoothers.items():
            self._keep(person_id, smoother.passed(self.horizon))
        if self.horizon - self._folded_at >= _FOLD_EVERY_S:
            self._fold(self.horizon - self.settings.fold_after_s)
            self._folded_at = self.horizon

    # -- queries -------------------------------------------------------------------

    @property
    def horizon(self) -> float:
        """Media time up to which every frame has been decided."""
        return self._attributor.horizon

    def people(self) -> list[str]:
        """Everyone the ledger has heard of, in order of first fact."""
        return list(self._timelines)

    def timeline(self, person_id: str) -> Timeline:
        """One person's state over time."""
        return self._timelines[person_id]

    def state(self, person_id: str) -> PersonState | None:
        """A person's current state."""
        timeline = self._timelines.get(person_id)
        return timeline.latest() if timeline else None

    def spans(self, person_id: str) -> dict[SpanKey, list[Span]]:
        """A person's talk by (room, category), each in time order, including the
        burst still open if it is already long enough to count."""
        out = {key: list(spans) for key, spans in self._spans.get(person_id, {}).items()}
        smoother = self._smoothers.get(person_id)
        burst = smoother.provisional() if smoother else None
        if burst is not None:
            key = self._key(person_id, burst)
            out.setdefault(key, []).append(Span(burst.start, burst.end, burst.end - burst.start))
        return out

    def typical_level(self, person_id: str) -> TypicalLevel | None:
        """The learned speech level of a person's mic (for diagnostics and the bench)."""
        return self._attributor.typical.get(person_id)

    def echo_frames(self, person_id: str) -> int:
        """Voiced frames of this mic not credited because another mic explained them."""
        return self._attributor.echo_frames.get(person_id, 0)

    # -- record ------------------------------------------------------------------

    def to_record(self) -> dict[str, Any]:
        """A JSON-able record for the store; frames not yet decided are not in it."""
        people: dict[str, Any] = {}
        for person_id, timeline in self._timelines.items():
            spans: dict[str, dict[str, list[float]]] = {}
            for (room, category), items in sorted(self.spans(person_id).items()):
                spans.setdefault(room, {})[category.value] = [x for sp in items for x in sp]
            typical = self._attributor.typical.get(person_id)
            people[person_id] = {
                "tl": timeline.to_record(),
                "sp": spans,
                "typ": [typical.dbfs, typical.frames] if typical else None,
            }
        return {"v": RECORD_VERSION, "horizon": self.horizon, "people": people}

    @classmethod
    def from_record(
        cls, record: Mapping[str, Any], settings: SpeakingSettings | None = None
    ) -> SpeakingLedger:
        """Rebuild a ledger from `to_record`; an open burst comes back closed."""
        if record.get("v") != RECORD_VERSION:
            raise ValueError(f"unknown speaking record version {record.get('v')!r}")
        ledger = cls(settings)
        ledger._attributor.horizon = float(record["horizon"])
        for person_id, data in record["people"].items():
            ledger._timelines[person_id] = Timeline.from_record(data["tl"])
            spans = ledger._spans.setdefault(person_id, {})
            for room, by_category in data["sp"].items():
                for category, flat in by_category.items():
                    spans[(room, Category(category))] = [
                        Span(*map(float, flat[i : i + 3])) for i in range(0, len(flat), 3)
                    ]
            if data["typ"] is not None:
                ledger._attributor.typical[person_id] = TypicalLevel(
                    float(data["typ"][0]), int(data["typ"][1])
                )
        return ledger

    # -- inside --------------------------------------------------------------------

    def _timeline(self, person_id: str) -> Timeline:
        return self._timelines.setdefault(person_id, Timeline())

    def _smoother(self, person_id: str) -> Smoother:
        return self._smoothers.setdefault(person_id, Smoother(self.settings))

    def _key(self, person_id: str, burst: Burst) -> SpanKey:
        state = self._timelines[person_id].at(burst.segment)
        assert state is not None, "bursts only come from frames with a state"
        return state.room, state.category

    def _keep(self, person_id: str, burst: Burst | None) -> None:
        if burst is None:
            return
        spans = self._spans.setdefault(person_id, {})
        items = spans.setdefault(self._key(person_id, burst), [])
        items.append(Span(burst.start, burst.end, burst.end - burst.start))
        items.sort()

    def _fold(self, before: float) -> None:
        """Merge spans that ended before `before` across gaps a turn bridges anyway:
        turns, their lengths and talk totals stay exact, the record stays small."""
        gap = self.settings.turn_gap_s
        for spans in self._spans.values():
            for key, items in spans.items():
                merged: list[Span] = []
                for sp in items:
                    last = merged[-1] if merged else None
                    if last is not None and sp.end < before and sp.start - last.end <= gap:
                        merged[-1] = Span(last.start, sp.end, last.talk + sp.talk)
                    else:
                        merged.append(sp)
                spans[key] = merged
