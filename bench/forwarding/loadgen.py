"""Load generator: N participants publishing pre-encoded mic + camera, counting without decoding.

Runs in its own process so the server's CPU can be measured alone. Reads a JSON plan
(one line) on stdin and writes one JSON line per milestone on stdout (`ready`,
`window-start`, `window-end`), each with counters; `bench.forwarding.mediarelay` reads the
server's CPU when a window line arrives, then sends a line (or closes stdin) to let
us disconnect. Run from the repository root so `tests.support` imports.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiortc import MediaStreamTrack, RTCRtpSender

from bench.forwarding.clips import ClipTrack, load_clips
from media.hooks.negotiation import offer_loopback_candidates
from tests.support.aiortc_taps import take_keyframe_request, tap_encoded_frames
from tests.support.client import Client

log = logging.getLogger("bench.forwarding.loadgen")
KINDS = ("audio", "video")
CLOSE_WITHIN_S = 15.0
LINGER_MAX_S = 30.0


@dataclass
class CountingClient(Client):
    """A `Client` whose receivers hand encoded frames to a counter instead of a decoder.

    Decoding every received stream would make the load generator, not the server,
    the bottleneck; `Received.frames` counts reassembled encoded frames instead, and
    `intact` those byte-identical to a frame of the clips (a forwarder's should all be).
    """

    known_frames: frozenset[bytes] = frozenset()

    def __post_init__(self) -> None:
        super().__post_init__()
        self.intact = 0

    def _on_track(self, track: MediaStreamTrack) -> None:
        super()._on_track(track)
        assert self.pc is not None
        transceiver = next(t for t in self.pc.getTransceivers() if t.receiver.track is track)
        received = self.received[str(transceiver.mid)]

        def count(data: bytes, timestamp: int) -> None:
            received.frames += 1
            if data in self.known_frames:
                self.intact += 1

        # The track event comes from setRemoteDescription, before the receiver starts.
        tap_encoded_frames(transceiver.receiver, count)

    async def answer_offer(self, offer: dict[str, Any]) -> str:
        """Answer as `Client` does, then let our clip tracks hear keyframe requests."""
        sdp = await super().answer_offer(offer)
        assert self.pc is not None
        for transceiver in self.pc.getTransceivers():
            sender = transceiver.sender
            if isinstance(sender.track, ClipTrack):
                sender.track.follow_keyframe_requests(_keyframe_flag(sender))
        return sdp


def _keyframe_flag(sender: RTCRtpSender) -> Callable[[], bool]:
    return lambda: take_keyframe_request(sender)


@dataclass(frozen=True)
class LoadPlan:
    """What to run: where, who (one join token each), and for how long."""

    base_url: str
    tokens: tuple[str, ...]
    ready_timeout_s: float
    warmup_s: float
    window_s: float

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> LoadPlan:
        """Parse the plan bench.forwarding.mediarelay writes to our stdin."""
        return cls(
            base_url=str(raw["base_url"]),
            tokens=tuple(str(t) for t in raw["tokens"]),
            ready_timeout_s=float(raw["ready_timeout_s"]),
            warmup_s=float(raw["warmup_s"]),
            window_s=float(raw["window_s"]),
        )


def snapshot(clients: list[CountingClient]) -> dict[str, Any]:
    """Frames sent per published track and received per (subscriber, publisher, kind)."""
    sent: dict[str, int] = {}
    received: dict[str, int] = {}
    keyframes_on_request = 0
    ids = [c.participant_id for c in clients if c.welcome is not None]
    for client in clients:
        if client.welcome is None:
            continue
        me = client.participant_id
        for track in client.publish.values():
            assert isinstance(track, ClipTrack)
            sent[f"{me}/{track.kind}"] = track.frames_sent
            keyframes_on_request += track.keyframes_on_request
        for other in ids:
            if other != me:
                for kind in KINDS:
                    received[f"{me}<{other}/{kind}"] = client.frames_from(other, kind)
    return {
        "sent": sent,
        "received": received,
        "keyframes_on_request": keyframes_on_request,
        "intact": sum(c.intact for c in clients),
        "not_connected": sum(
            1 for c in clients if c.pc is None or c.pc.connectionState != "connected"
        ),
        "errors": sum(len(c.errors) for c in clients),
    }


def missing_streams(clients: list[CountingClient]) -> list[str]:
    """Streams (subscriber<publisher/kind) with no frame yet; everyone not welcomed."""
    missing = [f"unwelcomed {i}" for i, c in enumerate(clients) if c.welcome is None]
    ids = [c.participant_id for c in clients if c.welcome is not None]
    for client in clients:
        if client.welcome is None:
            continue
        me = client.participant_id
        for other in ids:
            for kind in KINDS:
                if other != me and client.frames_from(other, kind) == 0:
                    missing.append(f"{me}<{other}/{kind}")
    return missing


class LoopLag:
    """How late a 50 ms timer fires: tells whether the load generator itself was saturated."""

    def __init__(self) -> None:
        self.worst_s = 0.0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start measuring (resets the worst lag)."""
        self.worst_s = 0.0
        self._task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + 0.05
            await asyncio.sleep(0.05)
            self.worst_s = max(self.worst_s, loop.time() - due)

    def stop(self) -> None:
        """Stop measuring."""
        if self._task is not None:
            self._task.cancel()


def emit(event: str, **fields: Any) -> None:
    """One JSON line for bench.forwarding.mediarelay."""
    sys.stdout.write(json.dumps({"event": event, **fields}) + "\n")
    sys.stdout.flush()


async def run(plan: LoadPlan) -> None:
    """Connect everyone, wait until media flows, warm up, then measure one window."""
    offer_loopback_candidates(True)
    audio, video = load_clips()
    known = frozenset(audio.packets + video.packets)
    clients = [
        CountingClient(
            plan.base_url,
            token,
            publish={"mic": ClipTrack(audio), "camera": ClipTrack(video)},
            known_frames=known,
        )
        for token in plan.tokens
    ]
    try:
        await asyncio.gather(*(c.connect() for c in clients))
        started = time.monotonic()
        with contextlib.suppress(TimeoutError):
            await clients[0].wait_for(
                lambda: not missing_streams(clients), within=plan.ready_timeout_s
            )
        missing = missing_streams(clients)
        emit("ready", missing=missing, seconds=round(time.monotonic() - started, 2))
        if missing:
            for client in clients:
                log.warning("%s received %s", client.participant_id, client.received)
        await asyncio.sleep(plan.warmup_s)
        lag = LoopLag()
        lag.start()
        emit("window-start", counters=snapshot(clients))
        await asyncio.sleep(plan.window_s)
        emit("window-end", counters=snapshot(clients), loop_lag_worst_s=round(lag.worst_s, 3))
        lag.stop()
        # Stay connected until the orchestrator has read the server's own counters
        # (a line or EOF on stdin), so they still cover every peer.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.to_thread(sys.stdin.readline), LINGER_MAX_S)
    finally:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                asyncio.gather(*(c.close() for c in clients), return_exceptions=True),
                CLOSE_WITHIN_S,
            )


def main() -> None:
    """Entry point: `python -m bench.forwarding.loadgen < plan.json` (one line of JSON)."""
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    plan = LoadPlan.from_json(json.loads(sys.stdin.readline()))
    asyncio.run(run(plan))


if __name__ == "__main__":
    main()
