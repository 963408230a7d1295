"""The per-mic audio tap between real aiortc peers and an in-process MediaServer.

Publishers send pre-encoded Opus packets of espeak-ng speech with media times the
test chooses (`tests/support/audio.py`), so what the tap reports can be checked
against the source: voiced time, frame starts on the RTP clock, gaps.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import pytest_asyncio
from aiortc import MediaStreamTrack

from media.plan import SubscriptionPlan
from media.server import MediaServer
from media.voice import FRAME_BYTES, FRAME_S
from tests.support.audio import (
    PACKET_SAMPLES,
    RATE,
    OpusPacketTrack,
    Scheduled,
    back_to_back,
    encode_opus,
    speak,
    voiced_seconds,
)
from tests.support.media import EncodedPatternTrack
from tests.support.voice import DirectPeer, MediaRecorder

pytestmark = pytest.mark.media

SENTENCE_A = "Every voice in this group deserves to be heard."
SENTENCE_B = "Take a slow breath and tell us how your week went."


@pytest.fixture(scope="module")
def sentences() -> tuple[bytes, bytes]:
    """Two trimmed sentences in two voices (48 kHz mono PCM)."""
    return speak(SENTENCE_A, "en-us"), speak(SENTENCE_B, "en-gb+f3")


class Plane:
    """An in-process MediaServer, its recording listener, and the peers of a test."""

    def __init__(self, executor: ThreadPoolExecutor | None = None) -> None:
        self.recorder = MediaRecorder()
        self.server = MediaServer(self.recorder, audio_executor=executor)
        self.peers: list[DirectPeer] = []

    async def peer(self, peer_id: str, **publish: MediaStreamTrack) -> DirectPeer:
        peer = DirectPeer(self.server, self.recorder, peer_id, publish)
        self.peers.append(peer)
        await peer.open()
        wanted = {(peer_id, source) for source in publish}
        await self.recorder.until(lambda: wanted <= self.recorder.published.keys())
        return peer

    def mic_of(self, peer_id: str) -> str:
        return self.recorder.published[peer_id, "mic"]

    async def close(self) -> None:
        for peer in self.peers:
            await peer.close()
        await self.server.close()


@pytest_asyncio.fixture
async def plane() -> AsyncIterator[Plane]:
    made = Plane()
    yield made
    await made.close()


async def test_speech_is_measured_on_the_rtp_clock(
    plane: Plane, sentences: tuple[bytes, bytes]
) -> None:
    a, b = sentences
    packets_a, packets_b = encode_opus(a), encode_opus(b)
    gap_s = 1.5
    # Sentence B's media time starts 1.5 s after A ends, but it is sent right after
    # A (no packets for the gap, as with DTX): only the RTP clock knows the gap.
    b_pts = len(packets_a) * PACKET_SAMPLES + round(gap_s * RATE)
    sent_a = back_to_back(packets_a)
    schedule = sent_a + back_to_back(packets_b, b_pts, sent_a[-1].send_at + 0.02)
    mic = OpusPacketTrack(schedule)
    before = time.time()
    await plane.peer("alex", mic=mic)
    await mic.done.wait()
    expected_frames = (len(packets_a) + len(packets_b)) * 2 // 3 - 2
    await plane.recorder.until(lambda: len(plane.recorder.frames_of("alex")) >= expected_frames)

    frames = plane.recorder.frames_of("alex")
    # webrtcvad on the audio that was sent: the gap is not audio (webrtcvad's
    # overhang would call its first 100-200 ms voiced).
    truth = voiced_seconds(a + b)
    voiced = sum(f.voiced for f in frames) * FRAME_S
    assert abs(voiced - truth) <= 0.03 * truth, (voiced, truth)
    assert all(f.pcm is None for f in frames)  # capture is off by default
    # Frames follow the RTP clock: 30 ms apart within a run, and B starts exactly
    # where its media time says, not when it arrived (20 ms after A).
    starts = [f.start for f in frames]
    steps = [round(later - earlier, 4) for earlier, later in itertools.pairwise(starts)]
    jumps = [s for s in steps if s != FRAME_S]
    assert len(jumps) == 1, jumps
    first_b = starts[steps.index(jumps[0]) + 1]
    assert first_b - starts[0] == pytest.approx(b_pts / RATE, abs=1e-6)
    # The clock is anchored at the first packet's arrival (time.time by default).
    assert before <= starts[0] <= time.time()
    stats = plane.server.stats()
    assert stats["mic_taps"] == 1
    assert stats["audio_decoders"] == 1
    assert stats["voice_frames"] == len(frames)


async def test_capture_attaches_pcm_only_while_on(
    plane: Plane, sentences: tuple[bytes, bytes]
) -> None:
    packets = encode_opus(b"".join(sentences * 4))
    mic = OpusPacketTrack(back_to_back(packets))
    await plane.peer("sam", mic=mic)
    recorder = plane.recorder
    await recorder.until(lambda: len(recorder.frames_of("sam")) >= 20)
    assert all(f.pcm is None for f in recorder.frames_of("sam"))

    plane.server.capture_audio("sam", True)
    await recorder.until(lambda: recorder.frames_of("sam")[-1].pcm is not None)
    captured_from = len(recorder.frames_of("sam"))
    await recorder.until(lambda: len(recorder.frames_of("sam")) >= captured_from + 20)
    later = recorder.frames_of("sam")[captured_from - 1 :]
    assert all(f.pcm is not None and len(f.pcm) == FRAME_BYTES for f in later)
    # What a frame carries is the audio webrtcvad judged: silence has no level.
    assert any(f.voiced for f in later)

    plane.server.capture_audio("sam", False)
    off_at = len(recorder.frames_of("sam"))
    # Whatever is delivered after the switch carries no PCM, even a batch that was
    # being decoded at the time.
    await recorder.until(lambda: len(recorder.frames_of("sam")) >= off_at + 20)
    assert all(f.pcm is None for f in recorder.frames_of("sam")[off_at:])
    assert not mic.done.is_set()


async def test_lost_packets_leave_gaps_and_a_restart_reanchors(
    plane: Plane, sentences: tuple[bytes, bytes]
) -> None:
    a, _b = sentences
    packets = encode_opus(a + a)
    whole = back_to_back(packets)
    # Lose 0.4 s in the middle of speech (20 packets) and every 7th packet after it.
    lost = set(range(60, 80)) | set(range(90, len(packets), 7))
    sent = [s for n, s in enumerate(whole) if n not in lost]
    # Then the publisher restarts: its RTP time jumps 60 s ahead while it keeps
    # sending in real time.
    jump = 60 * RATE
    restart_at = whole[-1].send_at + 0.02
    after = [
        Scheduled(p.payload, p.pts + jump + len(packets) * PACKET_SAMPLES, p.send_at + restart_at)
        for p in whole[:50]
    ]
    mic = OpusPacketTrack(sent + after)
    await plane.peer("riley", mic=mic)
    await mic.done.wait()
    recorder = plane.recorder
    await recorder.until(lambda: plane.server.stats()["tap_reanchors"] == 1)
    await recorder.until(lambda: plane.server.stats()["tap_packets"] == len(sent) + 50)
    await recorder.until(lambda: plane.server.stats()["voice_frames"] >= 32)

    frames = recorder.frames_of("riley")
    first = frames[0].start
    # Nothing at all for the lost 0.4 s (no invented frames, voiced or not).
    hole = (first + 60 * PACKET_SAMPLES / RATE, first + 80 * PACKET_SAMPLES / RATE)
    assert not [f for f in frames if hole[0] - FRAME_S < f.start < hole[1]]
    # Fewer frames than the audio sent would make without loss.
    assert len(frames) < (len(packets) + 50) * 2 // 3
    # After the restart the clock is anchored anew (at arrival), not 60 s ahead.
    restarted = [f for f in frames if f.start > frames[0].start + len(packets) * 0.02]
    assert restarted, "no frames after the restart"
    assert restarted[0].start - first == pytest.approx(restart_at, abs=1.0)
    assert restarted[0].start <= time.time()


async def test_one_decoder_per_mic_and_a_busy_tap_never_holds_forwarding(
    sentences: tuple[bytes, bytes],
) -> None:
    a, b = sentences
    # The tap's worker is busy (stuck on the test's job) until the test lets it go.
    executor = ThreadPoolExecutor(1)
    release = threading.Event()
    executor.submit(release.wait, 30)
    plane = Plane(executor)
    try:
        packets = encode_opus(b"".join((a, b) * 3))
        mic = OpusPacketTrack(back_to_back(packets))
        await plane.peer("alex", mic=mic, camera=EncodedPatternTrack(50))
        listeners = [await plane.peer(f"sub{n}") for n in range(3)]
        plan = {p.id: frozenset({plane.mic_of("alex")}) for p in listeners}
        plane.server.apply_plan(SubscriptionPlan(plan))
        # Every subscriber hears the mic while the tap has decoded nothing.
        await plane.recorder.until(lambda: all(p.audio_frames >= 50 for p in listeners))
        assert plane.recorder.frames_of("alex") == []
        assert plane.server.stats()["voice_frames"] == 0

        release.set()
        await plane.recorder.until(lambda: len(plane.recorder.frames_of("alex")) >= 30)
        stats = plane.server.stats()
        # One mic tapped (the camera is not), one decoder for three subscribers.
        assert stats["mic_taps"] == 1
        assert stats["audio_decoders"] == 1
        # Closing the mic's peer frees its decoder.
        await plane.server.close_peer("alex")
        await plane.recorder.until(lambda: plane.server.stats()["audio_decoders"] == 0)
        assert plane.server.stats()["mic_taps"] == 0
    finally:
        release.set()
        await plane.close()
        executor.shutdown(wait=True)
