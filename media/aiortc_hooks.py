"""Every reliance on aiortc and aioice internals, in one place.

aiortc decodes whatever its receivers get and encodes whatever its senders are
given. An SFU must do neither for video, so we reach into four spots:

- a receiver's decoder queue, to take each reassembled *encoded* frame (after the
  jitter buffer, before the decoder);
- a sender's keyframe flag, set when a subscriber sends PLI/FIR, so the request can
  travel on to the publisher;
- a receiver's PLI sender, to ask the publisher for a keyframe;
- aioice's host-address discovery, to offer 127.0.0.1 (tests and one-machine demos).

`tests/media/test_aiortc_hooks.py` checks each of these against the installed aiortc
and fails loudly when an upgrade moves them. pyproject pins aiortc to 1.16.x.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aioice.ice
from aiortc import RTCRtpReceiver, RTCRtpSender
from aiortc.codecs import vpx
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


async def send_picture_loss(receiver: RTCRtpReceiver) -> bool:
    """Send a PLI to the publisher of `receiver`'s stream; False if no stream yet."""
    sources = receiver.getSynchronizationSources()
    if not sources:
        return False
    newest = max(sources, key=lambda s: s.timestamp)
    await receiver._send_rtcp_pli(newest.source)
    return True


_original_host_addresses = aioice.ice.get_host_addresses


def offer_loopback_candidates(enabled: bool) -> None:
    """Make aioice offer 127.0.0.1 as a host candidate (it skips loopback by default)."""

    def with_loopback(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        addresses = _original_host_addresses(use_ipv4=use_ipv4, use_ipv6=use_ipv6)
        if use_ipv4 and "127.0.0.1" not in addresses:
            addresses.append("127.0.0.1")
        return addresses

    aioice.ice.get_host_addresses = with_loopback if enabled else _original_host_addresses


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
