"""Who did something, as events name them: an opaque id and a display name."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    """Who did something: opaque id plus the display name others see."""

    id: str
    name: str
