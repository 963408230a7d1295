"""Test transcribers run inside the caption worker process (hand-written fakes of a
speech-to-text model, not of our classes): echo, slow, crash, hang."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from pathlib import Path


class FakeTranscriber:
    """Answers "<n> bytes" for each request; options make it slow, crash or hang.

    - delay_s: sleep this long per request (a slow engine)
    - crash: "always", or "once" (crash unless the file `marker` exists, then create it)
    - hang: "always": never answer
    """

    def __init__(self, options: Mapping[str, str]) -> None:
        self.options = options

    def transcribe(self, audio: bytes) -> str:
        """Echo the audio's length, after misbehaving as asked."""
        crash = self.options.get("crash")
        if crash == "always":
            os._exit(3)
        if crash == "once":
            marker = Path(self.options["marker"])
            if not marker.exists():
                marker.touch()
                os._exit(3)
        if self.options.get("hang") == "always":
            time.sleep(3600)
        time.sleep(float(self.options.get("delay_s", "0")))
        return f"{len(audio)} bytes"


def make(options: Mapping[str, str]) -> FakeTranscriber:
    """Worker factory."""
    return FakeTranscriber(options)


def make_broken(options: Mapping[str, str]) -> FakeTranscriber:
    """A factory that fails while loading, like a missing model file."""
    raise FileNotFoundError("no model here")
