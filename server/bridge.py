"""The one place sessions meet media: domain events become subscription plans, and
media callbacks become session commands."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence

from media.plan import SubscriptionPlan
from media.server import MediaServer
from media.voice import VoiceFrame as MediaVoiceFrame

from .domain.errors import PeerCircleError
from .domain.events import (
    Event,
    ParticipantJoined,
    ParticipantLeft,
    ParticipantRejoined,
    ParticipantUpdated,
    SessionEnded,
    ShareEnded,
)
from .domain.model import Presence, Source
from .domain.session import Session
from .domain.voice import VoiceFrame
from .host import SessionRegistry

log = logging.getLogger(__name__)

OfferSink = Callable[[str, dict[str, object]], None]
VoiceSink = Callable[[str, str, str, Sequence[VoiceFrame]], None]


def plan_of(session: Session) -> SubscriptionPlan:
    """Who receives which track, and which tracks are gated (muted, camera off): a mute
    changes only the gates, so it sends no offer."""
    return SubscriptionPlan(session.subscriptions(), session.gated_tracks())


class MediaBridge:
    """Implements the media plane's listener and listens to every session host.

    Peer ids are participant ids; the bridge remembers which session each peer is in.
    """

    def __init__(self, registry: SessionRegistry) -> None:
        self._registry = registry
        self.media: MediaServer | None = None
        self.send_offer: OfferSink = lambda peer_id, offer: None
        self.restart_media: Callable[[str], None] = lambda peer_id: None
        self.video_paused: Callable[[str, bool], None] = lambda peer_id, paused: None
        # What a participant's connection in the call asked to publish (signaling).
        self.publish_of: Callable[[str], list[str] | None] = lambda participant_id: None
        self._peer_session: dict[str, str] = {}
        # Called with (session id, participant id, room, frames) for every mic batch.
        self.voice_sinks: list[VoiceSink] = []
        self._tasks: set[asyncio.Future[None]] = set()

    def attach(
        self, media: MediaServer, send_offer: OfferSink, restart: Callable[[str], None]
    ) -> None:
        """Wire the bridge to the media server and the signaling layer."""
        self.media = media
        self.send_offer = send_offer
        self.restart_media = restart

    async def _open_peer(self, session_id: str, participant_id: str) -> None:
        """Start (or restart) a participant's media, with what their connection asked
        to publish; nothing if they have no connection in the call."""
        assert self.media is not None
        publish = self.publish_of(participant_id)
        if publish is None:
            return
        self._peer_session[participant_id] = session_id
        await self.media.open_peer(participant_id, publish)

    async def _close_peer(self, participant_id: str) -> None:
        """Stop a participant's media, if they have any."""
        assert self.media is not None
        if self._peer_session.pop(participant_id, None) is not None:
            await self.media.close_peer(participant_id)

    def start_screen(self, participant_id: str) -> None:
        """Offer the participant a screen publish slot (KeyError: no peer)."""
        assert self.media is not None
        self.media.start_publishing(participant_id, "screen")

    def stop_screen(self, participant_id: str) -> None:
        """Stop the participant's screen share, if any."""
        assert self.media is not None
        self.media.stop_publishing(participant_id, "screen")

    async def accept_answer(self, participant_id: str, revision: int, sdp: str) -> None:
        """Apply a client's answer (KeyError: no peer)."""
        assert self.media is not None
        await self.media.accept_answer(participant_id, revision, sdp)

    async def add_ice_candidate(
        self, participant_id: str, candidate: str | None, sdp_mid: str | None, index: int | None
    ) -> None:
        """Add a trickled client candidate (KeyError: no peer)."""
        assert self.media is not None
        await self.media.add_ice_candidate(participant_id, candidate, sdp_mid, index)

    # -- session events -> media ------------------------------------------------

    async def on_events(self, session: Session, events: list[Event]) -> None:
        """Host listener: keep forwarding in line with the session. This is the one
        place peers open and close: when someone comes in (or joins again) and when
        they show as reconnecting, leave, or the session ends."""
        if self.media is None:
            return
        for event in events:
            match event:
                case ParticipantJoined(participant=p) | ParticipantRejoined(participant=p):
                    await self._open_peer(session.id, p.id)
                case ParticipantUpdated(participant=p):
                    if p.presence is Presence.RECONNECTING:
                        await self._close_peer(p.id)
                    elif p.presence is Presence.PRESENT and p.id not in self._peer_session:
                        await self._open_peer(session.id, p.id)  # back within grace
                case ParticipantLeft(participant_id=pid):
                    await self._close_peer(pid)
                case ShareEnded(participant_id=pid):
                    self.media.stop_publishing(pid, "screen")
                case SessionEnded():
                    for peer_id, sid in list(self._peer_session.items()):
                        if sid == session.id:
                            await self._close_peer(peer_id)
        self.media.apply_plan(plan_of(session))

    async def let_go(self, session_id: str) -> None:
        """This node no longer owns the session: close the media of everyone in it
        here (their clients reconnect to the new owner, which opens it again)."""
        if self.media is None:
            return
        for peer_id, sid in list(self._peer_session.items()):
            if sid == session_id:
                await self._close_peer(peer_id)

    # -- media -> session (MediaListener) ---------------------------------------

    def on_offer(self, peer_id: str, offer: dict[str, object]) -> None:
        """Pass the offer to the peer's connection."""
        self.send_offer(peer_id, offer)

    def on_track_published(self, peer_id: str, track_id: str, source: str) -> None:
        """Record the new track in its session; a refused one is stopped, not forwarded."""

        def refused() -> None:
            if self.media is not None:
                self.media.stop_publishing(peer_id, source)

        self._submit(peer_id, lambda s, now: s.publish(peer_id, track_id, Source(source)), refused)

    def on_track_ended(self, peer_id: str, track_id: str) -> None:
        """Remove the track from its session."""
        self._submit(peer_id, lambda s, now: s.unpublish(track_id))

    def on_peer_failed(self, peer_id: str) -> None:
        """Tell the client to restart its media."""
        self.restart_media(peer_id)

    def on_video_paused(self, peer_id: str, paused: bool) -> None:
        """Tell the person their link cannot carry the others' video (or can again)."""
        self.video_paused(peer_id, paused)

    def on_voice_frames(
        self, peer_id: str, track_id: str, frames: Sequence[MediaVoiceFrame]
    ) -> None:
        """Voice frames of a mic: to each voice sink, with the speaker's session and
        current room (the speaking ledger and the caption service are sinks)."""
        session_id = self._peer_session.get(peer_id)
        if session_id is None or not frames:
            return
        host = self._registry.loaded(session_id)
        if host is None:
            return
        try:
            room = host.session.participant(peer_id).room
        except PeerCircleError:
            return
        # The media plane's frames become the server's own, once for every sink.
        voice = [VoiceFrame(f.start, f.voiced, f.level_dbfs, f.pcm) for f in frames]
        for sink in self.voice_sinks:
            sink(session_id, peer_id, room, voice)

    def _submit(
        self,
        peer_id: str,
        command: Callable[[Session, float], list[Event]],
        on_refused: Callable[[], None] | None = None,
    ) -> None:
        session_id = self._peer_session.get(peer_id)
        if session_id is None:
            return

        async def run() -> None:
            host = await self._registry.get(session_id)
            try:
                await host.run(command)
            except PeerCircleError as error:
                log.info("media change refused for %s: %s", peer_id, error.message)
                if on_refused is not None:
                    on_refused()

        task = asyncio.ensure_future(run())
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Future[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("media callback failed: %r", task.exception())
