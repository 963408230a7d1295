"""A track a publisher sends the server: it hands each RTP packet to its slots.

Each packet of a publisher is decrypted once (by aiortc's DTLS transport) and
reaches its `PublishedTrack`, which drops it while the track is gated (muted mic,
camera off), feeds the mic tap, offers it to each `ForwardSlot` still waiting for a
keyframe, and hands it to the compiled fan-out (media/_fanout.c) for every slot in
step. It also asks the publisher for keyframes, rate-limited, and keeps the mapping
of its media time onto the wall clock (from its sender reports).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from ._fanout import Route, forward
from .audio_tap import MicTap
from .background import in_background
from .rtp_wire import InboundRtp, vp8_keyframe_start

if TYPE_CHECKING:
    from .forward_slot import ForwardSlot

log = logging.getLogger(__name__)

# Each request makes a keyframe for every subscriber of the track: not too often.
KEYFRAME_REQUEST_INTERVAL_S = 0.5


class PublishedTrack:
    """One track a publisher sends to the server; hands each RTP packet to its slots."""

    def __init__(
        self,
        track_id: str,
        kind: str,
        request_keyframe: Callable[[int], Awaitable[None]],
        tap: MicTap | None = None,
        stream_id: str = "",
    ) -> None:
        self.id = track_id
        self.kind = kind
        # The publisher's MediaStream on subscribers: its audio and video share it.
        self.stream_id = stream_id or f"s_{track_id}"
        self.tap = tap
        self._request_keyframe = request_keyframe
        self._slots: set[ForwardSlot] = set()
        # Slots in step (started on a keyframe, sending): their routes go to the
        # compiled loop in one call per packet. The others wait in `_waiting`.
        self._live: dict[ForwardSlot, Route] = {}
        self._routes: list[Route] = []
        self._waiting: set[ForwardSlot] = set()
        self._last_keyframe_request = 0.0
        # Muted mic or camera off: packets still arrive and are dropped here, before
        # the audio tap and every slot; the slots stay negotiated (no offer).
        self.gated = False
        self.packets_gated = 0
        self.ssrc: int | None = None
        # (NTP time, RTP timestamp) of the publisher's last sender report: what maps
        # its media time onto the wall clock, the same for its audio and its video.
        self.clock_reference: tuple[int, int] | None = None
        self.frames_in = 0
        self.packets_in = 0

    def on_packet(self, packet: InboundRtp) -> None:
        """Called by the receiver tap, on the event loop, for each decrypted packet."""
        self.packets_in += 1
        if packet.ssrc != self.ssrc:
            self.clock_reference = None
            if self.ssrc is not None:
                # The publisher restarted its stream: its numbering starts over.
                log.info("track %s: SSRC %s -> %s", self.id, self.ssrc, packet.ssrc)
                for slot in tuple(self._slots):
                    slot.restart()
            self.ssrc = packet.ssrc
        audio = self.kind == "audio"
        frames = 1 if audio else packet.marker
        self.frames_in += frames
        if self.gated:
            # Forwarded to nobody, and a muted mic is not decoded either.
            self.packets_gated += 1
            return
        if self.tap is not None:
            # A list append: the decoding happens in the audio tap's worker.
            self.tap.push(packet)
        now = time.monotonic()
        if self._waiting:
            keyframe_start = audio or vp8_keyframe_start(packet.payload)
            for slot in tuple(self._waiting):
                slot.forward(self, packet, keyframe_start, now)
        if self._routes:
            forward(
                self._routes,
                packet.payload,
                packet.sequence_number,
                packet.timestamp,
                packet.marker,
                frames,
                now,
            )

    def set_gated(self, gated: bool) -> None:
        """Drop this track's packets (muted, camera off) or forward them again.

        Gating sends every slot back to waiting, so that when it lifts each one starts
        over with its numbering continuous: audio on the next packet, video on the
        keyframe asked for now (not the periodic one, which may be seconds away).
        """
        if gated == self.gated:
            return
        log.info("track %s: %s -> %s", self.id, _gate(self.gated), _gate(gated))
        self.gated = gated
        if gated:
            for slot in tuple(self._slots):
                slot.restart()
        else:
            self.ask_for_keyframe(force=True)

    def go_live(self, slot: ForwardSlot, route: Route) -> None:
        """`slot` is in step: its packets go out through the compiled loop."""
        self._waiting.discard(slot)
        self._live[slot] = route
        self._routes = list(self._live.values())

    def go_waiting(self, slot: ForwardSlot) -> None:
        """`slot` waits (for a keyframe, an answer, its transport): back to Python."""
        if slot not in self._slots:
            return
        self._waiting.add(slot)
        if self._live.pop(slot, None) is not None:
            self._routes = list(self._live.values())

    def on_sender_report(self, ssrc: int, ntp_time: int, rtp_timestamp: int) -> None:
        """The publisher's SR for its current stream: keep its clock mapping."""
        if ssrc == self.ssrc:
            self.clock_reference = (ntp_time, rtp_timestamp)

    def ntp_time_of(self, rtp_timestamp: int, clock_rate: int) -> int | None:
        """The publisher's wall-clock time (NTP format) of a media timestamp, once it
        has sent an SR; each slot reports it with its rewritten timestamp, so the
        subscriber sees the publisher's own audio/video alignment."""
        if self.clock_reference is None:
            return None
        ntp, reference = self.clock_reference
        delta = ((rtp_timestamp - reference + 0x80000000) & 0xFFFFFFFF) - 0x80000000
        return (ntp + (delta << 32) // clock_rate) & 0xFFFFFFFFFFFFFFFF

    def attach(self, slot: ForwardSlot) -> None:
        """Start feeding `slot`; it will start on the next keyframe."""
        self._slots.add(slot)
        self._waiting.add(slot)
        self.ask_for_keyframe()

    def detach(self, slot: ForwardSlot) -> None:
        """Stop feeding `slot`."""
        self._slots.discard(slot)
        self._waiting.discard(slot)
        if self._live.pop(slot, None) is not None:
            self._routes = list(self._live.values())

    @property
    def slot_count(self) -> int:
        """How many subscriber slots this track feeds."""
        return len(self._slots)

    def ask_for_keyframe(self, force: bool = False) -> None:
        """Ask the publisher for a keyframe, at most every KEYFRAME_REQUEST_INTERVAL_S
        (`force`: now, whenever the last one was); never while gated."""
        if self.kind != "video" or self.ssrc is None or self.gated:
            return
        now = time.monotonic()
        if not force and now - self._last_keyframe_request < KEYFRAME_REQUEST_INTERVAL_S:
            return
        self._last_keyframe_request = now
        in_background(self._request_keyframe(self.ssrc), "keyframe request")

    def close(self) -> None:
        """The publisher is gone: release every slot (and the mic tap)."""
        if self.tap is not None:
            self.tap.close()
            self.tap = None
        for slot in list(self._slots):
            slot.set_source(None)
        self._slots.clear()
        self._waiting.clear()
        self._live.clear()
        self._routes = []


def _gate(gated: bool) -> str:
    return "gated" if gated else "open"
