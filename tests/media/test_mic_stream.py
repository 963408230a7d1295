"""One mic's decode + VAD (`media/vad.py`) fed real Opus packets directly, no network:
ordering, duplicates, wrap-around, restarts, DTX and garbage."""

from __future__ import annotations

import ctypes
import random

import pytest

from media.opus import bundled_library
from media.vad import MicStream, StreamCounters, TapPacket
from media.voice import FRAME_S, SILENCE_DBFS, VoiceFrame
from tests.support.audio import PACKET_SAMPLES, encode_opus, silence, speak, voiced_seconds

ANCHOR = 1_000.0


@pytest.fixture(scope="module")
def speech() -> bytes:
    """About three seconds of speech (48 kHz mono PCM)."""
    return speak("We take turns, and everyone gets the time they need to speak.")


@pytest.fixture(scope="module")
def packets(speech: bytes) -> list[bytes]:
    """The speech as 20 ms Opus packets."""
    return encode_opus(speech)


def stream_of(
    payloads: list[bytes], ssrc: int = 7, seq0: int = 100, ts0: int = 5_000, at: float = ANCHOR
) -> list[TapPacket]:
    """Packets as the forward path hands them over: arrival 20 ms apart from `at`."""
    return [
        (ssrc, (seq0 + n) & 0xFFFF, (ts0 + n * PACKET_SAMPLES) & 0xFFFFFFFF, p, at + n * 0.02)
        for n, p in enumerate(payloads)
    ]


def run(packets: list[TapPacket], batch: int = 5) -> tuple[list[VoiceFrame], StreamCounters]:
    counters = StreamCounters()
    stream = MicStream(counters)
    frames: list[VoiceFrame] = []
    for i in range(0, len(packets), batch):
        frames += stream.process(packets[i : i + batch], capture=False)
    stream.close()
    return frames, counters


def test_frames_match_webrtcvad_on_the_source(speech: bytes, packets: list[bytes]) -> None:
    frames, counters = run(stream_of(packets))
    assert len(frames) == len(packets) * 2 // 3
    voiced = sum(f.voiced for f in frames) * FRAME_S
    truth = voiced_seconds(speech)
    assert abs(voiced - truth) <= 0.03 * truth, (voiced, truth)
    assert [f.start for f in frames] == pytest.approx(
        [ANCHOR + n * FRAME_S for n in range(len(frames))]
    )
    assert counters.frames == len(frames)


def test_reordered_and_repeated_packets_within_a_batch(packets: list[bytes]) -> None:
    in_order, _ = run(stream_of(packets), batch=10)
    shuffled = stream_of(packets)
    rng = random.Random(1)
    batches = [shuffled[i : i + 10] for i in range(0, len(shuffled), 10)]
    for batch in batches:
        rng.shuffle(batch)
        batch.append(batch[0])  # a duplicate
    flat = [p for batch in batches for p in batch]
    frames, counters = run(flat, batch=11)
    assert counters.late == len(batches)  # the duplicates, dropped
    assert [f.voiced for f in frames] == [f.voiced for f in in_order]
    # (The anchor is the arrival of the first packet to arrive: the same instant here,
    # give or take float rounding.)
    assert [f.start for f in frames] == pytest.approx([f.start for f in in_order])


def test_late_packets_are_dropped_not_decoded_out_of_order(packets: list[bytes]) -> None:
    sent = stream_of(packets[:40])
    # Packet 10 arrives one batch too late: packets 11-20 were decoded without it.
    frames, counters = run([*sent[:10], *sent[11:21], sent[10], *sent[21:]], batch=10)
    assert counters.late == 1
    # The lost-then-late packet is a gap: about 20 ms of audio and no frame over it.
    gap_start = ANCHOR + 10 * 0.02
    assert not [f for f in frames if gap_start - FRAME_S < f.start < gap_start + 0.02]


def test_sequence_and_timestamp_wrap_around(packets: list[bytes]) -> None:
    plain, _ = run(stream_of(packets))
    wrapped, counters = run(stream_of(packets, seq0=0xFFFF - 30, ts0=0xFFFFFFFF - 40 * 960))
    assert counters.late == counters.reanchors == 0
    assert [f.voiced for f in wrapped] == [f.voiced for f in plain]
    assert [f.start for f in wrapped] == pytest.approx([f.start for f in plain])


def test_a_new_ssrc_reanchors_at_its_arrival(packets: list[bytes]) -> None:
    first = stream_of(packets[:50])
    # The publisher restarts: new SSRC, new random numbering, arriving 4 s later.
    second = stream_of(packets[:50], ssrc=99, seq0=40_000, ts0=123_456_789, at=ANCHOR + 5.0)
    frames, counters = run(first + second)
    assert counters.reanchors == 1
    starts = [f.start for f in frames]
    assert starts[0] == ANCHOR
    restarted = [s for s in starts if s >= ANCHOR + 5.0]
    assert restarted[0] == pytest.approx(ANCHOR + 5.0)
    assert len(restarted) == len(frames) // 2


def test_dtx_and_garbage_are_silence_without_frames(packets: list[bytes]) -> None:
    payloads = list(packets[:60])
    for n in range(20, 30):
        payloads[n] = b"\x08"  # DTX: a TOC byte alone
    payloads[40] = b"\xff\xff\xff\xff\xff"  # not Opus
    frames, counters = run(stream_of(payloads))
    assert counters.dtx == 10
    assert counters.undecodable == 1
    for n in (20, 40):
        at = ANCHOR + n * 0.02
        assert not [f for f in frames if at - FRAME_S < f.start < at + 0.02]
    assert len(frames) < 60 * 2 // 3


def test_digital_silence_is_quiet_and_unvoiced() -> None:
    frames, _ = run(stream_of(encode_opus(silence(1.0))))
    assert frames
    assert not any(f.voiced for f in frames)
    assert max(f.level_dbfs for f in frames) < -90
    assert min(f.level_dbfs for f in frames) >= SILENCE_DBFS


def test_pcm_only_when_captured(packets: list[bytes]) -> None:
    stream = MicStream(StreamCounters())
    sent = stream_of(packets[:30])
    off = stream.process(sent[:15], capture=False)
    on = stream.process(sent[15:], capture=True)
    stream.close()
    assert all(f.pcm is None for f in off)
    assert on and all(f.pcm is not None and len(f.pcm) == 960 for f in on)


def test_pyavs_bundled_libopus_is_there_for_hosts_without_one() -> None:
    # The Docker image (python:3.11-slim) has no system libopus: the tap falls back
    # on the copy in PyAV's wheel. A PyAV upgrade that stops shipping it fails here.
    path = bundled_library()
    assert path is not None, "PyAV's wheel no longer ships libopus (av.libs/)"
    lib = ctypes.CDLL(str(path))
    assert lib.opus_decoder_create and lib.opus_decode and lib.opus_decoder_ctl
