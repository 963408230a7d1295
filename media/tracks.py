"""Published tracks fan RTP packets out to subscriber slots, never decoding them.

Each packet of a publisher is decrypted once (by aiortc's DTLS transport); each
`ForwardSlot` rewrites the header fields its subscriber negotiated (SSRC, payload
type, MID) and keeps its own sequence numbers and timestamps continuous across
source switches, then SRTP-protects it with the subscriber's keys and sends it.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import random
import time
from collections.abc import Awaitable, Callable

from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError

from .aiortc_hooks import SenderLink, SendParameters
from .audio_tap import MicTap
from .packet_cache import PacketCache
from .rtp_wire import (
    InboundRtp,
    one_byte_extensions,
    rtx_payload,
    seq_newer,
    vp8_keyframe_start,
)

log = logging.getLogger(__name__)

CLOCK_RATE = {"audio": 48000, "video": 90000}
# Each request makes a keyframe for every subscriber of the track: not too often.
KEYFRAME_REQUEST_INTERVAL_S = 0.5
# A NACK naming more packets than this is answered in part: a burst of
# retransmissions would only add to the congestion that lost them.
MAX_RETRANSMIT_PER_NACK = 64
# A packet is resent at most once per this interval (a round trip and then some).
RESEND_INTERVAL_S = 0.1
# Retransmission budget: each forwarded packet earns this many resends, up to a cap.
# A subscriber that loses most packets (an overloaded receiver) then gets a few
# resends, not a storm of them that would starve everyone else.
RESEND_CREDIT_PER_PACKET = 0.2
RESEND_CREDIT_MAX = 30.0
# How many reported-lost sequence numbers a slot remembers, to count each loss once.
NACK_MEMORY = 2048


def is_vp8_keyframe(frame: bytes) -> bool:
    """VP8 frame tag: bit 0 of the first byte is 0 for a key frame (RFC 6386, 9.1)."""
    return len(frame) > 0 and frame[0] & 0x01 == 0


class PublishedTrack:
    """One track a publisher sends to the server; hands each RTP packet to its slots."""

    def __init__(
        self,
        track_id: str,
        kind: str,
        request_keyframe: Callable[[int], Awaitable[None]],
        tap: MicTap | None = None,
    ) -> None:
        self.id = track_id
        self.kind = kind
        self.tap = tap
        self._request_keyframe = request_keyframe
        self._slots: set[ForwardSlot] = set()
        self._last_keyframe_request = 0.0
        self.ssrc: int | None = None
        # (NTP time, RTP timestamp) of the publisher's last sender report: what maps
        # its media time onto the wall clock, the same for its audio and its video.
        self.clock_reference: tuple[int, int] | None = None
        self.frames_in = 0
        self.packets_in = 0

    def on_packet(self, packet: InboundRtp) -> None:
        """Called by the receiver tap, on the event loop, for each decrypted packet."""
        self.packets_in += 1
        if self.tap is not None:
            # A list append: the decoding happens in the audio tap's worker.
            self.tap.push(packet)
        if packet.ssrc != self.ssrc:
            self.clock_reference = None
            if self.ssrc is not None:
                # The publisher restarted its stream: its numbering starts over.
                log.info("track %s: SSRC %s -> %s", self.id, self.ssrc, packet.ssrc)
                for slot in self._slots:
                    slot.restart()
            self.ssrc = packet.ssrc
        audio = self.kind == "audio"
        frames = 1 if audio else packet.marker
        self.frames_in += frames
        keyframe_start = audio or vp8_keyframe_start(packet.payload)
        # What every slot needs of this packet, worked out once.
        ntp_time = self.ntp_time_of(packet.timestamp, CLOCK_RATE[self.kind])
        now = time.monotonic()
        for slot in tuple(self._slots):
            slot.forward(self, packet, keyframe_start, frames, ntp_time, now)

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
        if self.kind != "video" or self.ssrc is None:
            return
        now = time.monotonic()
        if now - self._last_keyframe_request < KEYFRAME_REQUEST_INTERVAL_S:
            return
        self._last_keyframe_request = now
        task = asyncio.ensure_future(self._request_keyframe(self.ssrc))
        task.add_done_callback(_log_failure)

    def close(self) -> None:
        """The publisher is gone: release every slot (and the mic tap)."""
        if self.tap is not None:
            self.tap.close()
            self.tap = None
        for slot in list(self._slots):
            slot.set_source(None)
        self._slots.clear()


def _log_failure(task: asyncio.Future[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.debug("keyframe request failed: %r", task.exception())


class ForwardSlot(MediaStreamTrack):
    """The track behind one server-to-subscriber transceiver, and its packet rewriter.

    aiortc negotiates the transceiver and runs its sender's RTCP; the sender never
    reads media from this track (`recv` only waits for the end). Packets arrive
    through `forward` and leave through the sender's `SenderLink`. A slot can be
    pointed at another published track without a new transceiver; its sequence
    numbers and timestamps stay continuous across the switch.
    """

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self.source: PublishedTrack | None = None
        self._clock_rate = CLOCK_RATE[kind]
        self._params: SendParameters | None = None
        self._link: SenderLink | None = None
        self._extensions = b""
        self._waiting_for_keyframe = True
        self._anchored = False
        # Reactivated in an offer not yet answered: the subscriber still discards
        # what arrives on this m-line, so a keyframe sent now would be lost.
        self._held = False
        # Video paused for a subscriber that cannot keep up (media/congestion.py).
        self._paused = False
        # Sequence numbers the subscriber reported lost, each counted once (a
        # subscriber asks again for what is still missing), most recent last.
        self._nack_seen: set[int] = set()
        self._nack_order: collections.deque[int] = collections.deque()
        self._newly_lost = 0
        self._seq_offset = 0
        self._ts_offset = 0
        self._last_seq: int | None = None
        self._last_ts = 0
        self._last_sent_at = 0.0
        self._rtx_seq = random.randrange(0x8000)
        self._cache = PacketCache()
        self._resend_credit = RESEND_CREDIT_MAX
        self._ended = asyncio.Event()
        self.frames_out = 0
        self.frames_dropped = 0
        self.packets_out = 0
        self._sent_mark = 0
        self.retransmitted = 0
        self.retransmit_misses = 0

    # -- the source ------------------------------------------------------------------

    def set_source(self, source: PublishedTrack | None) -> None:
        """Forward `source` from its next keyframe on (None: stay idle)."""
        if source is self.source:
            return
        if self.source is not None:
            self.source.detach(self)
        self.source = source
        self.restart()
        if source is not None:
            source.attach(self)

    def hold(self) -> None:
        """Send nothing until `release`: the subscriber has not taken the new offer yet."""
        self._held = True
        self.restart()

    def pause(self, paused: bool) -> None:
        """Stop (or resume) sending: a resumed slot starts again on a keyframe, with
        sequence numbers that go on where they stopped."""
        if paused == self._paused:
            return
        self._paused = paused
        self.restart()
        if not paused and self.source is not None:
            self.source.ask_for_keyframe()

    def take_loss_figures(self) -> tuple[int, int]:
        """(packets sent, distinct packets reported lost) since the last call."""
        sent, lost = self.packets_out - self._sent_mark, self._newly_lost
        self._sent_mark = self.packets_out
        self._newly_lost = 0
        return sent, lost

    def _count_lost(self, sequence_numbers: list[int]) -> None:
        for seq in sequence_numbers:
            if seq in self._nack_seen:
                continue
            self._nack_seen.add(seq)
            self._nack_order.append(seq)
            self._newly_lost += 1
            if len(self._nack_order) > NACK_MEMORY:
                self._nack_seen.discard(self._nack_order.popleft())

    def release(self) -> None:
        """The subscriber took the offer: start on the source's next keyframe."""
        if not self._held:
            return
        self._held = False
        self.restart()
        if self.source is not None:
            self.source.ask_for_keyframe()

    def restart(self) -> None:
        """Start over on the source's next keyframe, with a fresh mapping of its numbers."""
        self._waiting_for_keyframe = True
        self._anchored = False

    # -- aiortc's sender tells us (SubscriberFeedback) ------------------------------------

    def sender_started(self, parameters: SendParameters, link: SenderLink) -> None:
        """The subscriber's answer fixed our header fields; packets may flow."""
        self._params = parameters
        self._link = link
        if parameters.mid and parameters.mid_extension_id is not None:
            self._extensions = one_byte_extensions(
                [(parameters.mid_extension_id, parameters.mid.encode())]
            )
        if self.source is not None:
            self.source.ask_for_keyframe()

    def keyframe_requested(self) -> None:
        """The subscriber sent PLI/FIR: pass it on to the publisher (rate-limited)."""
        if self.source is not None:
            self.source.ask_for_keyframe()

    async def retransmit(self, sequence_numbers: list[int]) -> None:
        """Send again what the subscriber lost, from the cache (as RTX when negotiated)."""
        self._count_lost(sequence_numbers)
        params, link = self._params, self._link
        if params is None or link is None:
            return
        if params.rtx_payload_type is None:
            # Sending a sequence number again needs RTX: SRTP refuses a repeat.
            self.retransmit_misses += len(sequence_numbers)
            return
        now = time.monotonic()
        for seq in sequence_numbers[:MAX_RETRANSMIT_PER_NACK]:
            if self._resend_credit < 1:
                self.retransmit_misses += 1
                continue
            cached = self._cache.take_for_resend(seq, now, RESEND_INTERVAL_S)
            if cached is None:
                self.retransmit_misses += 1
                continue
            self._resend_credit -= 1
            sent = link.send(
                params.rtx_payload_type,
                cached.marker,
                self._rtx_seq,
                cached.timestamp,
                params.rtx_ssrc,
                self._extensions,
                rtx_payload(seq, cached.payload),
            )
            self._rtx_seq = (self._rtx_seq + 1) & 0xFFFF
            if not sent:
                return
            self.retransmitted += 1

    # -- the forward path ---------------------------------------------------------------

    def forward(
        self,
        source: PublishedTrack,
        packet: InboundRtp,
        keyframe_start: bool,
        frames: int,
        ntp_time: int | None,
        now: float,
    ) -> None:
        """Rewrite one packet of the current source for this subscriber and send it.

        `frames` is how many frames the packet completes (1 per audio packet, the
        marker bit for video); `ntp_time` the publisher's wall-clock time of its
        timestamp (None before its first SR); `now` the monotonic clock.
        """
        if source is not self.source:
            return
        params, link = self._params, self._link
        if params is None or link is None or not link.connected or self._held or self._paused:
            # Not negotiated yet (or the transport is gone): start on a keyframe later.
            self._waiting_for_keyframe = True
            self._anchored = False
            self.frames_dropped += frames
            return
        if self._waiting_for_keyframe:
            if not keyframe_start:
                self.frames_dropped += frames
                source.ask_for_keyframe()
                return
            self._waiting_for_keyframe = False
        if not self._anchored:
            self._anchor(packet, now)
        seq = (packet.sequence_number + self._seq_offset) & 0xFFFF
        timestamp = (packet.timestamp + self._ts_offset) & 0xFFFFFFFF
        payload = packet.payload
        cache = self._cache
        if cache.holds(seq):
            # A duplicate (or a retransmission we asked the publisher for, of a packet
            # that arrived after all): the subscriber has it, and SRTP would refuse it.
            return
        marker = packet.marker
        cache.put(seq, timestamp, marker, payload)
        if not link.send(
            params.payload_type, marker, seq, timestamp, params.ssrc, self._extensions, payload
        ):
            self.frames_dropped += frames
            return
        link.sent(timestamp, len(payload), ntp_time)
        self.packets_out += 1
        if self._resend_credit < RESEND_CREDIT_MAX:
            self._resend_credit += RESEND_CREDIT_PER_PACKET
        self.frames_out += frames
        if self._last_seq is None or seq_newer(seq, self._last_seq):
            self._last_seq = seq
            self._last_ts = timestamp
            self._last_sent_at = now

    def _anchor(self, packet: InboundRtp, now: float) -> None:
        """Map the source's numbering onto ours so that it goes on where we left off."""
        if self._last_seq is None:
            # Random starts (lower half for sequence numbers, as aiortc and browsers
            # do, to keep SRTP's rollover counter out of the first minutes).
            start_seq = random.randrange(0x8000)
            start_ts = random.randrange(1 << 32)
        else:
            start_seq = (self._last_seq + 1) & 0xFFFF
            elapsed = now - self._last_sent_at
            start_ts = self._last_ts + max(1, int(elapsed * self._clock_rate))
        self._seq_offset = (start_seq - packet.sequence_number) & 0xFFFF
        self._ts_offset = (start_ts - packet.timestamp) & 0xFFFFFFFF
        self._anchored = True

    # -- the track aiortc's sender holds ----------------------------------------------------

    async def recv(self) -> None:  # type: ignore[override]
        """Never yields media: the forward path sends packets itself. Ends with the slot."""
        await self._ended.wait()
        raise MediaStreamError

    def stop(self) -> None:
        """End the slot for good (its transceiver is going away)."""
        self.set_source(None)
        super().stop()
        self._ended.set()
