"""The narrow interface between sessions and media: who receives which track."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from .voice import VoiceFrame


@dataclass(frozen=True)
class SubscriptionPlan:
    """For each peer id, the ids of the published tracks it should receive; and which
    of those tracks are gated (muted, camera off): still negotiated, packets dropped.

    Gating is not a plan change: it sends no offer, and lifting it resumes at once.
    """

    receivers: Mapping[str, frozenset[str]] = field(default_factory=dict)
    # Track ids of the peers named in `receivers` whose packets nobody gets now; their
    # other tracks flow.
    gated: frozenset[str] = frozenset()

    def tracks_for(self, peer_id: str) -> frozenset[str]:
        """What `peer_id` should receive (nothing if it is not in the plan)."""
        return self.receivers.get(peer_id, frozenset())


class MediaListener(Protocol):
    """What the media plane tells its owner. Called on the event loop, never awaited."""

    def on_offer(self, peer_id: str, offer: dict[str, object]) -> None:
        """Send this offer to the peer's client."""

    def on_track_published(self, peer_id: str, track_id: str, source: str) -> None:
        """The peer started sending a track (`source`: mic, camera or screen)."""

    def on_track_ended(self, peer_id: str, track_id: str) -> None:
        """A track of the peer is gone."""

    def on_peer_failed(self, peer_id: str) -> None:
        """The peer connection failed; the client should restart media."""

    def on_voice_frames(self, peer_id: str, track_id: str, frames: Sequence[VoiceFrame]) -> None:
        """30 ms voice frames of a mic, in order, in batches (about every 100 ms per mic).

        Missing time (lost packets, silence suppression, a client that stopped
        sending) has no frames: count it as silence. PCM only while capture is on.
        """

    def on_video_paused(self, peer_id: str, paused: bool) -> None:
        """The peer could not keep up: others' video to it is paused (audio goes on),
        or resumed. Tell the person."""
