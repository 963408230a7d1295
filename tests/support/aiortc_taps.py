"""Taps into aiortc internals that only tests and benchmarks use.

- a receiver's decoder queue, to take each reassembled *encoded* frame (after the
  jitter buffer, before the decoder): the test clients and the load generator;
- a sender's keyframe flag, set when the far side sends PLI/FIR (test clients).

Touches `RTCRtpReceiver.__decoder_queue`, `__decoder_thread` and
`RTCRtpSender.__force_keyframe` (aiortc>=1.16,<1.17, pinned in pyproject.toml;
checked by tests/media/test_aiortc_hooks.py). The server's own hooks are in
media/hooks/.
"""

from __future__ import annotations

import queue
from collections.abc import Callable
from typing import Any

from aiortc import RTCRtpReceiver, RTCRtpSender
from aiortc.rtcrtpparameters import RTCRtpCodecParameters

EncodedFrameSink = Callable[[bytes, int], None]
"""Called on the event loop with (frame bytes, media timestamp) for each reassembled frame."""

_DECODER_QUEUE = "_RTCRtpReceiver__decoder_queue"
_FORCE_KEYFRAME = "_RTCRtpSender__force_keyframe"


class _TapQueue:
    """Stands in for a receiver's decoder queue and diverts frames to a sink.

    aiortc's decoder thread blocks on `get()`; it only ever sees the stop marker
    (None), unless decoding is wanted too, so no video is ever decoded.
    """

    def __init__(self, sink: EncodedFrameSink, keep_decoding: bool) -> None:
        self._sink = sink
        self._keep_decoding = keep_decoding
        self._to_decoder: queue.Queue[Any] = queue.Queue()

    def put(self, task: tuple[RTCRtpCodecParameters, Any] | None) -> None:
        if task is None:
            self._to_decoder.put(None)
            return
        _codec, frame = task
        self._sink(frame.data, frame.timestamp)
        if self._keep_decoding:
            self._to_decoder.put(task)

    def get(self) -> Any:
        return self._to_decoder.get()


def tap_encoded_frames(
    receiver: RTCRtpReceiver, sink: EncodedFrameSink, keep_decoding: bool = False
) -> None:
    """Send each encoded frame the receiver reassembles to `sink` instead of its decoder.

    Must be called before the receiver starts (before the answer is applied).
    """
    current = getattr(receiver, _DECODER_QUEUE, None)
    if not isinstance(current, queue.Queue | _TapQueue):
        raise RuntimeError("aiortc changed: RTCRtpReceiver has no decoder queue to tap")
    if getattr(receiver, "_RTCRtpReceiver__decoder_thread", None) is not None:
        raise RuntimeError("tap_encoded_frames: the receiver has already started")
    setattr(receiver, _DECODER_QUEUE, _TapQueue(sink, keep_decoding))


def take_keyframe_request(sender: RTCRtpSender) -> bool:
    """Whether the subscriber asked for a keyframe (PLI/FIR) since the last call."""
    if not hasattr(sender, _FORCE_KEYFRAME):
        raise RuntimeError("aiortc changed: RTCRtpSender has no keyframe flag")
    wanted = bool(getattr(sender, _FORCE_KEYFRAME))
    if wanted:
        setattr(sender, _FORCE_KEYFRAME, False)
    return wanted


def is_vp8_keyframe(frame: bytes) -> bool:
    """VP8 frame tag: bit 0 of the first byte is 0 for a key frame (RFC 6386, 9.1)."""
    return len(frame) > 0 and frame[0] & 0x01 == 0
