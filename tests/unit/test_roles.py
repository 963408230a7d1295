"""Every cell of the role x action table, allowed and denied."""

from __future__ import annotations

import pytest

from server.domain.errors import NotPermitted
from server.domain.roles import FACILITATORS, Action, Role, may, require

J, M, C, E = Action.JOIN, Action.PUBLISH_MIC, Action.PUBLISH_CAMERA, Action.END_SESSION

ALLOWED: dict[Role, set[Action]] = {
    Role.THERAPIST: {J, M, C, E},
    Role.CO_FACILITATOR: {J, M, C},
    Role.PEER_LEADER: {J, M, C},
    Role.PATIENT: {J, M, C},
    Role.OBSERVER: {J},
    Role.CAPTIONER: set(),
}

CELLS = [(role, action) for role in Role for action in Action]


def test_the_table_covers_every_role_and_action() -> None:
    # A new role or action must be added here, with its cells decided.
    assert set(ALLOWED) == set(Role)
    assert set(Action) == {J, M, C, E}


@pytest.mark.parametrize(("role", "action"), CELLS, ids=[f"{r}-{a}" for r, a in CELLS])
def test_may(role: Role, action: Action) -> None:
    assert may(role, action) is (action in ALLOWED[role])


@pytest.mark.parametrize(("role", "action"), CELLS, ids=[f"{r}-{a}" for r, a in CELLS])
def test_require(role: Role, action: Action) -> None:
    if action in ALLOWED[role]:
        require(role, action)
    else:
        with pytest.raises(NotPermitted) as raised:
            require(role, action)
        assert raised.value.code == "not_permitted"
        assert role.value in raised.value.message


def test_facilitators() -> None:
    assert FACILITATORS == {Role.THERAPIST, Role.CO_FACILITATOR}


def test_role_values_are_the_wire_names() -> None:
    assert {r.value for r in Role} == {
        "therapist",
        "co-facilitator",
        "peer-leader",
        "patient",
        "observer",
        "captioner",
    }
