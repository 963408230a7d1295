"""Encoded-frame forwarding between real aiortc peers through the server process."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import pytest_asyncio
from aiortc import AudioStreamTrack
from aiortc.rtp import RTCP_PSFB_APP, AnyRtcpPacket, RtcpPsfbPacket, unpack_remb_fci

from media.peer import BITRATE_CAP
from tests.support.client import Client, Received
from tests.support.media import EncodedPatternTrack, closest_level, read_pattern
from tests.support.server import PeerCircleServer, StartServer

pytestmark = pytest.mark.media

MakeClient = Callable[..., Client]


@pytest_asyncio.fixture
async def server(start_server: StartServer) -> PeerCircleServer:
    """A server per test: media counters and subscriptions start from nothing."""
    return await start_server()


# Each sender's signature luma: a receiver tells whose picture it decoded from it.
LEVELS = {"Alex": 50, "Sam": 110, "Jordan": 170, "Riley": 220}
MEDIA_WITHIN = 15.0


@dataclass
class VideoSeen:
    """Decoded video of one sender, as one receiver saw it."""

    frames: int = 0
    first_at: float | None = None
    bar_positions: set[int] = field(default_factory=set)


@dataclass
class Peer:
    """A participant in the call: their client, and what they decoded, by sender id."""

    name: str
    id: str
    client: Client
    camera: EncodedPatternTrack
    seen: dict[str, VideoSeen] = field(default_factory=dict)
    wrong_slot: int = 0
    unknown: int = 0

    def video_from(self, other: Peer) -> int:
        return self.seen[other.id].frames if other.id in self.seen else 0

    def audio_from(self, other: Peer) -> int:
        return self.client.frames_from(other.id, "audio")

    def track_of(self, other: Peer, kind: str) -> str:
        return next(
            tid
            for tid, t in self.client.tracks.items()
            if t["participant"] == other.id and t["kind"] == kind
        )


class Call:
    """One session with peers that publish a silent mic and a pattern camera."""

    def __init__(self, server: PeerCircleServer, clients: MakeClient, session_id: str) -> None:
        self.server = server
        self.clients = clients
        self.session_id = session_id
        self.levels: dict[str, int] = {}  # participant id -> signature luma
        self.peers: list[Peer] = []

    async def join(self, name: str, role: str = "patient") -> Peer:
        link = await self.server.mint_link(self.session_id, name, role)
        self.levels[link["participant_id"]] = LEVELS[name]
        camera = EncodedPatternTrack(LEVELS[name])
        publish = {"mic": AudioStreamTrack(), "camera": camera}
        client = self.clients(self.server, link["token"], publish=publish)
        peer = Peer(name, link["participant_id"], client, camera)
        client.frame_observer = self._observer(peer)
        await client.connect()
        await client.wait_for(lambda: 1 in client.answered_at, MEDIA_WITHIN)
        assert client.pc is not None
        camera.sender = next(
            t.sender for t in client.pc.getTransceivers() if t.sender.track is camera
        )
        self.peers.append(peer)
        return peer

    def _observer(self, peer: Peer) -> Callable[[Received, Any], None]:
        def observe(received: Received, frame: Any) -> None:
            if received.kind != "video":
                return
            pattern = read_pattern(frame)
            sender = closest_level(pattern.level, self.levels)
            if sender is None:
                peer.unknown += 1
                return
            seen = peer.seen.setdefault(sender, VideoSeen())
            seen.frames += 1
            if seen.first_at is None:
                seen.first_at = time.monotonic()
            if pattern.bar_x is not None:
                seen.bar_positions.add(pattern.bar_x)
            track = peer.client.tracks.get(received.track_id or "")
            if track is not None and track["participant"] != sender:
                peer.wrong_slot += 1

        return observe

    async def until(self, predicate: Callable[[], bool], within: float = MEDIA_WITHIN) -> None:
        """Wait until `predicate()` holds (re-checked on events and every 100 ms)."""
        await self.peers[0].client.wait_for(predicate, within)

    def pairs(self) -> list[tuple[Peer, Peer]]:
        return [(rx, tx) for rx in self.peers for tx in self.peers if rx is not tx]

    async def all_receiving(self, video: int, audio: int, within: float = MEDIA_WITHIN) -> None:
        """Until every peer has decoded `video` more video and `audio` more audio frames
        of every other peer than it had when called."""
        start = {(rx.id, tx.id): (rx.video_from(tx), rx.audio_from(tx)) for rx, tx in self.pairs()}

        def enough() -> bool:
            return all(
                rx.video_from(tx) >= start[rx.id, tx.id][0] + video
                and rx.audio_from(tx) >= start[rx.id, tx.id][1] + audio
                for rx, tx in self.pairs()
            )

        try:
            await self.until(enough, within)
        except TimeoutError:
            got = {
                f"{rx.name}<-{tx.name}": (rx.video_from(tx), rx.audio_from(tx))
                for rx, tx in self.pairs()
            }
            slots = {
                p.name: {m: (r.track_id, r.kind, r.frames) for m, r in p.client.received.items()}
                for p in self.peers
            }
            offers = {
                p.name: [(o["revision"], o["receive"]) for o in p.client.offers_received]
                for p in self.peers
            }
            cameras = {
                p.name: (p.camera.frames_sent, p.camera.keyframes_sent, len(p.camera.requests_seen))
                for p in self.peers
            }
            metrics = await self.server.metrics()
            raise AssertionError(
                f"media stalled at {time.strftime('%H:%M:%S')}: started {start}, now {got}, "
                f"slots {slots}, "
                f"cameras (frames, keyframes, requests) {cameras}, server {metrics}, "
                f"offers {offers}"
            ) from None


def waiting_for(track_ids: set[str]) -> Callable[[Any], bool]:
    return lambda data: data["id"] in track_ids


async def new_call(server: PeerCircleServer, clients: MakeClient, *names: str) -> Call:
    session = await server.create_session("Media group")
    call = Call(server, clients, session["id"])
    for name in names:
        await call.join(name)
    return call


async def flowing_call(server: PeerCircleServer, clients: MakeClient, *names: str) -> Call:
    """A new call whose media already flows between everyone."""
    call = await new_call(server, clients, *names)
    await call.all_receiving(video=5, audio=10)
    return call


async def test_three_peers_decode_each_other_and_the_server_never_transcodes(
    server: PeerCircleServer, clients: MakeClient
) -> None:
    call = await new_call(server, clients, "Alex", "Sam", "Jordan")
    await call.all_receiving(video=10, audio=25)
    # ...and it keeps flowing.
    await call.all_receiving(video=15, audio=40)

    for rx, tx in call.pairs():
        # Moving pictures, not one frame repeated.
        assert len(rx.seen[tx.id].bar_positions) >= 5, (rx.name, tx.name)
    # Each slot showed the picture of the participant its offer said it carries.
    assert [(p.wrong_slot, p.unknown) for p in call.peers] == [(0, 0)] * 3
    state = await server.session_state(call.session_id)
    assert sorted((t["participant"], t["kind"]) for t in state["tracks"]) == sorted(
        (p.id, kind) for p in call.peers for kind in ("audio", "video")
    )
    metrics = await server.metrics()
    assert metrics["video_encodes"] == 0
    assert metrics["video_decodes"] == 0
    assert metrics["frames_in"] > 0
    assert metrics["frames_out"] > 0


def stream_of_each_mid(sdp: str) -> dict[str, str]:
    """mid -> the MediaStream id of its `a=msid` line, over an SDP's media sections."""
    streams: dict[str, str] = {}
    for section in sdp.split("\nm=")[1:]:
        lines = section.splitlines()
        mid = next((x.split(":", 1)[1] for x in lines if x.startswith("a=mid:")), None)
        msid = next((x.split(":", 1)[1] for x in lines if x.startswith("a=msid:")), None)
        if mid is not None and msid is not None:
            streams[mid] = msid.split()[0]
    return streams


async def test_each_publishers_audio_and_video_share_a_stream_of_their_own(
    server: PeerCircleServer, clients: MakeClient
) -> None:
    # Browsers keep a stream's audio and video in sync (lip sync): each publisher's
    # mic and camera must arrive in one MediaStream, and no one else's.
    call = await flowing_call(server, clients, "Alex", "Sam", "Jordan")
    for rx in call.peers:
        offer = rx.client.offers_received[-1]
        streams = stream_of_each_mid(offer["sdp"])
        by_publisher: dict[str, set[str]] = {}
        for mid, track_id in offer["receive"].items():
            if track_id is None:
                continue
            publisher = rx.client.tracks[track_id]["participant"]
            by_publisher.setdefault(publisher, set()).add(streams[mid])
        assert sorted(by_publisher) == sorted(p.id for p in call.peers if p is not rx)
        assert all(len(ids) == 1 for ids in by_publisher.values()), by_publisher
        assert len({next(iter(ids)) for ids in by_publisher.values()}) == 2, by_publisher


async def test_publishers_get_receiver_reports_and_a_bitrate_cap(
    server: PeerCircleServer, clients: MakeClient
) -> None:
    # A browser raises its send bitrate only on receiver reports that show little
    # loss, and keeps under the REMB it is sent: the server sends both.
    call = await flowing_call(server, clients, "Alex", "Sam")
    alex = call.peers[0]
    assert alex.client.pc is not None
    camera = next(
        t.sender for t in alex.client.pc.getTransceivers() if t.sender.track is alex.camera
    )
    caps: list[int] = []
    handle = camera._handle_rtcp_packet

    async def recording(packet: AnyRtcpPacket) -> None:
        if isinstance(packet, RtcpPsfbPacket) and packet.fmt == RTCP_PSFB_APP:
            bitrate, ssrcs = unpack_remb_fci(packet.fci)
            if camera._ssrc in ssrcs:
                caps.append(bitrate)
        await handle(packet)

    camera._handle_rtcp_packet = recording  # type: ignore[method-assign]

    async def reported() -> list[Any]:
        stats = await camera.getStats()
        return [s for s in stats.values() if s.type == "remote-inbound-rtp"]

    deadline = time.monotonic() + MEDIA_WITHIN
    while not (reports := await reported()) or not caps:
        assert time.monotonic() < deadline, f"reports {reports}, caps {caps}"
        await asyncio.sleep(0.2)
    assert reports[0].packetsReceived > 0 and reports[0].packetsLost == 0
    assert caps[-1] == BITRATE_CAP["camera"]


async def test_when_one_leaves_the_others_stop_receiving_it(
    server: PeerCircleServer, clients: MakeClient
) -> None:
    call = await new_call(server, clients, "Alex", "Sam", "Jordan")
    alex, sam, jordan = call.peers
    await call.all_receiving(video=5, audio=10)
    jordan_tracks = {sam.track_of(jordan, "audio"), sam.track_of(jordan, "video")}
    audio_slots = {
        rx.id: next(
            r
            for r in rx.client.received.values()
            if r.track_id in jordan_tracks and r.kind == "audio"
        )
        for rx in (alex, sam)
    }
    marks = {rx.id: len(rx.client.events) for rx in (alex, sam)}

    await jordan.client.emit("leave", {})
    assert await jordan.client.next_event("session-left") == {"reason": "left"}

    for rx in (alex, sam):
        since = marks[rx.id]
        unpublished: set[str] = set()
        for _ in jordan_tracks:
            event = await rx.client.next_event(
                "track-unpublished", waiting_for(jordan_tracks - unpublished), since
            )
            unpublished.add(event["id"])
        left = await rx.client.next_event("participant-left", lambda d: d["id"] == jordan.id, since)
        assert left == {"id": jordan.id, "reason": "left"}
        # The server re-offers: no slot carries Jordan's tracks any more.
        await rx.client.next_event(
            "offer", lambda d: not jordan_tracks & set(d["receive"].values()), since
        )

    # Let what was in flight arrive, then Jordan's media must stay still while the
    # others' keeps flowing.
    remaining = [(alex, sam), (sam, alex)]
    await call.until(lambda: all(rx.video_from(tx) > 0 for rx, tx in remaining))
    start = {rx.id: rx.video_from(tx) for rx, tx in remaining}
    await call.until(lambda: all(rx.video_from(tx) >= start[rx.id] + 5 for rx, tx in remaining))
    stopped = {rx.id: (rx.video_from(jordan), audio_slots[rx.id].frames) for rx in (alex, sam)}
    await call.until(lambda: all(rx.video_from(tx) >= start[rx.id] + 25 for rx, tx in remaining))
    assert {
        rx.id: (rx.video_from(jordan), audio_slots[rx.id].frames) for rx in (alex, sam)
    } == stopped
    state = await server.session_state(call.session_id)
    assert jordan.id not in {p["id"] for p in state["participants"]}
    assert jordan.id not in {t["participant"] for t in state["tracks"]}


async def test_newcomer_gets_video_from_every_publisher_within_seconds(
    server: PeerCircleServer, clients: MakeClient
) -> None:
    call = await new_call(server, clients, "Alex", "Sam")
    alex, sam = call.peers
    # Mid-stream: the publishers' encoders are long past their first keyframe.
    await call.all_receiving(video=30, audio=10)
    keyframes = {p.id: p.camera.keyframes_sent for p in call.peers}

    riley = await call.join("Riley")
    await call.until(lambda: all(riley.video_from(p) > 0 for p in (alex, sam)), within=10)
    for publisher in (alex, sam):
        camera = riley.track_of(publisher, "video")
        offer = next(o for o in riley.client.offers_received if camera in o["receive"].values())
        answered = riley.client.answered_at[offer["revision"]]
        first = riley.seen[publisher.id].first_at
        assert first is not None
        assert first - answered < 3.0, (publisher.name, first - answered)
        # The picture started because the server asked the publisher for a keyframe.
        assert publisher.camera.keyframes_sent > keyframes[publisher.id]
    # And the others get the newcomer.
    await call.all_receiving(video=5, audio=10)


async def test_activity_in_another_session_does_not_disturb_a_call(
    server: PeerCircleServer, clients: MakeClient
) -> None:
    call = await new_call(server, clients, "Alex", "Sam")
    await call.all_receiving(video=10, audio=25)

    other = await new_call(server, clients, "Riley")
    await other.peers[0].client.next_event("welcome")
    await other.peers[0].client.wait_for(lambda: 1 in other.peers[0].client.answered_at)

    await call.all_receiving(video=15, audio=25, within=5)
    for peer in call.peers:
        assert None not in peer.client.offers_received[-1]["receive"].values()
