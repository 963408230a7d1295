"""Splitting people into breakout rooms."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from server.domain.assignment import AssignmentRequest, plan_assignment
from server.domain.errors import UserError

PEOPLE = [f"p{i}" for i in range(1, 11)]
ROOMS = ["r1", "r2", "r3"]


def sizes(plan: dict[str, str]) -> list[int]:
    return sorted(Counter(plan.values()).values())


def test_balanced_goes_round_the_rooms_in_order() -> None:
    plan = plan_assignment(AssignmentRequest(PEOPLE[:6], ROOMS, "balanced"), random.Random(1))
    assert [plan[p] for p in PEOPLE[:6]] == ["r1", "r2", "r3", "r1", "r2", "r3"]


@pytest.mark.parametrize("seed", range(20))
def test_random_plans_are_as_even_as_possible_and_cover_everyone(seed: int) -> None:
    plan = plan_assignment(AssignmentRequest(PEOPLE, ROOMS, "random"), random.Random(seed))
    assert set(plan) == set(PEOPLE)
    assert sizes(plan) == [3, 3, 4]


def test_random_plans_differ_between_seeds() -> None:
    plans = {
        tuple(sorted(plan_assignment(AssignmentRequest(PEOPLE, ROOMS), random.Random(s)).items()))
        for s in range(5)
    }
    assert len(plans) > 1


@pytest.mark.parametrize("seed", range(20))
def test_together_and_apart_are_kept(seed: int) -> None:
    request = AssignmentRequest(
        PEOPLE,
        ROOMS,
        "random",
        together=[["p1", "p2"], ["p2", "p3"], ["p7", "p8"]],
        apart=[["p1", "p4", "p5"], ["p7", "p9"]],
    )
    plan = plan_assignment(request, random.Random(seed))
    assert plan["p1"] == plan["p2"] == plan["p3"]
    assert plan["p7"] == plan["p8"]
    assert len({plan["p1"], plan["p4"], plan["p5"]}) == 3
    assert plan["p7"] != plan["p9"]
    assert sizes(plan) == [3, 3, 4]


def test_groups_that_cannot_be_even_are_placed_as_evenly_as_they_allow() -> None:
    request = AssignmentRequest(
        PEOPLE[:6], ["r1", "r2"], "balanced", together=[PEOPLE[0:2], PEOPLE[2:4], PEOPLE[4:6]]
    )
    assert sizes(plan_assignment(request, random.Random(0))) == [2, 4]


def test_apart_from_someone_one_must_be_with_is_a_clear_error() -> None:
    request = AssignmentRequest(PEOPLE, ROOMS, together=[["p1", "p2"]], apart=[["p2", "p1"]])
    with pytest.raises(UserError, match="both together with and apart"):
        plan_assignment(request, random.Random(0))


def test_more_people_kept_apart_than_rooms_is_a_clear_error() -> None:
    request = AssignmentRequest(PEOPLE, ROOMS, apart=[["p1", "p2", "p3", "p4"]])
    with pytest.raises(UserError, match="4 people cannot be kept apart in 3 rooms"):
        plan_assignment(request, random.Random(0))


def test_apart_groups_that_jointly_cannot_fit_are_a_clear_error() -> None:
    # p1-p2 together, and both must be apart from p3 and from p4, with p3 and p4 apart:
    # three distinct rooms needed, only two exist.
    request = AssignmentRequest(
        PEOPLE[:4],
        ["r1", "r2"],
        together=[["p1", "p2"]],
        apart=[["p1", "p3"], ["p2", "p4"], ["p3", "p4"]],
    )
    with pytest.raises(UserError, match="cannot all be kept"):
        plan_assignment(request, random.Random(0))


def test_unknown_people_and_modes_are_refused() -> None:
    with pytest.raises(UserError, match="p99 is not among"):
        plan_assignment(
            AssignmentRequest(PEOPLE, ROOMS, together=[["p1", "p99"]]), random.Random(0)
        )
    with pytest.raises(UserError, match="mode"):
        plan_assignment(AssignmentRequest(PEOPLE, ROOMS, "alphabetical"), random.Random(0))
    with pytest.raises(UserError, match="no breakout rooms"):
        plan_assignment(AssignmentRequest(PEOPLE, []), random.Random(0))
