"""A session plan as state: the segments in order (check-in, topic, breakouts,
reflection, closing, a break...), which one is running and since when, who leads
each, and who led what (for fair rotation). The commands are in `planning.py`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

SEGMENT_KINDS = ("check-in", "topic", "breakouts", "reflection", "closing", "break", "other")
MAX_SEGMENTS = 20
MAX_SEGMENT_TITLE = 60
MAX_TOPIC = 200
MAX_LEADERS = 3
MIN_SEGMENT_S = 60.0
MAX_SEGMENT_S = 4 * 3600.0
MIN_EXTEND_S = 30.0
MAX_EXTEND_S = 1800.0


@dataclass
class Segment:
    """One part of the session; `state` is upcoming, current, done or skipped."""

    title: str
    kind: str
    planned_s: float
    topic: str = ""
    leaders: tuple[str, ...] = ()
    state: str = "upcoming"
    started_at: float | None = None
    extended_s: float = 0.0

    @property
    def ends_at(self) -> float | None:
        """When a running segment is planned to end."""
        if self.started_at is None:
            return None
        return self.started_at + self.planned_s + self.extended_s

    def to_record(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "title": self.title,
            "kind": self.kind,
            "planned_s": self.planned_s,
            "topic": self.topic,
            "leaders": list(self.leaders),
            "state": self.state,
            "started_at": self.started_at,
            "extended_s": self.extended_s,
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Segment:
        """Rebuild from `to_record`."""
        started = record.get("started_at")
        return cls(
            str(record["title"]),
            str(record["kind"]),
            float(record["planned_s"]),
            str(record.get("topic", "")),
            tuple(str(p) for p in record.get("leaders", [])),
            str(record.get("state", "upcoming")),
            None if started is None else float(started),
            float(record.get("extended_s", 0.0)),
        )


@dataclass(frozen=True)
class LeadRecord:
    """Someone led (or co-led) a segment: what kind, and when."""

    participant_id: str
    kind: str
    title: str
    at: float

    def to_record(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"participant": self.participant_id, "kind": self.kind, "title": self.title,
                "at": self.at}  # fmt: skip


@dataclass
class SessionPlan:
    """The plan of one session."""

    segments: list[Segment] = field(default_factory=list)
    current: int | None = None
    # Whether the leader of the running segment may move the session on or extend it.
    leaders_may_advance: bool = False
    # Who everyone sees large now (None: nobody).
    spotlight: str | None = None
    led: list[LeadRecord] = field(default_factory=list)
    # "sender:segment" of the feedback sent so far: one each per segment.
    feedback_from: list[str] = field(default_factory=list)

    @property
    def started(self) -> bool:
        """Whether any segment has started."""
        return any(s.state != "upcoming" for s in self.segments)

    @property
    def running(self) -> Segment | None:
        """The segment in progress."""
        return None if self.current is None else self.segments[self.current]

    def to_record(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "segments": [s.to_record() for s in self.segments],
            "current": self.current,
            "leaders_may_advance": self.leaders_may_advance,
            "spotlight": self.spotlight,
            "led": [r.to_record() for r in self.led],
            "feedback_from": list(self.feedback_from),
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any] | None) -> SessionPlan:
        """Rebuild from `to_record` (None: no plan)."""
        if not record:
            return cls()
        current = record.get("current")
        spotlight = record.get("spotlight")
        return cls(
            [Segment.from_record(s) for s in record.get("segments", [])],
            None if current is None else int(current),
            bool(record.get("leaders_may_advance", False)),
            None if spotlight is None else str(spotlight),
            [
                LeadRecord(str(r["participant"]), str(r["kind"]), str(r["title"]), float(r["at"]))
                for r in record.get("led", [])
            ],
            [str(k) for k in record.get("feedback_from", [])],
        )
