"""Pre-packetized clips sent as RTP at their real-time pace, and a tally of what arrives.

Every packet carries a trailer the servers forward untouched (they rewrite headers,
never payloads): which stream, which frame, which packet of how many, and the
CLOCK_REALTIME nanosecond it was sent (the clock the kernel stamps arriving datagrams
with, one for every process on the machine).
Receivers match on it: frames delivered, added one-way latency. Nobody decodes, so
the trailer after the VP8/Opus data does no harm.
"""

from __future__ import annotations

import asyncio
import math
import random
import struct
import time
from collections import Counter
from dataclasses import dataclass, field

from bench.forwarding.clips import Clip
from media.hooks.send import SenderLink, SendParameters

TRAILER = struct.Struct("!HHIBBq")
MAGIC = 0xB7E5
MAX_CHUNK = 1100  # VP8 bytes per packet, well under the MTU with headers and SRTP
LATENCY_BUCKET_NS = 20_000  # histogram resolution: 20 us
KINDS = ("audio", "video", "screen")


def stream_id(slot: int, kind: str) -> int:
    """The trailer's stream id: publisher slot and kind."""
    return slot * 4 + KINDS.index(kind)


def stream_name(sid: int) -> tuple[int, str]:
    """(publisher slot, kind) of a stream id."""
    return sid // 4, KINDS[sid % 4]


def split_frames(clip: Clip) -> tuple[tuple[bytes, ...], ...]:
    """Each clip frame cut into RTP payload chunks of about equal size (video) or whole."""
    if clip.kind != "video":
        return tuple((p,) for p in clip.packets)
    frames = []
    for frame in clip.packets:
        parts = math.ceil(len(frame) / MAX_CHUNK)
        size = math.ceil(len(frame) / parts)
        frames.append(tuple(frame[i : i + size] for i in range(0, len(frame), size)))
    return tuple(frames)


def _mid_extension(parameters: SendParameters) -> bytes:
    if parameters.mid is None or parameters.mid_extension_id is None:
        return b""
    mid = parameters.mid.encode()
    element = bytes([(parameters.mid_extension_id << 4) | (len(mid) - 1)]) + mid
    element += b"\0" * (-len(element) % 4)
    return struct.pack("!HH", 0xBEDE, len(element) // 4) + element


@dataclass
class SentTally:
    """What one stream sent inside the window (by the send time of a frame's first packet)."""

    frames: int = 0
    packets: int = 0


class PacedStream:
    """One published track: sends its clip as RTP through an aiortc sender, in real time.

    Answers PLI/FIR as a browser would: the next frame is the clip's next keyframe.
    It is the `SubscriberFeedback` of `media.hooks.send.forward_through_sender`.
    """

    def __init__(self, sid: int, clip: Clip, window: Window) -> None:
        self.sid = sid
        self.clip = clip
        self.frames = split_frames(clip)
        self.video = clip.kind == "video"
        self.window = window
        self.tally = SentTally()
        self.keyframes_on_request = 0
        self.nacks = 0
        self.send_failures = 0
        self._keyframe_wanted = False
        self._started = asyncio.get_running_loop().create_future()
        self._task = asyncio.ensure_future(self._run())

    def sender_started(self, parameters: SendParameters, link: SenderLink) -> None:
        """The sender is negotiated and DTLS is up: start sending."""
        if not self._started.done():
            self._started.set_result((parameters, link))

    async def retransmit(self, sequence_numbers: list[int]) -> None:
        """NACKs are counted, not answered: on loopback there should be none."""
        self.nacks += len(sequence_numbers)

    def keyframe_requested(self) -> None:
        """PLI/FIR: the next frame is a keyframe."""
        self._keyframe_wanted = True

    async def _run(self) -> None:
        parameters, link = await self._started
        loop = asyncio.get_running_loop()
        extension = _mid_extension(parameters)
        seq = random.randrange(1 << 16)
        ts0 = random.randrange(1 << 32)
        position, picture_id = 0, random.randrange(1 << 15)
        start = loop.time()
        window = self.window
        for number in range(1 << 62):
            delay = start + number * self.clip.frame_seconds - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            if self._keyframe_wanted and self.video:
                self._keyframe_wanted = False
                if position not in self.clip.keyframes:
                    later = [k for k in self.clip.keyframes if k > position]
                    position = later[0] if later else 0
                    self.keyframes_on_request += 1
            chunks = self.frames[position]
            position = (position + 1) % len(self.frames)
            ts = (ts0 + number * self.clip.pts_step) & 0xFFFFFFFF
            last = len(chunks) - 1
            in_window = False
            for index, chunk in enumerate(chunks):
                if self.video:
                    descriptor = bytes(
                        (
                            0x90 if index == 0 else 0x80,
                            0x80,
                            0x80 | (picture_id >> 8),
                            picture_id & 0xFF,
                        )
                    )
                    marker = 0x80 if index == last else 0
                else:
                    descriptor, marker = b"", 0
                now = time.time_ns()
                if index == 0:
                    in_window = window.start_ns <= now < window.end_ns
                trailer = TRAILER.pack(MAGIC, self.sid, number & 0xFFFFFFFF, index, last + 1, now)
                payload = descriptor + chunk + trailer
                sent = link.send(
                    parameters.payload_type,
                    marker >> 7,
                    seq,
                    ts,
                    parameters.ssrc,
                    extension,
                    payload,
                )
                seq = (seq + 1) & 0xFFFF
                if sent:
                    link.sent(ts, len(payload))
                else:
                    self.send_failures += 1
                if in_window:
                    self.tally.packets += 1
            if in_window:
                self.tally.frames += 1
            picture_id = (picture_id + 1) & 0x7FFF

    def stop(self) -> None:
        """Stop sending."""
        self._task.cancel()


@dataclass
class Window:
    """The measuring window, in CLOCK_REALTIME ns (set by the orchestrator)."""

    start_ns: int = 1 << 62
    end_ns: int = 1 << 62


@dataclass
class ReceiveTally:
    """What the subscribers of this process received, counted in the reader thread."""

    window: Window
    seen: set[tuple[int, int]] = field(default_factory=set)
    frames: Counter[tuple[int, int]] = field(default_factory=Counter)
    packets: int = 0
    untagged: int = 0
    latency: tuple[Counter[int], ...] = field(
        default_factory=lambda: tuple(Counter() for _ in KINDS)
    )
    _pending: dict[tuple[int, int, int], int] = field(default_factory=dict)

    def count(self, slot: int, rtp: bytes, arrival_ns: int) -> None:
        """One decrypted RTP packet at subscriber `slot` (runs in the reader thread)."""
        if rtp[0] & 0x20:  # padding: its length is the last byte
            rtp = rtp[: -rtp[-1]]
        if len(rtp) < 12 + TRAILER.size:
            self.untagged += 1
            return
        magic, sid, frame, index, count, sent_ns = TRAILER.unpack_from(rtp, len(rtp) - TRAILER.size)
        if magic != MAGIC:
            self.untagged += 1
            return
        key = (slot, sid)
        if key not in self.seen:
            self.seen.add(key)
        window = self.window
        if not window.start_ns <= sent_ns < window.end_ns:
            return
        self.packets += 1
        self.latency[sid % 4][(arrival_ns - sent_ns) // LATENCY_BUCKET_NS] += 1
        if count == 1:
            self.frames[key] += 1
            return
        frame_key = (slot, sid, frame)
        mask = self._pending.get(frame_key)
        if mask is None:
            mask = (1 << count) - 1
        mask &= ~(1 << index)
        if mask:
            self._pending[frame_key] = mask
        else:
            self._pending.pop(frame_key, None)
            self.frames[key] += 1
