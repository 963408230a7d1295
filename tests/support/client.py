"""A PeerCircle client in Python (socket.io + aiortc) that mirrors docs/PROTOCOL.md.

Used by the media and integration tests and by the load generator in bench/.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import socketio
from aiortc import (
    MediaStreamTrack,
    RTCBundlePolicy,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError

from server.signaling import protocol

# The protocol's one definition (server/signaling/protocol.py): this client records
# every server event it names, so a new one needs no edit here.
PROTOCOL_VERSION = protocol.VERSION
SERVER_EVENTS = tuple(event.name for event in protocol.SERVER)


@dataclass
class Received:
    """What a client has received on one server-to-client slot (one `mid`)."""

    track_id: str | None
    kind: str
    frames: int = 0
    mid: str = ""
    first_frame_at: float | None = None
    last_frame: Any = None


FrameObserver = Callable[[Received, Any], None]
"""Called with each decoded frame (av.VideoFrame or av.AudioFrame) as it is consumed."""


@dataclass
class Client:
    """One participant: a socket.io connection and one peer connection.

    `auto_answer=False` leaves offers unanswered (see `offers_received` and
    `answer_offer`), for tests that drive negotiation by hand.
    """

    base_url: str
    token: str
    publish: dict[str, MediaStreamTrack | None] = field(default_factory=dict)
    consume: bool = True
    auto_answer: bool = True
    frame_observer: FrameObserver | None = None

    def __post_init__(self) -> None:
        self.sio = socketio.AsyncClient(reconnection=False)
        self.pc: RTCPeerConnection | None = None
        self.welcome: dict[str, Any] | None = None
        self.participants: dict[str, dict[str, Any]] = {}
        self.tracks: dict[str, dict[str, Any]] = {}
        self.errors: list[dict[str, Any]] = []
        self.events: list[tuple[str, Any]] = []
        self.received: dict[str, Received] = {}  # by mid
        self.offers_received: list[dict[str, Any]] = []
        # Revision -> time.monotonic() when our answer to it was sent.
        self.answered_at: dict[int, float] = {}
        self.refusal: dict[str, Any] | None = None
        self.disconnected = False
        self._mid_track: dict[str, str | None] = {}
        self._changed = asyncio.Condition()
        self._consumers: list[asyncio.Task[None]] = []
        self._negotiating = asyncio.Lock()
        self.offers = 0
        for name in SERVER_EVENTS:
            self.sio.on(name, self._recorder(name))
        self.sio.on("connect_error", self._on_connect_error)
        self.sio.on("disconnect", self._on_disconnect)

    # -- protocol --------------------------------------------------------------

    async def connect(self, join: bool = True, auth: dict[str, Any] | None = None) -> None:
        """Connect (token in auth, unless `auth` replaces it) and, by default, join."""
        await self.sio.connect(
            self.base_url,
            auth=auth if auth is not None else self._auth(),
            transports=["websocket"],
            wait_timeout=10,
        )
        if join:
            await self.join()

    async def connect_refused(self, auth: dict[str, Any] | None = None) -> dict[str, Any]:
        """Try to connect; return the refusal's `data` ({code, message}).

        Raises AssertionError if the server accepts the connection.
        """
        try:
            await self.connect(join=False, auth=auth)
        except socketio.exceptions.ConnectionError:
            pass
        else:
            await self.sio.disconnect()
            raise AssertionError("the server accepted a connection it should refuse")
        assert self.refusal is not None, "refused without connect_error data"
        data: dict[str, Any] = self.refusal.get("data") or {}
        return data

    def _auth(self) -> dict[str, Any]:
        return {"token": self.token, "protocol": PROTOCOL_VERSION}

    async def join(self) -> None:
        """Send `join`, asking to publish the sources we have tracks for."""
        await self.emit("join", {"publish": {src: True for src in self.publish}})

    async def emit(self, event: str, data: Any = None) -> None:
        """Send any event (tests use this for malformed input too)."""
        await self.sio.emit(event, data)

    def _recorder(self, name: str) -> Callable[[Any], Any]:
        async def record(data: Any = None) -> None:
            self.events.append((name, data))
            handler = getattr(self, "_on_" + name.replace("-", "_"), None)
            if handler is not None:
                await handler(data)
            await self._notify()

        return record

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def _on_connect_error(self, data: Any = None) -> None:
        self.refusal = data if isinstance(data, dict) else {"message": data}
        self.events.append(("connect_error", data))
        await self._notify()

    async def _on_disconnect(self, reason: Any = None) -> None:
        self.disconnected = True
        self.events.append(("disconnect", reason))
        await self._notify()

    async def _on_welcome(self, data: dict[str, Any]) -> None:
        self.welcome = data
        self.participants = {p["id"]: p for p in data["participants"]}
        self.tracks = {t["id"]: t for t in data["tracks"]}

    async def _on_participant_joined(self, data: dict[str, Any]) -> None:
        self.participants[data["id"]] = data

    async def _on_participant_updated(self, data: dict[str, Any]) -> None:
        self.participants[data["id"]] = data

    async def _on_participant_left(self, data: dict[str, Any]) -> None:
        self.participants.pop(data["id"], None)

    async def _on_track_published(self, data: dict[str, Any]) -> None:
        self.tracks[data["id"]] = data

    async def _on_track_unpublished(self, data: dict[str, Any]) -> None:
        self.tracks.pop(data["id"], None)

    async def _on_error(self, data: dict[str, Any]) -> None:
        self.errors.append(data)

    async def _on_offer(self, offer: dict[str, Any]) -> None:
        self.offers_received.append(offer)
        if self.auto_answer:
            await self.answer_offer(offer)

    async def answer_offer(self, offer: dict[str, Any]) -> str:
        """Apply `offer`, attach our tracks to its publish slots, send the answer; its SDP."""
        async with self._negotiating:
            if self.pc is None:
                self.pc = RTCPeerConnection(
                    RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
                )
                self.pc.on("track", self._on_track)
            pc = self.pc
            await pc.setRemoteDescription(RTCSessionDescription(offer["sdp"], "offer"))
            publish_mids = {mid: src for src, mid in offer["publish"].items()}
            for transceiver in pc.getTransceivers():
                source = publish_mids.get(transceiver.mid)
                track = self.publish.get(source) if source else None
                if track is not None and transceiver.sender.track is None:
                    transceiver.direction = "sendonly"
                    transceiver.sender.replaceTrack(track)
            self._mid_track = dict(offer["receive"])
            for mid, track_id in self._mid_track.items():
                if mid in self.received:
                    self.received[mid].track_id = track_id
            answer = await pc.createAnswer()
            await pc.setLocalDescription(answer)
            self.offers += 1
            sdp = str(pc.localDescription.sdp)
            if not self.sio.connected:
                return sdp  # closed while answering: nobody to tell
            await self.emit("answer", {"revision": offer["revision"], "sdp": sdp})
            self.answered_at[int(offer["revision"])] = time.monotonic()
            return sdp

    def _on_track(self, track: MediaStreamTrack) -> None:
        assert self.pc is not None
        mid = next(str(t.mid) for t in self.pc.getTransceivers() if t.receiver.track is track)
        received = Received(self._mid_track.get(mid), track.kind, mid=mid)
        self.received[mid] = received
        # Every received track must be consumed: aiortc queues frames without bound.
        self._consumers.append(asyncio.ensure_future(self._consume(track, received)))

    async def _consume(self, track: MediaStreamTrack, received: Received) -> None:
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            received.frames += 1
            received.last_frame = frame
            if received.first_frame_at is None:
                received.first_frame_at = time.monotonic()
            if self.frame_observer is not None:
                self.frame_observer(received, frame)

    # -- waiting -----------------------------------------------------------------

    async def wait_for(self, predicate: Callable[[], bool], within: float = 10.0) -> None:
        """Wait until `predicate()` holds, re-checking on every event and every 100 ms."""

        async def loop() -> None:
            while not predicate():
                async with self._changed:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._changed.wait(), 0.1)

        await asyncio.wait_for(loop(), within)

    async def next_event(
        self,
        name: str,
        match: Callable[[Any], bool] = lambda data: True,
        since: int = 0,
        within: float = 10.0,
    ) -> Any:
        """The data of the first `name` event at index >= `since` in `events` that
        satisfies `match`, waiting up to `within` seconds for it."""
        found: list[Any] = []

        def seen() -> bool:
            for event, data in self.events[since:]:
                if event == name and match(data):
                    found.append(data)
                    return True
            return False

        await self.wait_for(seen, within)
        return found[0]

    def frames_from(self, participant_id: str, kind: str) -> int:
        """Frames received so far of `participant_id`'s track of `kind`."""
        total = 0
        for received in self.received.values():
            track = self.tracks.get(received.track_id or "")
            if track and track["participant"] == participant_id and track["kind"] == kind:
                total += received.frames
        return total

    @property
    def participant_id(self) -> str:
        """Our id, from the welcome."""
        assert self.welcome is not None
        return str(self.welcome["you"]["id"])

    async def close(self) -> None:
        """Disconnect and close the peer connection."""
        for task in self._consumers:
            task.cancel()
        if self.sio.connected:
            await self.sio.disconnect()
        if self.pc is not None:
            await self.pc.close()
