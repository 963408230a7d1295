"""Published tracks fan encoded frames out to subscriber slots, never decoding them."""

from __future__ import annotations

import asyncio
import fractions
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable

import av
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError

log = logging.getLogger(__name__)

CLOCK_RATE = {"audio": 48000, "video": 90000}
# One frame's worth of media time, used to keep a slot's timeline moving forward
# when it switches from one publisher to another.
FRAME_STEP = {"audio": 960, "video": 3000}
# Frames a slot may hold before it is behind; then it drops the backlog (and, for
# video, waits for the next keyframe) instead of queuing without bound.
SLOT_BACKLOG = {"audio": 25, "video": 60}
# Each request makes a keyframe for every subscriber of the track: not too often.
KEYFRAME_REQUEST_INTERVAL_S = 0.5


def is_vp8_keyframe(frame: bytes) -> bool:
    """VP8 frame tag: bit 0 of the first byte is 0 for a key frame (RFC 6386, 9.1)."""
    return len(frame) > 0 and frame[0] & 0x01 == 0


class PublishedTrack:
    """One track a publisher sends to the server; hands each encoded frame to its slots."""

    def __init__(
        self,
        track_id: str,
        kind: str,
        request_keyframe: Callable[[], Awaitable[bool]],
    ) -> None:
        self.id = track_id
        self.kind = kind
        self._request_keyframe = request_keyframe
        self._slots: set[ForwardSlot] = set()
        self._last_keyframe_request = 0.0
        self.frames_in = 0

    def on_frame(self, data: bytes, timestamp: int) -> None:
        """Called by the receiver tap, on the event loop, for each encoded frame."""
        self.frames_in += 1
        keyframe = self.kind == "audio" or is_vp8_keyframe(data)
        for slot in self._slots:
            slot.push(self, data, timestamp, keyframe)

    def attach(self, slot: ForwardSlot) -> None:
        """Start feeding `slot`; it will start on the next keyframe."""
        self._slots.add(slot)
        self.ask_for_keyframe()

    def detach(self, slot: ForwardSlot) -> None:
        """Stop feeding `slot`."""
        self._slots.discard(slot)

    @property
    def slot_count(self) -> int:
        """How many subscriber slots this track feeds."""
        return len(self._slots)

    def ask_for_keyframe(self) -> None:
        """Ask the publisher for a keyframe, at most every KEYFRAME_REQUEST_INTERVAL_S."""
        if self.kind != "video":
            return
        now = time.monotonic()
        if now - self._last_keyframe_request < KEYFRAME_REQUEST_INTERVAL_S:
            return
        self._last_keyframe_request = now
        task = asyncio.ensure_future(self._request_keyframe())
        task.add_done_callback(_log_failure)

    def close(self) -> None:
        """The publisher is gone: release every slot."""
        for slot in list(self._slots):
            slot.set_source(None)
        self._slots.clear()


def _log_failure(task: asyncio.Future[bool]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.debug("keyframe request failed: %r", task.exception())


class ForwardSlot(MediaStreamTrack):
    """The track behind one server-to-subscriber transceiver.

    aiortc's sender pulls from `recv()`; we hand it `av.Packet`s, which it packetizes
    without encoding. A slot can be pointed at another published track without a new
    transceiver; its timeline stays monotonic across the switch.
    """

    def __init__(self, kind: str, keyframe_requested: Callable[[], bool]) -> None:
        super().__init__()
        self.kind = kind
        self.source: PublishedTrack | None = None
        self._keyframe_requested = keyframe_requested
        self._frames: deque[tuple[bytes, int]] = deque()
        self._ready = asyncio.Event()
        self._waiting_for_keyframe = True
        self._time_base = fractions.Fraction(1, CLOCK_RATE[kind])
        self._offset: int | None = None
        self._last_pts = -FRAME_STEP[kind]
        self.frames_out = 0
        self.frames_dropped = 0

    def set_source(self, source: PublishedTrack | None) -> None:
        """Forward `source` from its next keyframe on (None: stay idle)."""
        if source is self.source:
            return
        if self.source is not None:
            self.source.detach(self)
        self.source = source
        self._frames.clear()
        self._waiting_for_keyframe = True
        self._offset = None
        if source is not None:
            source.attach(self)

    def push(self, source: PublishedTrack, data: bytes, timestamp: int, keyframe: bool) -> None:
        """Queue a frame from the current source."""
        if source is not self.source:
            return
        if self._waiting_for_keyframe:
            if not keyframe:
                source.ask_for_keyframe()
                self.frames_dropped += 1
                return
            self._waiting_for_keyframe = False
        if len(self._frames) >= SLOT_BACKLOG[self.kind]:
            # The subscriber's sender is not keeping up: drop the backlog rather than
            # add delay; video then restarts on a keyframe.
            self.frames_dropped += len(self._frames)
            self._frames.clear()
            if self.kind == "video" and not keyframe:
                self._waiting_for_keyframe = True
                source.ask_for_keyframe()
                return
        if self._offset is None:
            self._offset = self._last_pts + FRAME_STEP[self.kind] - timestamp
        self._frames.append((data, timestamp + self._offset))
        self._ready.set()

    async def recv(self) -> av.Packet:  # type: ignore[type-arg]
        """Next encoded frame for aiortc's sender to packetize."""
        while not self._frames:
            if self.readyState != "live":
                raise MediaStreamError
            self._ready.clear()
            await self._ready.wait()
        if self._keyframe_requested() and self.source is not None:
            self.source.ask_for_keyframe()
        data, pts = self._frames.popleft()
        # Out-of-order media time would confuse the subscriber's jitter buffer.
        pts = max(pts, self._last_pts + 1)
        self._last_pts = pts
        packet = av.Packet(data)
        packet.pts = pts
        packet.time_base = self._time_base
        self.frames_out += 1
        return packet

    def stop(self) -> None:
        """End the slot for good (its transceiver is going away)."""
        self.set_source(None)
        super().stop()
        self._ready.set()
