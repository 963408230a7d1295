"""Events a session emits when it changes: plain frozen dataclasses."""

from __future__ import annotations

from dataclasses import dataclass

from .model import ParticipantView, TrackView


@dataclass(frozen=True)
class ParticipantJoined:
    """Someone entered the session (first time, or after their grace period ran out)."""

    participant: ParticipantView


@dataclass(frozen=True)
class ParticipantUpdated:
    """A participant's visible state changed (mic, camera, connection)."""

    participant: ParticipantView


@dataclass(frozen=True)
class ParticipantLeft:
    """A participant is gone from the session."""

    participant_id: str
    reason: str


@dataclass(frozen=True)
class TrackPublished:
    """The server now receives this track and forwards it."""

    track: TrackView


@dataclass(frozen=True)
class TrackUnpublished:
    """The track is gone; nobody receives it any more."""

    track_id: str
    participant_id: str


@dataclass(frozen=True)
class SessionEnded:
    """The session is over for everyone."""

    session_id: str


Event = (
    ParticipantJoined
    | ParticipantUpdated
    | ParticipantLeft
    | TrackPublished
    | TrackUnpublished
    | SessionEnded
)
