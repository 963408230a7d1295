"""Splitting people into breakout rooms: balanced counts, kept together or apart.

Pure: the caller passes the random generator, so a plan can be replayed in tests.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from .errors import UserError

ASSIGN_MODES = ("balanced", "random")
# Steps of the backtracking search, over all room sizes tried: sessions are small.
SEARCH_BUDGET = 20_000


@dataclass(frozen=True)
class AssignmentRequest:
    """Who goes into which rooms, and the constraints to respect."""

    people: Sequence[str]
    rooms: Sequence[str]
    mode: str = "random"
    # Each group stays in one room.
    together: Sequence[Sequence[str]] = ()
    # No two members of a group share a room.
    apart: Sequence[Sequence[str]] = ()


def plan_assignment(request: AssignmentRequest, rng: random.Random) -> dict[str, str]:
    """Person -> room, with room sizes as even as the `together` groups allow.

    `balanced` keeps the given order (people go round the rooms in turn); `random`
    shuffles first. Impossible constraints raise UserError saying which.
    """
    if request.mode not in ASSIGN_MODES:
        raise UserError(f"mode: must be one of {', '.join(ASSIGN_MODES)}")
    rooms = list(request.rooms)
    if not rooms:
        raise UserError("there are no breakout rooms to assign to")
    people = list(dict.fromkeys(request.people))
    known = set(people)
    units = _units(people, request.together, known)
    conflicts = _conflicts(units, request.apart, known, len(rooms))
    order = list(range(len(units)))
    if request.mode == "random":
        rng.shuffle(order)
    # Largest units first, so the small ones fill the gaps; order breaks ties.
    order.sort(key=lambda u: -len(units[u]))
    # Sizes as even as possible: the smallest room capacity that lets everything fit.
    even = -(-len(people) // len(rooms))  # ceil
    placed = None
    # One search budget for all capacities: an impossible plan fails fast, never
    # holding the session (and the process) for long.
    budget = [SEARCH_BUDGET]
    for capacity in range(max(even, max((len(u) for u in units), default=0)), len(people) + 1):
        placed = _place(order, units, conflicts, len(rooms), capacity, budget)
        if placed is not None or budget[0] < 0:
            break
    if placed is None:
        raise UserError("these together/apart choices cannot all be kept with this many rooms")
    return {person: rooms[placed[u]] for u, unit in enumerate(units) for person in unit}


def _units(
    people: list[str], together: Sequence[Sequence[str]], known: set[str]
) -> list[list[str]]:
    """Merge `together` groups (transitively) into units placed as one."""
    parent = {p: p for p in people}

    def root(p: str) -> str:
        while parent[p] != p:
            parent[p] = parent[parent[p]]
            p = parent[p]
        return p

    for group in together:
        members = _checked(group, known, "together")
        for other in members[1:]:
            parent[root(other)] = root(members[0])
    by_root: dict[str, list[str]] = {}
    for p in people:
        by_root.setdefault(root(p), []).append(p)
    return list(by_root.values())


def _conflicts(
    units: list[list[str]], apart: Sequence[Sequence[str]], known: set[str], room_count: int
) -> list[set[int]]:
    """For each unit, the units it may not share a room with."""
    unit_of = {p: i for i, unit in enumerate(units) for p in unit}
    conflicts: list[set[int]] = [set() for _ in units]
    for group in apart:
        members = _checked(group, known, "apart")
        ids = [unit_of[p] for p in members]
        if len(set(ids)) < len(ids):
            raise UserError("someone is asked to be both together with and apart from another")
        if len(ids) > room_count:
            raise UserError(f"{len(ids)} people cannot be kept apart in {room_count} rooms")
        for a in ids:
            conflicts[a].update(b for b in ids if b != a)
    return conflicts


def _checked(group: Sequence[str], known: set[str], what: str) -> list[str]:
    members = list(dict.fromkeys(group))
    unknown = [p for p in members if p not in known]
    if unknown:
        raise UserError(f"{what}: {unknown[0]} is not among the people being assigned")
    return members


def _place(
    order: list[int],
    units: list[list[str]],
    conflicts: list[set[int]],
    room_count: int,
    capacity: int,
    budget: list[int],
) -> dict[int, int] | None:
    """Backtracking: each unit into the emptiest room that fits; None if none works
    (or the shared `budget` of steps ran out)."""
    sizes = [0] * room_count
    placed: dict[int, int] = {}

    def fill(i: int) -> bool:
        if i == len(order):
            return True
        budget[0] -= 1
        if budget[0] < 0:
            return False
        unit = order[i]
        size = len(units[unit])
        taken = {placed[c] for c in conflicts[unit] if c in placed}
        candidates = sorted(range(room_count), key=lambda r: (sizes[r], r))
        for room in candidates:
            if room in taken or sizes[room] + size > capacity:
                continue
            placed[unit] = room
            sizes[room] += size
            if fill(i + 1):
                return True
            sizes[room] -= size
            del placed[unit]
        return False

    return placed if fill(0) else None
