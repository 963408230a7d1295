"""Engines a test server can be configured with (PEERCIRCLE_CAPTION_ENGINE=module:factory)."""

from __future__ import annotations

from server.captions import CaptionSettings, ProcessEngine


def crashing(settings: CaptionSettings) -> ProcessEngine:
    """The supervised worker with a transcriber that dies on every segment."""
    return ProcessEngine(
        "crashing", "tests.captions.transcribers:make", settings, {"crash": "always"}
    )
