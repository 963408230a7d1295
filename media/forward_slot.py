"""The track behind one server-to-subscriber transceiver, and its packet rewriter.

Each `ForwardSlot` rewrites the header fields its subscriber negotiated (SSRC,
payload type, MID) and keeps its own sequence numbers and timestamps continuous
across source switches, then SRTP-protects each packet with the subscriber's keys
and sends it; it answers the subscriber's NACKs from the route's cache (as RTX) and
passes its keyframe requests on to its `PublishedTrack`.
"""

from __future__ import annotations

import asyncio
import collections
import random
import time
from typing import TYPE_CHECKING

from aiortc import MediaStreamTrack, clock
from aiortc.mediastreams import MediaStreamError

from ._fanout import Route
from .hooks.send import SenderLink, SendParameters
from .packet_cache import ResendTimes
from .rtp_wire import InboundRtp, one_byte_extensions, rtx_payload

if TYPE_CHECKING:
    from .published_track import PublishedTrack

CLOCK_RATE = {"audio": 48000, "video": 90000}
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


class ForwardSlot(MediaStreamTrack):
    """The track behind one server-to-subscriber transceiver, and its packet rewriter.

    aiortc negotiates the transceiver and runs its sender's RTCP; the sender never
    reads media from this track (`recv` only waits for the end). While the slot
    waits (for a keyframe, the subscriber's answer, its transport) its source hands
    it each packet through `forward`; once it has started on a keyframe, its
    `Route` is in the source's list for the compiled loop (media/_fanout.c), which
    rewrites, protects and sends each packet, and caches it for NACK. A slot can be
    pointed at another published track without a new transceiver; its sequence
    numbers and timestamps stay continuous across the switch.
    """

    def __init__(self, kind: str, drop_every: int = 0) -> None:
        super().__init__()
        self.kind = kind
        # Fault injection for tests: lose every n-th packet (after caching it).
        self._drop_every = drop_every
        self.source: PublishedTrack | None = None
        self._clock_rate = CLOCK_RATE[kind]
        self._params: SendParameters | None = None
        self._link: SenderLink | None = None
        self._route: Route | None = None
        self._extensions = b""
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
        self._rtx_seq = random.randrange(0x8000)
        self._resends = ResendTimes()
        self._resend_credit = RESEND_CREDIT_MAX
        self._credit_mark = 0
        self._ended = asyncio.Event()
        self.frames_dropped = 0
        self._sent_mark = 0
        self.retransmitted = 0
        self.retransmit_misses = 0

    # -- figures ---------------------------------------------------------------------

    @property
    def packets_out(self) -> int:
        """Media packets sent (retransmissions apart)."""
        return self._route.packets if self._route is not None else 0

    @property
    def octets_out(self) -> int:
        """Payload bytes of the media packets sent (retransmissions apart)."""
        return self._route.octets if self._route is not None else 0

    @property
    def frames_out(self) -> int:
        """Frames sent: each audio packet, each video packet with the marker bit."""
        return self._route.frames if self._route is not None else 0

    @property
    def faults(self) -> int:
        """Packets lost on purpose (fault injection)."""
        return self._route.faults if self._route is not None else 0

    @property
    def send_failures(self) -> int:
        """Packets the route could not send (SRTP or the socket refused them)."""
        return self._route.failures if self._route is not None else 0

    def refresh_report(self) -> None:
        """Give the sender's next SR the newest packet's timestamp and wall-clock time
        (the publisher's, from its own SR, when known) and the counts so far."""
        route, link, source = self._route, self._link, self.source
        if route is None or link is None:
            return
        last = route.last
        if last is None:
            return
        _seq, timestamp, source_timestamp, sent_at = last
        ntp_time = None
        if source is not None:
            ntp_time = source.ntp_time_of(source_timestamp, self._clock_rate)
        if ntp_time is None:
            # The publisher has sent no SR: the time it was forwarded.
            ntp_time = clock.current_ntp_time() - int((time.monotonic() - sent_at) * (1 << 32))
        link.report(timestamp, ntp_time, route.packets, route.octets)

    # -- the source ------------------------------------------------------------------

    def set_source(self, source: PublishedTrack | None) -> None:
        """Forward `source` from its next keyframe on (None: stay idle)."""
        if source is self.source:
            return
        if self.source is not None:
            self.source.detach(self)
        self.source = source
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
        packets = self.packets_out
        sent, lost = packets - self._sent_mark, self._newly_lost
        self._sent_mark = packets
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
        if self.source is not None:
            self.source.go_waiting(self)

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
        params, link, route = self._params, self._link, self._route
        if params is None or link is None or route is None:
            return
        if params.rtx_payload_type is None:
            # Sending a sequence number again needs RTX: SRTP refuses a repeat.
            self.retransmit_misses += len(sequence_numbers)
            return
        # Each packet forwarded since the last NACK earned some credit.
        earned = (route.packets - self._credit_mark) * RESEND_CREDIT_PER_PACKET
        self._credit_mark = route.packets
        self._resend_credit = min(RESEND_CREDIT_MAX, self._resend_credit + earned)
        now = time.monotonic()
        for seq in sequence_numbers[:MAX_RETRANSMIT_PER_NACK]:
            if self._resend_credit < 1:
                self.retransmit_misses += 1
                continue
            cached = route.cached(seq)
            if cached is None or not self._resends.may_resend(seq, now, RESEND_INTERVAL_S):
                self.retransmit_misses += 1
                continue
            self._resend_credit -= 1
            timestamp, marker, payload = cached
            sent = link.send(
                params.rtx_payload_type,
                marker,
                self._rtx_seq,
                timestamp,
                params.rtx_ssrc,
                self._extensions,
                rtx_payload(seq, payload),
            )
            self._rtx_seq = (self._rtx_seq + 1) & 0xFFFF
            if not sent:
                return
            self.retransmitted += 1

    # -- the forward path, while the slot waits ---------------------------------------------

    def forward(
        self, source: PublishedTrack, packet: InboundRtp, keyframe_start: bool, now: float
    ) -> None:
        """A packet of the source while this slot waits: go live on a keyframe, once
        negotiated, answered, not paused and with a route to the subscriber."""
        if source is not self.source:
            return
        frames = 1 if self.kind == "audio" else packet.marker
        params, link = self._params, self._link
        if params is None or link is None or self._held or self._paused:
            self.frames_dropped += frames
            return
        if not keyframe_start:
            self.frames_dropped += frames
            source.ask_for_keyframe()
            return
        route = self._route
        if route is None or route.closed:
            route = link.open_route(params.payload_type, params.ssrc, self._extensions)
            if route is None:
                # The transport is not (or no longer) up.
                self.frames_dropped += frames
                return
            route.drop_every = self._drop_every
            self._route = route
        self._anchor(route, packet, now)
        source.go_live(self, route)

    def _anchor(self, route: Route, packet: InboundRtp, now: float) -> None:
        """Map the source's numbering onto ours so that it goes on where we left off."""
        last = route.last
        if last is None:
            # Random starts (lower half for sequence numbers, as aiortc and browsers
            # do, to keep SRTP's rollover counter out of the first minutes).
            start_seq = random.randrange(0x8000)
            start_ts = random.randrange(1 << 32)
        else:
            last_seq, last_ts, _source_ts, sent_at = last
            start_seq = (last_seq + 1) & 0xFFFF
            start_ts = last_ts + max(1, int((now - sent_at) * self._clock_rate))
        route.set_offsets(
            (start_seq - packet.sequence_number) & 0xFFFF,
            (start_ts - packet.timestamp) & 0xFFFFFFFF,
        )

    # -- the track aiortc's sender holds ----------------------------------------------------

    async def recv(self) -> None:  # type: ignore[override]
        """Never yields media: the forward path sends packets itself. Ends with the slot."""
        await self._ended.wait()
        raise MediaStreamError

    def stop(self) -> None:
        """End the slot for good (its transceiver is going away)."""
        self.set_source(None)
        if self._route is not None:
            self._route.close()
        super().stop()
        self._ended.set()
