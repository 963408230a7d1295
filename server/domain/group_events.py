"""Events of the peer-led session and the facilitators' console: the plan, go-rounds,
feedback and reactions, signals. `events.Event` includes them."""

from __future__ import annotations

from dataclasses import dataclass

from .actor import Actor


@dataclass(frozen=True)
class PlanChanged:
    """The session plan changed: laid out, moved on, a segment extended."""

    by: Actor


@dataclass(frozen=True)
class SegmentStarted:
    """A segment of the plan started."""

    index: int
    title: str
    by: Actor


@dataclass(frozen=True)
class SpotlightChanged:
    """Everyone now sees this person large (None: nobody)."""

    participant_id: str | None
    by: Actor


@dataclass(frozen=True)
class TechHelpRequested:
    """Someone has a technical problem (facilitators only)."""

    participant: Actor
    at: float


@dataclass(frozen=True)
class SignalDismissed:
    """A facilitator handled one of the facilitators' signals."""

    signal_id: str
    by: Actor


@dataclass(frozen=True)
class WaitingRoomMessage:
    """A facilitator's message to everyone in the waiting room."""

    text: str
    by: Actor
    at: float


@dataclass(frozen=True)
class FeedbackSent:
    """Supportive feedback for the leaders of a segment (private to them and the
    facilitators; relayed, not stored)."""

    segment: int
    leaders: tuple[str, ...]
    sender: Actor
    kind: str
    text: str
    at: float


@dataclass(frozen=True)
class Reacted:
    """Someone reacted (thank you, me too, clap, heart): shown briefly on their tile."""

    participant_id: str
    room: str
    reaction: str


@dataclass(frozen=True)
class ReactionsSettingChanged:
    """Reactions were turned on or off for the session."""

    enabled: bool
    by: Actor


@dataclass(frozen=True)
class RoundStarted:
    """A go-round started in a room."""

    room: str
    by: Actor


@dataclass(frozen=True)
class RoundChanged:
    """The floor moved in a room's go-round (or the round is over)."""

    room: str


@dataclass(frozen=True)
class RoundEnded:
    """A room's go-round was closed (by a facilitator, or the room closed: by None)."""

    room: str
    by: Actor | None
