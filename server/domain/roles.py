"""Roles and what each may do; the one place permissions are decided."""

from __future__ import annotations

from enum import StrEnum

from .errors import NotPermitted


class Role(StrEnum):
    """A participant's role, bound to their verified join token."""

    THERAPIST = "therapist"
    CO_FACILITATOR = "co-facilitator"
    PEER_LEADER = "peer-leader"
    PATIENT = "patient"
    OBSERVER = "observer"
    CAPTIONER = "captioner"


class Action(StrEnum):
    """Things a participant may try to do."""

    JOIN = "join"
    PUBLISH_MIC = "publish-mic"
    PUBLISH_CAMERA = "publish-camera"
    END_SESSION = "end-session"


FACILITATORS = frozenset({Role.THERAPIST, Role.CO_FACILITATOR})

_ALLOWED: dict[Role, frozenset[Action]] = {
    Role.THERAPIST: frozenset(Action),
    Role.CO_FACILITATOR: frozenset(Action) - {Action.END_SESSION},
    Role.PEER_LEADER: frozenset({Action.JOIN, Action.PUBLISH_MIC, Action.PUBLISH_CAMERA}),
    Role.PATIENT: frozenset({Action.JOIN, Action.PUBLISH_MIC, Action.PUBLISH_CAMERA}),
    Role.OBSERVER: frozenset({Action.JOIN}),
    # A captioner is a service: it never joins the call as a person.
    Role.CAPTIONER: frozenset(),
}


def may(role: Role, action: Action) -> bool:
    """Whether `role` may perform `action`."""
    return action in _ALLOWED[role]


def require(role: Role, action: Action) -> None:
    """Raise NotPermitted unless `role` may perform `action`."""
    if not may(role, action):
        raise NotPermitted(f"a {role.value} may not {action.value.replace('-', ' ')}")
