"""Counts of aiortc's VP8 encodes and decodes: an SFU should keep both at zero.

Touches `aiortc.codecs.vpx.Vp8Encoder.encode` and `Vp8Decoder.decode`, wrapped once
per process (aiortc>=1.16,<1.17, pinned in pyproject.toml; checked by
tests/media/test_aiortc_hooks.py).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from aiortc.codecs import vpx


@dataclass
class CodecCounters:
    """How often this process encoded or decoded video; an SFU should keep both at zero."""

    video_encodes: int = 0
    video_decodes: int = 0


_counters: CodecCounters | None = None
_counters_lock = threading.Lock()


def count_video_codec_use() -> CodecCounters:
    """Count every VP8 encode and decode aiortc does in this process (installed once)."""
    global _counters
    with _counters_lock:
        if _counters is not None:
            return _counters
        counters = CodecCounters()
        encode = vpx.Vp8Encoder.encode
        decode = vpx.Vp8Decoder.decode

        def counted_encode(self: Any, frame: Any, force_keyframe: bool = False) -> Any:
            counters.video_encodes += 1
            return encode(self, frame, force_keyframe)

        def counted_decode(self: Any, encoded_frame: Any) -> Any:
            counters.video_decodes += 1
            return decode(self, encoded_frame)

        vpx.Vp8Encoder.encode = counted_encode  # type: ignore[method-assign]
        vpx.Vp8Decoder.decode = counted_decode  # type: ignore[method-assign]
        _counters = counters
        return counters
