"""Who may see what, cue text, the raised-hand order and a patient's own view."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from ..errors import NotPermitted
from ..roles import FACILITATORS, Role
from .cues import Cue, CueKind
from .metrics import SpeakingReport


class CueAudience(StrEnum):
    """Which cues a role sees."""

    ALL = "all"
    LED_ROOM = "led-room"
    NONE = "none"


# The audience rules as data: facilitators see every cue; a peer leader only those of
# the room they lead, and only while the therapist allows it; nobody else any.
CUE_AUDIENCE: Mapping[Role, CueAudience] = {
    Role.THERAPIST: CueAudience.ALL,
    Role.CO_FACILITATOR: CueAudience.ALL,
    Role.PEER_LEADER: CueAudience.LED_ROOM,
    Role.PATIENT: CueAudience.NONE,
    Role.OBSERVER: CueAudience.NONE,
    Role.CAPTIONER: CueAudience.NONE,
}


def may_see_cue(cue: Cue, role: Role, leads_room: str | None, leader_allowed: bool) -> bool:
    """Whether a viewer of `role` (leading `leads_room`, if any) may see `cue`."""
    audience = CUE_AUDIENCE[role]
    if audience is CueAudience.ALL:
        return True
    if audience is CueAudience.LED_ROOM:
        return leader_allowed and leads_room is not None and cue.room == leads_room
    return False


def _minutes(seconds: float) -> str:
    """A duration in plain words: "50 s" under a minute (never "0 min"), then whole
    minutes (never more than it was), then hours and minutes."""
    if seconds < 60:
        return f"{max(0, int(seconds))} s"
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest} min" if rest else f"{hours} h"


def render_cue(cue: Cue, name: str | None) -> str:
    """The cue as a sentence for the console; `name` is the person's display name."""
    who = name or "Someone"
    n = cue.numbers
    if cue.kind is CueKind.NOT_YET_SPOKEN:
        return f"{who} has not spoken yet (here for {_minutes(n['present_s'])})"
    if cue.kind is CueKind.QUIET_FOR_LONG:
        return f"{who} has not spoken for {_minutes(n['quiet_s'])}"
    if cue.kind is CueKind.DOMINATING:
        return (
            f"{who} has spoken {round(n['share'] * 100)}% of the patients' time in the last "
            f"{_minutes(n['window_s'])}, about {n['dominance']:.1f} times an equal share"
        )
    if cue.kind is CueKind.LONG_TURN:
        return f"{who} has been speaking for {_minutes(n['turn_s'])}"
    if cue.kind is CueKind.LOW_BALANCE:
        return (
            f"In the last {_minutes(n['window_s'])} a few people did most of the "
            f"patients' talking (balance {n['entropy']:.2f}, where 1 is everyone equal)"
        )
    share, window = round(n["share"] * 100), _minutes(n["window_s"])
    return f"Facilitators spoke {share}% of the time in the last {window}"


def hand_order(hands: Sequence[str], talk_s: Mapping[str, float]) -> list[str]:
    """Raised hands ordered by least talk time; ties keep the order of raising."""
    return sorted(hands, key=lambda person: talk_s.get(person, 0.0))


@dataclass(frozen=True)
class OwnTalk:
    """What a patient may see of the stats: their own talk time, nothing of others."""

    person_id: str
    talk_s: float
    window_talk_s: float
    window_s: float


def own_talk(report: SpeakingReport, viewer_id: str, viewer_role: Role, subject_id: str) -> OwnTalk:
    """One person's own talk time; only facilitators may ask about someone else."""
    if subject_id != viewer_id and viewer_role not in FACILITATORS:
        raise NotPermitted(f"a {viewer_role.value} may see only their own speaking time")
    whole = report.whole.session.people.get(subject_id)
    window = report.window.session.people.get(subject_id)
    return OwnTalk(
        subject_id,
        whole.talk_s if whole else 0.0,
        window.talk_s if window else 0.0,
        report.window.session.end - report.window.session.start,
    )
