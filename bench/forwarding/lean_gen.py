"""Lean load generator: some of a room's participants, sending pre-packetized RTP, counting.

Runs as its own process (the orchestrator, `bench.forwarding.side_by_side`, starts one or two)
so the server's CPU is measured alone. aiortc does ICE and DTLS; RTP goes out through
the senders' transports (`bench.forwarding.lean_streams.PacedStream`) and comes in through one
reader thread (`bench.forwarding.lean_wire.FastReceiver`); nothing is encoded, decoded or
reassembled. Talks JSON lines: stdin gets the plan, then `{"feeds": ...}`, then
`{"window": [start_ns, end_ns]}`; stdout gets `published`, `flowing`, `result`.
Closing stdin ends it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiortc import MediaStreamTrack, RTCPeerConnection

from bench.forwarding.clips import Clip, ClipSpec, load_clips
from bench.forwarding.janus_client import JanusSession, new_peer_connection, publish, subscribe
from bench.forwarding.lean_streams import PacedStream, ReceiveTally, Window, stream_id
from bench.forwarding.lean_wire import FastReceiver, dtls_transport, silence_receiver
from media.hooks.negotiation import offer_loopback_candidates
from media.hooks.send import forward_through_sender
from tests.support.client import Client

log = logging.getLogger("bench.forwarding.lean_gen")
CAMERA = ClipSpec(video_kbps=500)
SCREEN = ClipSpec(width=1280, height=720, fps=15, video_kbps=900, keyframe_interval_s=4)
GRACE_S = 2.0


class IdleTrack(MediaStreamTrack):
    """A track whose `recv` never returns: its sender's own RTP loop stays asleep."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind

    async def recv(self) -> Any:
        """Never: the lean sender sends instead."""
        await asyncio.get_running_loop().create_future()


@dataclass
class Context:
    """What every participant of this process shares."""

    audio: Clip
    camera: Clip
    screen: Clip
    window: Window
    tally: ReceiveTally
    fast: FastReceiver
    streams: list[PacedStream] = field(default_factory=list)
    early: list[int] = field(default_factory=lambda: [0])
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    def stream(self, slot: int, kind: str) -> PacedStream:
        """A new paced stream for `slot`'s `kind` (audio, video, screen)."""
        clip = {"audio": self.audio, "video": self.camera, "screen": self.screen}[kind]
        paced = PacedStream(stream_id(slot, kind), clip, self.window)
        self.streams.append(paced)
        return paced


async def wait_connected(pc: RTCPeerConnection, within: float = 30.0) -> None:
    """Until the (bundled) DTLS transport is connected."""
    deadline = time.monotonic() + within
    while True:
        with contextlib.suppress(RuntimeError):
            if dtls_transport(pc).state == "connected":
                return
        if time.monotonic() > deadline:
            raise TimeoutError("peer connection not connected")
        await asyncio.sleep(0.05)


class PeerCircleParticipant(Client):
    """A `Client` whose publish slots send paced RTP and whose receivers stay silent."""

    def setup(self, ctx: Context, slot: int) -> None:
        """Call once before connecting."""
        self.ctx, self.slot = ctx, slot
        self.publish = {"mic": IdleTrack("audio"), "camera": IdleTrack("video")}
        self._hooked: set[str] = set()

    async def join(self) -> None:
        """Join publishing mic and camera (a screen comes later, by share-start)."""
        await self.emit("join", {"publish": {"mic": True, "camera": True}})

    async def answer_offer(self, offer: dict[str, Any]) -> str:
        """Hook each new publish slot's sender before `Client` answers."""
        if self.pc is None:
            self.pc = new_peer_connection()
            self.pc.on("track", self._on_track)
            pc = self.pc
            apply = pc.setRemoteDescription

            async def set_remote(description: Any) -> None:
                await apply(description)
                self._hook_senders(self._last_offer)

            pc.setRemoteDescription = set_remote  # type: ignore[method-assign,assignment]
        self._last_offer = offer
        return await super().answer_offer(offer)

    def _hook_senders(self, offer: dict[str, Any]) -> None:
        assert self.pc is not None
        kinds = {"mic": "audio", "camera": "video", "screen": "screen"}
        mids = {mid: src for src, mid in offer["publish"].items()}
        for transceiver in self.pc.getTransceivers():
            source = mids.get(transceiver.mid)
            if source in kinds and source not in self._hooked and source in self.publish:
                self._hooked.add(source)
                forward_through_sender(
                    transceiver.sender, self.ctx.stream(self.slot, kinds[source])
                )

    def _on_track(self, track: MediaStreamTrack) -> None:
        assert self.pc is not None
        for transceiver in self.pc.getTransceivers():
            if transceiver.receiver.track is track:
                silence_receiver(transceiver.receiver, self.ctx.early)

    def has_peer_connection(self) -> bool:
        """Whether the first offer has been applied."""
        return self.pc is not None

    async def start_screen(self) -> None:
        """Share a screen (needs a facilitator's link)."""
        self.publish["screen"] = IdleTrack("video")
        await self.emit("share-start", {})


async def run_peercircle(plan: dict[str, Any], ctx: Context) -> None:
    """Connect, join and hand over the sockets; the screen slot shares."""
    slots: list[int] = plan["slots"]
    people = []
    for slot, token in zip(slots, plan["tokens"], strict=True):
        person = PeerCircleParticipant(plan["base_url"], token)
        person.setup(ctx, slot)
        people.append(person)
    await asyncio.gather(*(p.connect() for p in people))
    for person in people:
        await person.wait_for(person.has_peer_connection, within=30)
        assert person.pc is not None
        await wait_connected(person.pc)
        await ctx.fast.take_over(person.slot, person.pc)
        if person.slot == plan.get("screen_slot"):
            await person.start_screen()
    emit("published", feeds={})
    await read_line()  # feeds: nothing to do, PeerCircle subscribes everyone
    ctx.closers.extend(p.close for p in people)


async def run_janus(plan: dict[str, Any], ctx: Context) -> None:
    """Publish every slot (and the screen), then subscribe each to every other feed."""
    session = JanusSession(plan["base_url"])
    await session.create()
    room = int(plan["room"])
    feeds: dict[str, int] = {}
    pcs: list[RTCPeerConnection] = []
    for slot in plan["slots"]:
        sources = [("audio", f"p{slot}"), ("video", f"p{slot}")]
        if slot == plan.get("screen_slot"):
            sources += [("screen", "screen")]
        for key in sorted({k for _, k in sources}):
            pc = new_peer_connection()
            for kind, _ in (s for s in sources if s[1] == key):
                transceiver = pc.addTransceiver(
                    IdleTrack("audio" if kind == "audio" else "video"), direction="sendonly"
                )
                forward_through_sender(transceiver.sender, ctx.stream(slot, kind))
            feeds[key] = await publish(session, room, pc, key)
            pcs.append(pc)
    for pc in pcs:  # Janus knows a feed only once its peer connection is up
        await wait_connected(pc)
    emit("published", feeds=feeds)
    every: dict[str, int] = (await read_line())["feeds"]
    for slot in plan["slots"]:
        others = [f for key, f in every.items() if key not in (f"p{slot}",)]
        if slot == plan.get("screen_slot"):
            others = [f for key, f in every.items() if key not in (f"p{slot}", "screen")]
        pc = new_peer_connection()

        @pc.on("track")
        def on_track(track: MediaStreamTrack, pc: RTCPeerConnection = pc) -> None:
            for transceiver in pc.getTransceivers():
                if transceiver.receiver.track is track:
                    silence_receiver(transceiver.receiver, ctx.early)

        await subscribe(session, room, pc, others)
        pcs.append(pc)
        await wait_connected(pc)
        await ctx.fast.take_over(slot, pc)

    async def close() -> None:
        for pc in pcs:
            await pc.close()
        await session.close()

    ctx.closers.append(close)


def expected_streams(plan: dict[str, Any]) -> set[tuple[int, int]]:
    """(subscriber slot, stream id) pairs this process's subscribers should receive."""
    everyone = range(int(plan["n"]))
    screen = plan.get("screen_slot")
    expected = set()
    for slot in plan["slots"]:
        for other in everyone:
            if other != slot:
                expected |= {(slot, stream_id(other, "audio")), (slot, stream_id(other, "video"))}
        if screen is not None and screen != slot:
            expected.add((slot, stream_id(screen, "screen")))
    return expected


def emit(event: str, **fields: Any) -> None:
    """One JSON line for the orchestrator."""
    sys.stdout.write(json.dumps({"event": event, **fields}) + "\n")
    sys.stdout.flush()


async def read_line() -> dict[str, Any]:
    """The orchestrator's next line ({} at EOF)."""
    line = await asyncio.to_thread(sys.stdin.readline)
    parsed: dict[str, Any] = json.loads(line) if line.strip() else {}
    return parsed


async def run(plan: dict[str, Any]) -> None:
    """Connect, report flowing streams, measure the window, report, wait for EOF."""
    offer_loopback_candidates(True)
    audio, camera = load_clips(CAMERA)
    _, screen = load_clips(SCREEN)
    window = Window()
    tally = ReceiveTally(window)
    ctx = Context(audio, camera, screen, window, tally, FastReceiver(tally.count))
    try:
        started = time.monotonic()
        if plan["server"] == "janus":
            await run_janus(plan, ctx)
        else:
            await run_peercircle(plan, ctx)
        expected = expected_streams(plan)
        deadline = time.monotonic() + float(plan["ready_timeout_s"])
        # The tally fills in the reader thread: there is no event to wait on.
        while not expected <= tally.seen and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.1)
        missing = sorted(expected - tally.seen)
        emit(
            "flowing",
            missing=missing[:20],
            missing_count=len(missing),
            seconds=round(time.monotonic() - started, 2),
        )
        start_ns, end_ns = (await read_line())["window"]
        window.start_ns, window.end_ns = int(start_ns), int(end_ns)
        await asyncio.sleep((window.end_ns - time.time_ns()) / 1e9 + GRACE_S)
        emit("result", **result(ctx))
        await read_line()
    finally:
        ctx.fast.stop()
        for stream in ctx.streams:
            stream.stop()
        for close in ctx.closers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(close(), 10)


def result(ctx: Context) -> dict[str, Any]:
    """Everything the orchestrator adds up."""
    tally = ctx.tally
    return {
        "sent": {str(s.sid): [s.tally.frames, s.tally.packets] for s in ctx.streams},
        "received": {f"{k[0]},{k[1]}": v for k, v in dict(tally.frames).items()},
        "latency": [{str(k): v for k, v in dict(h).items()} for h in tally.latency],
        "packets_received": tally.packets,
        "untagged": tally.untagged,
        "unprotect_errors": ctx.fast.unprotect_errors,
        "early": ctx.early[0],
        "nacks_received": sum(s.nacks for s in ctx.streams),
        "keyframes_on_request": sum(s.keyframes_on_request for s in ctx.streams),
        "send_failures": sum(s.send_failures for s in ctx.streams),
    }


def main() -> None:
    """Entry point: `python -m bench.forwarding.lean_gen`, plan on stdin (one JSON line)."""
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    logging.getLogger("bench").setLevel(logging.INFO)
    plan = json.loads(sys.stdin.readline())
    asyncio.run(run(plan))


if __name__ == "__main__":
    main()
