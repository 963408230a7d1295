"""Balance of a group's talk: normalised Gini and normalised entropy of talk shares."""

from __future__ import annotations

import math
from collections.abc import Sequence


def gini(talk: Sequence[float]) -> float | None:
    """0 when everyone talks equally, 1 when one person does all the talk.

    G = sum_i sum_j |x_i - x_j| / (2 (N - 1) sum_i x_i); None for N < 2 or no talk.
    """
    n, total = len(talk), sum(talk)
    if n < 2 or total <= 0:
        return None
    # Sorted form of the double sum: sum_i (2i - n + 1) x_(i), 0-based i.
    ordered = sorted(talk)
    pairs = sum((2 * i - n + 1) * x for i, x in enumerate(ordered))
    return pairs / ((n - 1) * total)


def entropy(talk: Sequence[float]) -> float | None:
    """1 when everyone talks equally, 0 when one person does all the talk.

    H = -sum_i s_i ln s_i / ln N with s_i = x_i / sum x; None for N < 2 or no talk.
    """
    n, total = len(talk), sum(talk)
    if n < 2 or total <= 0:
        return None
    h = -sum((x / total) * math.log(x / total) for x in talk if x > 0)
    return h / math.log(n)
