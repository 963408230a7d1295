"""One RTCPeerConnection per participant; the server always makes the offers."""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass

from aiortc import (
    RTCBundlePolicy,
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpSender,
    RTCRtpTransceiver,
    RTCSessionDescription,
)
from aiortc.sdp import candidate_from_sdp

from .audio_tap import AudioTap
from .background import in_background
from .congestion import CongestionGuard, VideoState
from .forward_slot import ForwardSlot
from .hooks.negotiation import set_stream_id
from .hooks.receive import (
    TapCounters,
    request_keyframe,
    send_bitrate_cap,
    tap_rtp_packets,
    undeliverable,
)
from .hooks.send import forward_through_sender
from .plan import MediaListener
from .published_track import PublishedTrack

log = logging.getLogger(__name__)

SOURCE_KIND = {"mic": "audio", "camera": "video", "screen": "video"}
# An SFU that forwards RTP packets needs every publisher and subscriber to speak
# the same codec: VP8 for video, Opus for audio (each with its RTX where offered).
PREFERRED_MIME = {"audio": ("audio/opus",), "video": ("video/VP8", "video/rtx")}
MAX_CANDIDATES = 64
# The most a publisher may send per video source (REMB, once a second). Every
# subscriber receives each publisher's stream as sent (no simulcast), so in a group
# of 15 a camera at this cap costs each subscriber about 8 Mbit/s of downlink.
BITRATE_CAP = {"camera": 600_000, "screen": 1_500_000}


def _prefer_codecs(transceiver: RTCRtpTransceiver) -> None:
    capabilities = RTCRtpSender.getCapabilities(transceiver.kind)
    wanted = PREFERRED_MIME[transceiver.kind]
    transceiver.setCodecPreferences([c for c in capabilities.codecs if c.mimeType in wanted])


@dataclass
class _ReceiveSlot:
    transceiver: RTCRtpTransceiver
    track: ForwardSlot


class MediaPeer:
    """A participant's peer connection: their published tracks and their receive slots."""

    def __init__(
        self,
        peer_id: str,
        publish: list[str],
        ice_servers: list[RTCIceServer],
        listener: MediaListener,
        audio_tap: AudioTap | None = None,
        drop_video_every: int = 0,
    ) -> None:
        self.id = peer_id
        self._drop_video_every = drop_video_every
        self._listener = listener
        self._audio_tap = audio_tap
        # max-bundle: one transport for every m-line. With aiortc's default
        # (balanced), transceivers created before the first answer keep a per-kind
        # transport that BUNDLE then discards, and their senders never start.
        self._pc = RTCPeerConnection(
            RTCConfiguration(iceServers=ice_servers, bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
        )
        self._lock = asyncio.Lock()
        self._revision = 0
        self._awaiting_answer = False
        self._dirty = False
        self._closed = False
        self._candidates = 0
        self._negotiation: asyncio.Task[None] | None = None
        self.published: dict[str, PublishedTrack] = {}
        self._publish_slots: dict[str, RTCRtpTransceiver] = {}
        self._taps: list[TapCounters] = []
        self._receive_slots: list[_ReceiveSlot] = []
        self._held: list[ForwardSlot] = []
        self.congestion = CongestionGuard(peer_id)
        self._pending: dict[str, PublishedTrack] = {}
        self._wanted: dict[str, PublishedTrack] = {}
        for source in publish:
            self._add_publish_slot(source)
        self._pc.on("connectionstatechange", self._on_connection_state)
        self._pc.on("track", self._on_track)

    # -- publishing ------------------------------------------------------------

    def _add_publish_slot(self, source: str) -> None:
        kind = SOURCE_KIND[source]
        transceiver = self._pc.addTransceiver(kind, direction="recvonly")
        _prefer_codecs(transceiver)
        receiver = transceiver.receiver
        track_id = f"t_{secrets.token_hex(6)}"
        # Only mics are decoded (once each, whatever their subscriber count).
        tap = (
            self._audio_tap.open_mic(self.id, track_id)
            if source == "mic" and self._audio_tap is not None
            else None
        )
        track = PublishedTrack(
            track_id,
            kind,
            lambda ssrc: request_keyframe(receiver, ssrc),
            tap,
            stream_id=f"s_{self.id}",
        )
        self._taps.append(
            tap_rtp_packets(receiver, track.on_packet, reports=track.on_sender_report)
        )
        self._publish_slots[source] = transceiver
        self._pending[source] = track

    def start_publishing(self, source: str) -> None:
        """Offer the client a new publish slot for `source` (e.g. a screen share)."""
        if self._closed or source in self._pending:
            return
        self._add_publish_slot(source)
        self._dirty = True
        self._kick()

    def stop_publishing(self, source: str) -> None:
        """End the client's `source` track: forwarding stops now, the slot goes idle."""
        transceiver = self._publish_slots.pop(source, None)
        pending = self._pending.pop(source, None)
        track = self.published.pop(source, None)
        if pending is not None and pending is not track:
            pending.close()  # never published: release its mic tap
        if transceiver is not None:
            # Each share gets a fresh m-line; the old one stays, inactive.
            transceiver.direction = "inactive"
            self._dirty = True
            self._kick()
        if track is not None:
            track.close()
            self._listener.on_track_ended(self.id, track.id)

    def _on_track(self, track: object) -> None:
        # aiortc creates a receiver's track when an answer says the client sends on it.
        for source, transceiver in self._publish_slots.items():
            if transceiver.receiver.track is track and source not in self.published:
                published = self._pending[source]
                self.published[source] = published
                if not self._closed:
                    self._listener.on_track_published(self.id, published.id, source)

    # -- subscribing -------------------------------------------------------------

    def subscribe(self, tracks: dict[str, PublishedTrack]) -> None:
        """Receive exactly these tracks (by id); renegotiates as needed."""
        if self._closed or tracks.keys() == self._wanted.keys():
            return
        self._wanted = dict(tracks)
        self._dirty = True
        self._kick()

    def gate(self, gated: frozenset[str]) -> None:
        """Drop the packets of this peer's published tracks named in `gated` (muted,
        camera off) and forward the others: no renegotiation either way."""
        for track in self.published.values():
            track.set_gated(track.id in gated)

    def _reconcile_slots(self) -> bool:
        """Point receive slots at the wanted tracks; True if transceivers changed."""
        changed = False
        current = {s.track.source.id: s for s in self._receive_slots if s.track.source}
        for track_id, slot in current.items():
            if track_id not in self._wanted:
                slot.track.set_source(None)
                slot.transceiver.direction = "inactive"
                changed = True
        for track_id, track in self._wanted.items():
            if track_id in current:
                continue
            found = next(
                (
                    s
                    for s in self._receive_slots
                    if s.track.source is None and s.track.kind == track.kind
                ),
                None,
            )
            slot = found or self._new_receive_slot(track.kind)
            slot.transceiver.direction = "sendonly"
            # One stream per publisher, so browsers keep its audio and video in sync.
            set_stream_id(slot.transceiver.sender, track.stream_id)
            slot.track.set_source(track)
            if found is not None:
                # An idle m-line coming back: the client drops its packets until it
                # has answered this offer, so wait for that before sending.
                slot.track.hold()
                self._held.append(slot.track)
            changed = True
        return changed

    def _new_receive_slot(self, kind: str) -> _ReceiveSlot:
        track = ForwardSlot(kind, drop_every=self._drop_video_every if kind == "video" else 0)
        if kind == "video":
            # A subscriber whose video is paused gets none on new slots either.
            track.pause(self.congestion.video_paused)
        transceiver = self._pc.addTransceiver(track, direction="sendonly")
        forward_through_sender(transceiver.sender, track)
        _prefer_codecs(transceiver)
        slot = _ReceiveSlot(transceiver, track)
        self._receive_slots.append(slot)
        return slot

    # -- negotiation -------------------------------------------------------------

    def start(self) -> None:
        """Make the first offer."""
        self._dirty = True
        self._kick()

    def _kick(self) -> None:
        if self._negotiation is None or self._negotiation.done():
            self._negotiation = asyncio.ensure_future(self._negotiate())

    async def _negotiate(self) -> None:
        async with self._lock:
            if self._closed or self._awaiting_answer or not self._dirty:
                return
            if self._pc.connectionState == "closed":
                # aiortc closed it (ICE consent lost): `on_peer_failed` has told the
                # client, whose new peer connection gets its own offers.
                return
            self._dirty = False
            self._reconcile_slots()
            offer = await self._pc.createOffer()
            await self._pc.setLocalDescription(offer)
            if self._closed:
                return
            self._revision += 1
            self._awaiting_answer = True
            self._listener.on_offer(self.id, self._offer_payload())

    def _offer_payload(self) -> dict[str, object]:
        return {
            "revision": self._revision,
            "sdp": self._pc.localDescription.sdp,
            "publish": {src: t.mid for src, t in self._publish_slots.items()},
            "receive": {
                s.transceiver.mid: (s.track.source.id if s.track.source else None)
                for s in self._receive_slots
            },
        }

    async def accept_answer(self, revision: int, sdp: str) -> None:
        """Apply the client's answer to offer `revision`.

        Raises ValueError for a stale revision or an SDP aiortc refuses; the peer
        then keeps its previous state and a fresh offer follows.
        """
        async with self._lock:
            if not self._awaiting_answer or revision != self._revision:
                raise LookupError(f"offer {revision} is not the current one ({self._revision})")
            try:
                await self._pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
            except Exception as exc:
                # The offer stays unanswered: send a new one.
                self._awaiting_answer = False
                self._dirty = True
                self._kick_after_lock()
                raise ValueError(f"answer refused: {exc}") from exc
            self._awaiting_answer = False
            for slot in self._held:
                slot.release()
            self._held.clear()
        if self._dirty:
            self._kick()

    def _kick_after_lock(self) -> None:
        asyncio.get_running_loop().call_soon(self._kick)

    async def add_ice_candidate(
        self, candidate: str | None, sdp_mid: str | None, index: int | None
    ) -> None:
        """A trickled candidate from the client; None or "" ends the candidates."""
        async with self._lock:
            if not candidate:
                return
            self._candidates += 1
            if self._candidates > MAX_CANDIDATES:
                raise OverflowError(f"more than {MAX_CANDIDATES} ICE candidates")
            try:
                parsed = candidate_from_sdp(candidate.removeprefix("candidate:"))
            except (AssertionError, IndexError, ValueError) as exc:
                raise ValueError(f"unparsable candidate ({exc!r})") from None
            parsed.sdpMid = sdp_mid
            parsed.sdpMLineIndex = index
            await self._pc.addIceCandidate(parsed)

    # -- slow consumers ------------------------------------------------------------------

    def check_congestion(self, now: float) -> None:
        """Once a second: pause this subscriber's video while it keeps losing it (its
        audio goes on), and probe again later (media/congestion.py); bring each
        sender's figures for its next SR up to date; and cap what this publisher's
        video may send (REMB)."""
        for source, cap in BITRATE_CAP.items():
            transceiver = self._publish_slots.get(source)
            if transceiver is not None and source in self.published:
                in_background(send_bitrate_cap(transceiver.receiver, cap), "REMB")
        sent = lost = 0
        for slot in self._receive_slots:
            slot.track.refresh_report()
            if slot.track.kind == "video":
                s, lost_now = slot.track.take_loss_figures()
                sent, lost = sent + s, lost + lost_now
        before = self.congestion.state
        if not self.congestion.update(now, sent, lost):
            return
        paused = self.congestion.video_paused
        for slot in self._receive_slots:
            if slot.track.kind == "video":
                slot.track.pause(paused)
        # The person hears of it when video stops, and when it is back for good (not
        # on each probe).
        after = self.congestion.state
        if before is VideoState.FLOWING and after is VideoState.PAUSED:
            self._listener.on_video_paused(self.id, True)
        elif before is VideoState.PROBING and after is VideoState.FLOWING:
            self._listener.on_video_paused(self.id, False)

    # -- state -----------------------------------------------------------------

    @property
    def connection_state(self) -> str:
        """aiortc's connection state of this peer."""
        return str(self._pc.connectionState)

    async def _on_connection_state(self) -> None:
        state = self._pc.connectionState
        log.info("peer %s: connection %s", self.id, state)
        # aiortc closes a connection itself when ICE consent expires: unless we closed
        # it, that is a failure the client must recover from.
        if state in ("failed", "closed") and not self._closed:
            self._listener.on_peer_failed(self.id)

    def stats(self) -> dict[str, int]:
        """Frames and packets in, out and dropped, and retransmissions, over this peer's slots."""
        slots = [s.track for s in self._receive_slots]
        return {
            "frames_in": sum(t.frames_in for t in self.published.values()),
            "packets_in": sum(t.packets_in for t in self.published.values()),
            "packets_dropped": sum(t.dropped for t in self._taps) + self._undeliverable(),
            "packets_over_rate": sum(t.over_rate for t in self._taps),
            "frames_out": sum(s.frames_out for s in slots),
            "packets_out": sum(s.packets_out for s in slots),
            "octets_out": sum(s.octets_out for s in slots),
            "frames_dropped": sum(s.frames_dropped for s in slots),
            "retransmitted": sum(s.retransmitted for s in slots),
            "retransmit_misses": sum(s.retransmit_misses for s in slots),
            "send_failures": sum(s.send_failures for s in slots),
            "fault_drops": sum(s.faults for s in slots),
            "receive_slots": len(self._receive_slots),
            "video_paused_peers": int(self.congestion.video_paused),
        }

    def _undeliverable(self) -> int:
        transceivers = self._pc.getTransceivers()
        return undeliverable(transceivers[0].receiver) if transceivers else 0

    async def close(self) -> None:
        """Tear the connection down; its published tracks end."""
        if self._closed:
            return
        self._closed = True
        for slot in self._receive_slots:
            slot.track.stop()
        for source, track in list(self.published.items()):
            track.close()
            del self.published[source]
            self._listener.on_track_ended(self.id, track.id)
        for track in self._pending.values():
            track.close()  # the ones never published: their mic taps
        if self._negotiation is not None:
            self._negotiation.cancel()
        await self._pc.close()
