"""An in-process media plane for audio tap tests: a listener that records what the
MediaServer reports, and aiortc peers that answer its offers directly (no signaling).

`MediaRecorder` is the hand-written MediaListener fake: it keeps offers, published
tracks and voice frames, and lets a test wait for a condition on them.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from aiortc import (
    MediaStreamTrack,
    RTCBundlePolicy,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError

from media.server import MediaServer
from media.voice import VoiceFrame


@dataclass
class MediaRecorder:
    """Records every MediaListener callback; `until` waits for a condition on them."""

    offers: dict[str, list[dict[str, object]]] = field(default_factory=dict)
    published: dict[tuple[str, str], str] = field(default_factory=dict)  # (peer, source) -> id
    ended: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    video_paused: list[tuple[str, bool]] = field(default_factory=list)
    frames: dict[tuple[str, str], list[VoiceFrame]] = field(default_factory=dict)
    batches: int = 0

    def __post_init__(self) -> None:
        self._changed = asyncio.Event()
        self.offer_handlers: dict[str, Callable[[dict[str, object]], None]] = {}

    def _poke(self) -> None:
        self._changed.set()

    def on_offer(self, peer_id: str, offer: dict[str, object]) -> None:
        """Keep the offer and pass it to the peer's handler."""
        self.offers.setdefault(peer_id, []).append(offer)
        handler = self.offer_handlers.get(peer_id)
        if handler is not None:
            handler(offer)
        self._poke()

    def on_track_published(self, peer_id: str, track_id: str, source: str) -> None:
        """Keep the track id by (peer, source)."""
        self.published[peer_id, source] = track_id
        self._poke()

    def on_track_ended(self, peer_id: str, track_id: str) -> None:
        """Keep the ended track id."""
        self.ended.append(track_id)
        self._poke()

    def on_peer_failed(self, peer_id: str) -> None:
        """Keep the failed peer id."""
        self.failed.append(peer_id)
        self._poke()

    def on_video_paused(self, peer_id: str, paused: bool) -> None:
        """Keep (peer, paused)."""
        self.video_paused.append((peer_id, paused))
        self._poke()

    def on_voice_frames(self, peer_id: str, track_id: str, frames: Sequence[VoiceFrame]) -> None:
        """Keep the frames by (peer, track)."""
        self.frames.setdefault((peer_id, track_id), []).extend(frames)
        self.batches += 1
        self._poke()

    def frames_of(self, peer_id: str) -> list[VoiceFrame]:
        """Every frame reported for `peer_id`'s mic tracks, in order of arrival."""
        return [f for (peer, _track), fs in self.frames.items() if peer == peer_id for f in fs]

    async def until(self, predicate: Callable[[], bool], within: float = 15.0) -> None:
        """Wait until `predicate()` holds (re-checked on every callback and every 100 ms)."""
        async with asyncio.timeout(within):
            while not predicate():
                self._changed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), 0.1)


class DirectPeer:
    """An aiortc client of an in-process MediaServer: publishes `publish` (source ->
    track), consumes and counts whatever it receives."""

    def __init__(
        self,
        server: MediaServer,
        recorder: MediaRecorder,
        peer_id: str,
        publish: dict[str, MediaStreamTrack],
    ) -> None:
        self.server = server
        self.id = peer_id
        self.publish = publish
        self.pc = RTCPeerConnection(
            RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
        )
        self.pc.on("track", self._on_track)
        self.audio_frames = 0
        self._tasks: list[asyncio.Task[None]] = []
        recorder.offer_handlers[peer_id] = self._on_offer
        self._lock = asyncio.Lock()

    async def open(self) -> None:
        """Ask the server for a peer connection (its offer is answered on arrival)."""
        await self.server.open_peer(self.id, list(self.publish))

    def _on_offer(self, offer: dict[str, object]) -> None:
        self._tasks.append(asyncio.ensure_future(self._answer(offer)))

    async def _answer(self, offer: dict[str, object]) -> None:
        async with self._lock:
            await self.pc.setRemoteDescription(RTCSessionDescription(str(offer["sdp"]), "offer"))
            publish = offer["publish"]
            assert isinstance(publish, dict)
            mids = {mid: source for source, mid in publish.items()}
            for transceiver in self.pc.getTransceivers():
                track = self.publish.get(mids.get(transceiver.mid, ""))
                if track is not None and transceiver.sender.track is None:
                    transceiver.direction = "sendonly"
                    transceiver.sender.replaceTrack(track)
            await self.pc.setLocalDescription(await self.pc.createAnswer())
            revision = offer["revision"]
            assert isinstance(revision, int)
            await self.server.accept_answer(self.id, revision, self.pc.localDescription.sdp)

    def _on_track(self, track: MediaStreamTrack) -> None:
        # Every received track must be consumed: aiortc queues frames without bound.
        self._tasks.append(asyncio.ensure_future(self._consume(track)))

    async def _consume(self, track: MediaStreamTrack) -> None:
        while True:
            try:
                await track.recv()
            except MediaStreamError:
                return
            if track.kind == "audio":
                self.audio_frames += 1

    async def close(self) -> None:
        """Close the connection and stop its tasks."""
        for task in self._tasks:
            task.cancel()
        await self.pc.close()
        for track in self.publish.values():
            track.stop()
