"""Events a session emits when it changes: plain frozen dataclasses."""

from __future__ import annotations

from dataclasses import dataclass

from .actor import Actor as Actor
from .group_events import (
    FeedbackSent as FeedbackSent,
)
from .group_events import (
    PlanChanged as PlanChanged,
)
from .group_events import (
    Reacted as Reacted,
)
from .group_events import (
    ReactionsSettingChanged as ReactionsSettingChanged,
)
from .group_events import (
    RoundChanged as RoundChanged,
)
from .group_events import (
    RoundEnded as RoundEnded,
)
from .group_events import (
    RoundStarted as RoundStarted,
)
from .group_events import (
    SegmentStarted as SegmentStarted,
)
from .group_events import (
    SignalDismissed as SignalDismissed,
)
from .group_events import (
    SpotlightChanged as SpotlightChanged,
)
from .group_events import (
    TechHelpRequested as TechHelpRequested,
)
from .group_events import (
    WaitingRoomMessage as WaitingRoomMessage,
)
from .model import CaptionerView, LinkView, ParticipantView, TrackView


@dataclass(frozen=True)
class ParticipantJoined:
    """Someone entered the call (first time, on admission, or after their grace ran out)."""

    participant: ParticipantView


@dataclass(frozen=True)
class ParticipantWaiting:
    """Someone is in the waiting room."""

    participant: ParticipantView


@dataclass(frozen=True)
class ParticipantAdmitted:
    """A facilitator let someone in from the waiting room."""

    participant_id: str
    by: Actor


@dataclass(frozen=True)
class ParticipantDenied:
    """A facilitator turned someone away from the waiting room."""

    participant_id: str
    by: Actor
    message: str


@dataclass(frozen=True)
class ParticipantUpdated:
    """A participant's visible state changed (mic, camera, connection)."""

    participant: ParticipantView


@dataclass(frozen=True)
class ParticipantRejoined:
    """Someone in the call joined again (a new connection, or a media restart): their
    media starts afresh; nothing others see has changed."""

    participant: ParticipantView


@dataclass(frozen=True)
class ParticipantLeft:
    """A participant is gone from the session (reason: left, timeout, removed, ended, denied)."""

    participant_id: str
    reason: str
    by: Actor | None = None


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
class LockChanged:
    """The session was locked or unlocked."""

    locked: bool
    by: Actor


@dataclass(frozen=True)
class Muted:
    """A moderator muted someone's mic; the server stopped forwarding it."""

    participant_id: str
    by: Actor


@dataclass(frozen=True)
class UnmuteRequested:
    """A moderator asked someone to unmute; they decide."""

    participant_id: str
    by: Actor


@dataclass(frozen=True)
class CameraStopped:
    """A moderator turned someone's camera off; the server stopped forwarding it."""

    participant_id: str
    by: Actor


@dataclass(frozen=True)
class HandsChanged:
    """The raised-hand queue changed: participant ids in order of raising."""

    queue: tuple[str, ...]
    by: Actor | None = None


@dataclass(frozen=True)
class ChatPosted:
    """A chat message, to the whole room or privately to the facilitators."""

    message_id: int
    sender: Actor
    to: str
    text: str
    at: float
    # The sender's room: a message "to the room" reaches only that room.
    room: str = "main"
    # A facilitator's private message to one participant ("participant"): whom.
    recipient: str | None = None


@dataclass(frozen=True)
class ChatSettingChanged:
    """Group chat was turned on or off."""

    enabled: bool
    by: Actor


@dataclass(frozen=True)
class BreakRequested:
    """A participant privately signalled that they need a break."""

    participant: Actor
    at: float


@dataclass(frozen=True)
class ShareRequested:
    """Someone asked to share their screen; facilitators decide."""

    participant: Actor


@dataclass(frozen=True)
class ShareAnswered:
    """A facilitator approved or declined a request (or granted the right unasked)."""

    participant_id: str
    granted: bool
    by: Actor


@dataclass(frozen=True)
class ShareEnded:
    """Someone's screen share was stopped by a facilitator or replaced; media must stop."""

    participant_id: str
    reason: str
    by: Actor | None = None


@dataclass(frozen=True)
class SharePolicyChanged:
    """A second presenter now replaces the one on screen, or waits for it to end."""

    policy: str
    by: Actor


@dataclass(frozen=True)
class SessionEnded:
    """The session is over for everyone."""

    session_id: str
    by: Actor | None = None


@dataclass(frozen=True)
class ParticipantMoved:
    """Someone went to another room (moved, visiting, or back when rooms closed)."""

    participant: ParticipantView
    from_room: str
    by: Actor | None = None


@dataclass(frozen=True)
class BreakoutsChanged:
    """The breakout rooms, plan, timer, leaders or settings changed."""

    by: Actor | None = None


@dataclass(frozen=True)
class BreakoutsOpened:
    """The breakout rooms opened; everyone planned went to their room."""

    by: Actor
    ends_at: float | None


@dataclass(frozen=True)
class BreakoutsClosed:
    """Everyone is back in the main room (reason: closed or timer)."""

    reason: str
    by: Actor | None = None


@dataclass(frozen=True)
class BreakoutWarning:
    """The breakout timer runs out soon."""

    seconds_left: float


@dataclass(frozen=True)
class BreakoutBroadcast:
    """A facilitator's message to every room."""

    sender: Actor
    text: str
    at: float


@dataclass(frozen=True)
class HelpRequested:
    """Someone in a breakout room asked for a facilitator."""

    participant: Actor
    room: str
    room_name: str
    at: float


@dataclass(frozen=True)
class CaptionsChanged:
    """A facilitator switched captions (or keeping a transcript) on or off."""

    enabled: bool
    transcript: bool
    by: Actor


@dataclass(frozen=True)
class CaptionConsentChanged:
    """A participant declined captioning of their speech, or accepted it again."""

    participant_id: str
    declined: bool


@dataclass(frozen=True)
class SpeakingOptionsChanged:
    """A facilitator let peer leaders see the speaking cues of the room they lead, or not."""

    leaders_see_room: bool
    by: Actor


@dataclass(frozen=True)
class LinkMinted:
    """A join link was minted for the session (the admin API)."""

    link: LinkView


@dataclass(frozen=True)
class LinkRevoked:
    """Every link naming this participant id stops working (by a facilitator, or the
    admin API with no actor); its holder, if connected, is disconnected."""

    participant_id: str
    by: Actor | None = None


@dataclass(frozen=True)
class CaptionerConnected:
    """A captioner service connected: it hears the session's consenting speakers."""

    captioner: CaptionerView


@dataclass(frozen=True)
class CaptionerLeft:
    """A captioner service is gone (reason: left, revoked); it hears nothing more."""

    participant_id: str
    reason: str
    by: Actor | None = None


Event = (
    ParticipantJoined
    | TechHelpRequested
    | SignalDismissed
    | WaitingRoomMessage
    | FeedbackSent
    | Reacted
    | ReactionsSettingChanged
    | PlanChanged
    | SegmentStarted
    | SpotlightChanged
    | RoundStarted
    | RoundChanged
    | RoundEnded
    | ParticipantRejoined
    | ParticipantWaiting
    | ParticipantAdmitted
    | ParticipantDenied
    | ParticipantUpdated
    | ParticipantLeft
    | TrackPublished
    | TrackUnpublished
    | LockChanged
    | Muted
    | UnmuteRequested
    | CameraStopped
    | HandsChanged
    | ChatPosted
    | ChatSettingChanged
    | BreakRequested
    | ShareRequested
    | ShareAnswered
    | ShareEnded
    | SharePolicyChanged
    | SessionEnded
    | ParticipantMoved
    | BreakoutsChanged
    | BreakoutsOpened
    | BreakoutsClosed
    | BreakoutWarning
    | BreakoutBroadcast
    | HelpRequested
    | CaptionsChanged
    | CaptionConsentChanged
    | SpeakingOptionsChanged
    | LinkMinted
    | LinkRevoked
    | CaptionerConnected
    | CaptionerLeft
)
