"""Small helpers on sorted interval lists."""

from __future__ import annotations

from collections.abc import Iterable

Interval = tuple[float, float]


def union(items: Iterable[Interval]) -> list[Interval]:
    """Sorted, non-overlapping union."""
    out: list[Interval] = []
    for a, b in sorted(items):
        if out and a <= out[-1][1]:
            if b > out[-1][1]:
                out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


def bridge(items: Iterable[Interval], gap: float) -> list[Interval]:
    """Union, also joining intervals separated by at most `gap`."""
    out: list[Interval] = []
    for a, b in sorted(items):
        if out and a - out[-1][1] <= gap + 1e-9:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def clip(items: Iterable[Interval], lo: float, hi: float) -> list[Interval]:
    """The parts of each interval inside [lo, hi)."""
    return [(max(a, lo), min(b, hi)) for a, b in items if min(b, hi) > max(a, lo)]


def length(items: Iterable[Interval]) -> float:
    """Total length (of intervals assumed disjoint)."""
    return sum(b - a for a, b in items)


def intersection(xs: list[Interval], ys: list[Interval]) -> list[Interval]:
    """Intersection of two sorted disjoint lists."""
    out: list[Interval] = []
    i = j = 0
    while i < len(xs) and j < len(ys):
        a, b = max(xs[i][0], ys[j][0]), min(xs[i][1], ys[j][1])
        if b > a:
            out.append((a, b))
        if xs[i][1] < ys[j][1]:
            i += 1
        else:
            j += 1
    return out


def at_least_two(lists: list[list[Interval]]) -> list[Interval]:
    """Where at least two of the (each disjoint) lists cover the time."""
    edges = sorted(
        [(a, 1) for xs in lists for a, _ in xs] + [(b, -1) for xs in lists for _, b in xs]
    )
    out: list[Interval] = []
    depth, since = 0, 0.0
    for t, step in edges:
        if depth < 2 <= depth + step:
            since = t
        elif depth >= 2 > depth + step and t > since:
            out.append((since, t))
        depth += step
    return union(out)
