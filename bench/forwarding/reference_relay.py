"""The reference for the forwarding benchmark: aiortc's stock decode-and-re-encode relay.

A minimal server speaking the subset of docs/PROTOCOL.md the load generator uses
(connect with a token, `join`, `welcome`, `offer`/`answer`, `track-published`),
whose media path is aiortc's own: each published track is received (decoded) and
`MediaRelay().subscribe()`d into every other participant's sender (re-encoded).
Not a product: the token is taken as the display name unchecked, everyone is in
one room, and there is no reconnecting. Run: `python -m bench.forwarding.reference_relay --port P`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import secrets
from collections.abc import Coroutine
from typing import Any

import socketio
from aiohttp import web
from aiortc import (
    MediaStreamTrack,
    RTCBundlePolicy,
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpSender,
    RTCRtpTransceiver,
    RTCSessionDescription,
)
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamError

from media.hooks.negotiation import offer_loopback_candidates

PROTOCOL_VERSION = 1
SOURCE_KIND = {"mic": "audio", "camera": "video"}
# The same codecs PeerCircle negotiates, so both servers carry identical streams.
PREFERRED_MIME = {"audio": ("audio/opus",), "video": ("video/VP8", "video/rtx")}


def _prefer_codecs(transceiver: RTCRtpTransceiver) -> None:
    codecs = RTCRtpSender.getCapabilities(transceiver.kind).codecs
    wanted = PREFERRED_MIME[transceiver.kind]
    transceiver.setCodecPreferences([c for c in codecs if c.mimeType in wanted])


class RelayPeer:
    """One participant: a peer connection, its published tracks, its relayed subscriptions."""

    def __init__(self, room: RelayRoom, sid: str, name: str) -> None:
        self.room = room
        self.sid = sid
        self.id = f"p_{secrets.token_hex(8)}"
        self.name = name
        # Max-bundle, as PeerCircle's media plane: one transport, same costs.
        self.pc = RTCPeerConnection(
            RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
        )
        self.pc.on("track", self._on_track)
        self.published: dict[str, str] = {}  # source -> track id
        self._publish_slots: dict[str, RTCRtpTransceiver] = {}
        self._receive: dict[RTCRtpTransceiver, str] = {}  # transceiver -> track id
        self._pending: list[tuple[str, MediaStreamTrack]] = []
        self._lock = asyncio.Lock()
        self._revision = 0
        self._awaiting_answer = False
        self._dirty = False

    def wire(self) -> dict[str, Any]:
        """The Participant object of the protocol."""
        return {
            "id": self.id,
            "name": self.name,
            "role": "patient",
            "mic": "live",
            "camera": "live",
            "connection": "connected",
        }

    def open_publish_slots(self, sources: list[str]) -> None:
        """A receive-only transceiver per source the client will send."""
        for source in sources:
            transceiver = self.pc.addTransceiver(SOURCE_KIND[source], direction="recvonly")
            _prefer_codecs(transceiver)
            self._publish_slots[source] = transceiver

    def _on_track(self, track: MediaStreamTrack) -> None:
        for source, transceiver in self._publish_slots.items():
            if transceiver.receiver.track is track and source not in self.published:
                self.room.publish(self, source, track)

    def subscribe(self, track_id: str, relayed: MediaStreamTrack) -> None:
        """Send `relayed` (a MediaRelay proxy: aiortc encodes it) to this participant."""
        self._pending.append((track_id, relayed))
        self.renegotiate()

    def renegotiate(self) -> None:
        """Send a new offer now, or once the current one is answered."""
        self._dirty = True
        self.room.spawn(self._negotiate())

    async def _negotiate(self) -> None:
        async with self._lock:
            if self._awaiting_answer or not self._dirty:
                return
            self._dirty = False
            # Add transceivers only here, with no offer in flight: with aiortc 1.16's
            # default bundle policy, one added while an offer was outstanding was seen
            # left on its own transport, never gathered nor bundled, never sending.
            for track_id, relayed in self._pending:
                transceiver = self.pc.addTransceiver(relayed, direction="sendonly")
                _prefer_codecs(transceiver)
                self._receive[transceiver] = track_id
            self._pending.clear()
            await self.pc.setLocalDescription(await self.pc.createOffer())
            self._revision += 1
            self._awaiting_answer = True
            offer = {
                "revision": self._revision,
                "sdp": self.pc.localDescription.sdp,
                "publish": {src: t.mid for src, t in self._publish_slots.items()},
                "receive": {t.mid: track_id for t, track_id in self._receive.items()},
            }
        await self.room.sio.emit("offer", offer, to=self.sid)

    async def accept_answer(self, revision: int, sdp: str) -> None:
        """Apply the answer to the current offer; offer again if more changed meanwhile."""
        async with self._lock:
            if not self._awaiting_answer or revision != self._revision:
                return
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
            self._awaiting_answer = False
        if self._dirty:
            await self._negotiate()


class RelayRoom:
    """Everyone connected, in one room; every track goes to everyone else via MediaRelay."""

    def __init__(self, sio: socketio.AsyncServer) -> None:
        self.sio = sio
        self.relay = MediaRelay()
        self.peers: dict[str, RelayPeer] = {}  # by socket id
        self.tracks: dict[str, dict[str, Any]] = {}  # by track id
        self._sources: dict[str, MediaStreamTrack] = {}
        self._tasks: set[asyncio.Future[Any]] = set()

    def publish(self, peer: RelayPeer, source: str, track: MediaStreamTrack) -> None:
        """A participant started sending `track`: relay it to everyone else."""
        track_id = f"t_{secrets.token_hex(6)}"
        peer.published[source] = track_id
        self._sources[track_id] = track
        wire = {"id": track_id, "participant": peer.id, "kind": track.kind, "source": source}
        self.tracks[track_id] = wire
        # aiortc queues decoded frames without bound until someone reads them: one
        # proxy always reads, so a track with no subscriber yet costs no memory.
        drain = self.relay.subscribe(track, buffered=False)
        self.spawn(_drain(drain))
        self.spawn(self.sio.emit("track-published", wire))
        for other in self.peers.values():
            if other is not peer:
                other.subscribe(track_id, self._relayed(track))

    def spawn(self, work: Coroutine[Any, Any, Any]) -> None:
        """Run `work` in the background, keeping a reference until it is done."""
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _relayed(self, track: MediaStreamTrack) -> MediaStreamTrack:
        # Unbuffered: a subscriber whose encoder falls behind gets the newest frame
        # instead of an ever-growing queue (buffered proxies grow without bound).
        return self.relay.subscribe(track, buffered=False)

    def subscribe_to_all(self, peer: RelayPeer) -> None:
        """A newcomer receives every track already published."""
        for track_id, wire in self.tracks.items():
            if wire["participant"] != peer.id:
                peer.subscribe(track_id, self._relayed(self._sources[track_id]))

    # -- signaling (the protocol subset the load generator speaks) ---------------

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any) -> None:
        """Accept any non-empty token, as the display name."""
        token = auth.get("token") if isinstance(auth, dict) else None
        if not isinstance(token, str) or not token:
            raise socketio.exceptions.ConnectionRefusedError({"code": "token_missing"})
        self.peers[sid] = RelayPeer(self, sid, token[:64])

    async def on_join(self, sid: str, data: Any) -> None:
        """Welcome, then the first offer: publish slots plus every existing track."""
        peer = self.peers[sid]
        wanted = data.get("publish", {}) if isinstance(data, dict) else {}
        await self.sio.emit(
            "welcome",
            {
                "protocol": PROTOCOL_VERSION,
                "you": {"id": peer.id, "name": peer.name, "role": "patient"},
                "session": {"id": "s_reference", "title": "MediaRelay reference"},
                "participants": [p.wire() for p in self.peers.values()],
                "tracks": list(self.tracks.values()),
                "iceServers": [],
            },
            to=sid,
        )
        await self.sio.emit("participant-joined", peer.wire(), skip_sid=sid)
        peer.open_publish_slots([s for s in SOURCE_KIND if wanted.get(s)])
        self.subscribe_to_all(peer)
        peer.renegotiate()

    async def on_answer(self, sid: str, data: Any) -> None:
        """The client's answer to its current offer."""
        await self.peers[sid].accept_answer(int(data["revision"]), str(data["sdp"]))

    async def on_disconnect(self, sid: str, *reason: Any) -> None:
        """The participant is gone: so are its tracks."""
        peer = self.peers.pop(sid, None)
        if peer is None:
            return
        for track_id in peer.published.values():
            self.tracks.pop(track_id, None)
            await self.sio.emit("track-unpublished", {"id": track_id})
        await peer.pc.close()

    async def close(self) -> None:
        """Close every peer connection."""
        for task in list(self._tasks):
            task.cancel()
        for peer in list(self.peers.values()):
            await peer.pc.close()


async def _drain(track: MediaStreamTrack) -> None:
    with contextlib.suppress(MediaStreamError):
        while True:
            await track.recv()


def build_app() -> web.Application:
    """The reference server: socket.io on /socket.io/ and GET /healthz."""
    sio = socketio.AsyncServer(async_mode="aiohttp", logger=False, engineio_logger=False)
    room = RelayRoom(sio)
    sio.on("connect", room.on_connect)
    sio.on("join", room.on_join)
    sio.on("answer", room.on_answer)
    sio.on("disconnect", room.on_disconnect)
    app = web.Application()
    sio.attach(app)
    app.add_routes([web.get("/healthz", _healthz)])

    async def shutdown(app: web.Application) -> None:
        await room.close()

    app.on_shutdown.append(shutdown)
    return app


async def _healthz(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


def main() -> None:
    """Entry point: `python -m bench.forwarding.reference_relay --port P` (listens on 127.0.0.1)."""
    parser = argparse.ArgumentParser(prog="reference_relay", description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    offer_loopback_candidates(True)
    web.run_app(build_app(), host="127.0.0.1", port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
