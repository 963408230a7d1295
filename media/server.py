"""The media plane's front door: peers by id, and the subscription plan applied to them."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass

from aiortc import RTCIceServer

from .audio_tap import AudioTap
from .hooks.codec_counters import CodecCounters, count_video_codec_use
from .hooks.negotiation import offer_loopback_candidates
from .peer import MediaPeer
from .plan import MediaListener, SubscriptionPlan
from .published_track import PublishedTrack
from .vad import DEFAULT_VAD_MODE

log = logging.getLogger(__name__)

HEALTH_EVERY_S = 1.0
COUNTERS = (
    "frames_in",
    "packets_in",
    "packets_dropped",
    "frames_out",
    "packets_out",
    "octets_out",
    "frames_dropped",
    "retransmitted",
    "retransmit_misses",
    "video_paused_peers",
    "packets_over_rate",
    "send_failures",
    "fault_drops",
)
# Levels, not counts: a closed peer's value is not carried over.
GAUGES = frozenset({"video_paused_peers", "receive_slots"})


@dataclass(frozen=True)
class IceServer:
    """One configured STUN/TURN server."""

    urls: tuple[str, ...]
    username: str | None = None
    credential: str | None = None


class MediaServer:
    """Owns every peer connection of this process and forwards RTP packets between them.

    Each mic is also decoded once for VAD (`media/audio_tap.py`): the listener gets
    its voice frames, on a media clock anchored on `clock` (seconds).
    """

    def __init__(
        self,
        listener: MediaListener,
        ice_servers: tuple[IceServer, ...] = (),
        offer_loopback: bool = True,
        clock: Callable[[], float] = time.time,
        vad_mode: int = DEFAULT_VAD_MODE,
        audio_executor: Executor | None = None,
        drop_video_every: int = 0,
    ) -> None:
        self._listener = listener
        # Fault injection for tests: see `ForwardSlot`.
        self._drop_video_every = drop_video_every
        # `audio_executor`: where mics are decoded (one job at a time); default a thread.
        self._audio_tap = AudioTap(
            listener.on_voice_frames, clock, vad_mode, executor=audio_executor
        )
        self._ice = [
            RTCIceServer(urls=list(s.urls), username=s.username, credential=s.credential)
            for s in ice_servers
        ]
        self._peers: dict[str, MediaPeer] = {}
        self._wanted: dict[str, frozenset[str]] = {}
        # What closed peers had counted (their levels apart).
        self._retired = {key: 0 for key in COUNTERS if key not in GAUGES}
        self.codec_counters: CodecCounters = count_video_codec_use()
        offer_loopback_candidates(offer_loopback)
        self._health: asyncio.Task[None] | None = None

    async def _watch_subscribers(self) -> None:
        """Once a second, let each peer judge whether it keeps up (slow consumers)."""
        while self._peers:
            await asyncio.sleep(HEALTH_EVERY_S)
            now = time.monotonic()
            for peer in list(self._peers.values()):
                peer.check_congestion(now)

    async def open_peer(self, peer_id: str, publish: list[str]) -> None:
        """Create the peer (replacing an older one of that id) and send its first offer."""
        await self.close_peer(peer_id)
        peer = MediaPeer(
            peer_id,
            publish,
            self._ice,
            self._listener,
            self._audio_tap,
            drop_video_every=self._drop_video_every,
        )
        self._peers[peer_id] = peer
        peer.start()
        if self._health is None or self._health.done():
            self._health = asyncio.ensure_future(self._watch_subscribers())
        self._apply_to(peer)

    async def close_peer(self, peer_id: str) -> None:
        """Close the peer if it exists; its tracks end (the listener is told)."""
        peer = self._peers.pop(peer_id, None)
        self._wanted.pop(peer_id, None)
        if peer is not None:
            # Its counts stay in the totals: a counter never goes down when someone leaves.
            for key, value in peer.stats().items():
                if key in self._retired:
                    self._retired[key] += value
            await peer.close()

    async def accept_answer(self, peer_id: str, revision: int, sdp: str) -> None:
        """Apply a client's answer. Raises KeyError if there is no such peer."""
        await self._peers[peer_id].accept_answer(revision, sdp)

    async def add_ice_candidate(
        self, peer_id: str, candidate: str | None, sdp_mid: str | None, index: int | None
    ) -> None:
        """Add a trickled client candidate. Raises KeyError if there is no such peer."""
        await self._peers[peer_id].add_ice_candidate(candidate, sdp_mid, index)

    def start_publishing(self, peer_id: str, source: str) -> None:
        """Let the peer publish another source (a screen); KeyError if no such peer."""
        self._peers[peer_id].start_publishing(source)

    def stop_publishing(self, peer_id: str, source: str) -> None:
        """Stop the peer's `source` track at once (no-op if it has none)."""
        peer = self._peers.get(peer_id)
        if peer is not None:
            peer.stop_publishing(source)

    def capture_audio(self, peer_id: str, enabled: bool) -> None:
        """Attach 16 kHz PCM to the voice frames of `peer_id`'s mic (captions consent).

        Off by default; the setting belongs to the peer id and outlives its connection
        (a reconnect keeps it) until it is changed.
        """
        self._audio_tap.capture_audio(peer_id, enabled)

    def apply_plan(self, plan: SubscriptionPlan) -> None:
        """Make each peer the plan names receive exactly the tracks it gives that peer,
        and gate (or open) that peer's own published tracks as the plan says.

        Peers the plan does not name keep what they had: one session's plan never
        touches the peers of another session.
        """
        self._wanted.update(plan.receivers)
        for peer_id in plan.receivers:
            peer = self._peers.get(peer_id)
            if peer is not None:
                peer.gate(plan.gated)
                self._apply_to(peer)

    def _apply_to(self, peer: MediaPeer) -> None:
        tracks = self._published_tracks()
        wanted = self._wanted.get(peer.id, frozenset())
        peer.subscribe({tid: tracks[tid] for tid in wanted if tid in tracks})

    def _published_tracks(self) -> dict[str, PublishedTrack]:
        return {t.id: t for p in self._peers.values() for t in p.published.values()}

    def has_peer(self, peer_id: str) -> bool:
        """Whether a peer of that id is open."""
        return peer_id in self._peers

    def stats(self) -> dict[str, int]:
        """Counters for /metrics: peers, frames, packets, video encodes/decodes (kept at 0),
        and the audio tap's (mics, live decoders, voice frames, what it skipped)."""
        totals = {"peers": len(self._peers)}
        totals.update(dict.fromkeys(COUNTERS, 0))
        totals.update(self._retired)
        for peer in self._peers.values():
            for key, value in peer.stats().items():
                if key in totals:
                    totals[key] += value
        totals["video_encodes"] = self.codec_counters.video_encodes
        totals["video_decodes"] = self.codec_counters.video_decodes
        totals.update(self._audio_tap.stats())
        return totals

    async def close(self) -> None:
        """Close every peer, then the audio tap."""
        for peer_id in list(self._peers):
            await self.close_peer(peer_id)
        if self._health is not None:
            self._health.cancel()
        self._audio_tap.close()
