"""The media plane's front door: peers by id, and the subscription plan applied to them."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from aiortc import RTCIceServer

from .aiortc_hooks import CodecCounters, count_video_codec_use, offer_loopback_candidates
from .peer import MediaPeer
from .plan import MediaListener, SubscriptionPlan
from .tracks import PublishedTrack

log = logging.getLogger(__name__)

COUNTERS = (
    "frames_in",
    "packets_in",
    "packets_dropped",
    "frames_out",
    "packets_out",
    "frames_dropped",
    "retransmitted",
    "retransmit_misses",
)


@dataclass(frozen=True)
class IceServer:
    """One configured STUN/TURN server."""

    urls: tuple[str, ...]
    username: str | None = None
    credential: str | None = None


class MediaServer:
    """Owns every peer connection of this process and forwards RTP packets between them."""

    def __init__(
        self,
        listener: MediaListener,
        ice_servers: tuple[IceServer, ...] = (),
        offer_loopback: bool = True,
    ) -> None:
        self._listener = listener
        self._ice = [
            RTCIceServer(urls=list(s.urls), username=s.username, credential=s.credential)
            for s in ice_servers
        ]
        self._peers: dict[str, MediaPeer] = {}
        self._wanted: dict[str, frozenset[str]] = {}
        self.codec_counters: CodecCounters = count_video_codec_use()
        offer_loopback_candidates(offer_loopback)

    async def open_peer(self, peer_id: str, publish: list[str]) -> None:
        """Create the peer (replacing an older one of that id) and send its first offer."""
        await self.close_peer(peer_id)
        peer = MediaPeer(peer_id, publish, self._ice, self._listener)
        self._peers[peer_id] = peer
        peer.start()
        self._apply_to(peer)

    async def close_peer(self, peer_id: str) -> None:
        """Close the peer if it exists; its tracks end (the listener is told)."""
        peer = self._peers.pop(peer_id, None)
        self._wanted.pop(peer_id, None)
        if peer is not None:
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

    def apply_plan(self, plan: SubscriptionPlan) -> None:
        """Make each peer the plan names receive exactly the tracks it gives that peer.

        Peers the plan does not name keep what they had: one session's plan never
        touches the peers of another session.
        """
        self._wanted.update(plan.receivers)
        for peer_id in plan.receivers:
            peer = self._peers.get(peer_id)
            if peer is not None:
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
        """Counters for /metrics: peers, frames, packets, video encodes/decodes (kept at 0)."""
        totals = {"peers": len(self._peers)}
        totals.update(dict.fromkeys(COUNTERS, 0))
        for peer in self._peers.values():
            for key, value in peer.stats().items():
                if key in totals:
                    totals[key] += value
        totals["video_encodes"] = self.codec_counters.video_encodes
        totals["video_decodes"] = self.codec_counters.video_decodes
        return totals

    async def close(self) -> None:
        """Close every peer."""
        for peer_id in list(self._peers):
            await self.close_peer(peer_id)
