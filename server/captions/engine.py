"""The one hook: the interface every caption engine implements, and how the configured
engine is found (built-in name, import path or entry point)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Protocol, runtime_checkable

from ..config import CaptionSettings
from .model import CaptionOutput, EngineMetrics, SpeechSegment

CaptionSink = Callable[[CaptionOutput], None]
ENTRY_POINT_GROUP = "peercircle.caption_engines"


@runtime_checkable
class CaptionEngine(Protocol):
    """Speech segments of one speaker in, partial and final captions out (to the sink).

    `submit` never waits: an engine that falls behind merges or drops queued segments
    and counts it in `metrics`. Crashes surface as `EngineStatus` outputs, not
    exceptions; after `close` nothing more reaches the sink.
    """

    name: str

    async def start(self, sink: CaptionSink) -> None:
        """Begin work; captions and status changes go to `sink` from now on."""

    def submit(self, segment: SpeechSegment) -> None:
        """Queue a segment for captioning; returns at once."""

    def metrics(self) -> EngineMetrics:
        """Counters for /metrics."""

    async def close(self) -> None:
        """Stop work and release the worker."""


EngineFactory = Callable[[CaptionSettings], CaptionEngine]


class NoCaptions:
    """The engine of sessions without captions: takes nothing, says nothing."""

    name = "none"

    def __init__(self, settings: CaptionSettings | None = None) -> None:
        self._metrics = EngineMetrics()

    async def start(self, sink: CaptionSink) -> None:
        """Nothing to start."""

    def submit(self, segment: SpeechSegment) -> None:
        """Count and forget: audio goes nowhere."""
        self._metrics.submitted += 1
        self._metrics.dropped += 1

    def metrics(self) -> EngineMetrics:
        """Counters (everything submitted is dropped)."""
        return self._metrics

    async def close(self) -> None:
        """Nothing to stop."""


def _whisper(settings: CaptionSettings) -> CaptionEngine:
    from .whisper import whisper_engine

    return whisper_engine(settings)


def _external(settings: CaptionSettings) -> CaptionEngine:
    from .external import ExternalCaptionEngine

    return ExternalCaptionEngine(settings)


BUILT_IN: dict[str, EngineFactory] = {
    "none": NoCaptions,
    "whisper": _whisper,
    "external": _external,
}


def find_factory(name: str) -> EngineFactory:
    """The factory `name` refers to: a built-in, "package.module:callable", or an entry
    point in the group peercircle.caption_engines. ValueError says which was tried."""
    name = name.strip()
    if name in BUILT_IN:
        return BUILT_IN[name]
    if ":" in name:
        module_name, _, attr = name.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise ValueError(
                f"caption engine {name!r}: cannot import {module_name}: {exc}"
            ) from exc
        factory = getattr(module, attr, None)
        if not callable(factory):
            raise ValueError(f"caption engine {name!r}: {module_name} has no callable {attr}")
        return factory  # type: ignore[no-any-return]
    for point in entry_points(group=ENTRY_POINT_GROUP):
        if point.name == name:
            return point.load()  # type: ignore[no-any-return]
    raise ValueError(
        f"unknown caption engine {name!r}: use one of {sorted(BUILT_IN)}, "
        f"'package.module:factory', or an entry point in {ENTRY_POINT_GROUP}"
    )


def load_engine(settings: CaptionSettings) -> CaptionEngine:
    """Build the engine the settings name; ValueError if it is unknown or malformed."""
    engine = find_factory(settings.engine)(settings)
    if not isinstance(engine, CaptionEngine):
        raise ValueError(f"caption engine {settings.engine!r} does not implement CaptionEngine")
    return engine
