"""Test speech with a known truth: espeak-ng sentences, Opus packets, and a track that
sends them with RTP timestamps the test chooses.

`speak` renders one trimmed sentence (espeak-ng, then sox to 48 kHz mono s16 and
silence trimmed at both ends, as RECIPES says), `encode_opus` makes 20 ms Opus
packets of it once (PyAV), and `OpusPacketTrack` hands them to aiortc's sender as
`av.Packet`s (aiortc only packetizes them), each with the media time and the send
time given: a gap in media time with no gap in sending is what DTX looks like.
"""

from __future__ import annotations

import asyncio
import fractions
import subprocess
import tempfile
import time
import wave
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import webrtcvad
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError

RATE = 48_000
PACKET_SAMPLES = 960  # 20 ms
TIME_BASE = fractions.Fraction(1, RATE)
VAD_RATE = 16_000
VAD_FRAME = 480
# sox effects: trim silence at the start, reverse, trim again, reverse back.
TRIM = ("silence", "1", "0.01", "0.5%", "reverse", "silence", "1", "0.01", "0.5%", "reverse")


def speak(text: str, voice: str = "en-us", speed: int = 150) -> bytes:
    """One sentence as 48 kHz mono s16le PCM, silence trimmed at both ends."""
    with tempfile.TemporaryDirectory() as tmp:
        raw, trimmed = Path(tmp) / "raw.wav", Path(tmp) / "trimmed.wav"
        subprocess.run(
            ["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(raw), text],
            check=True,
            capture_output=True,
        )
        subprocess.run(
            ["sox", str(raw), "-r", str(RATE), "-c", "1", "-b", "16", str(trimmed), *TRIM],
            check=True,
            capture_output=True,
        )
        return read_wav(trimmed)


def read_wav(path: Path) -> bytes:
    """The samples of a 48 kHz mono 16-bit WAV file."""
    with wave.open(str(path), "rb") as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (RATE, 1, 2)
        return wav.readframes(wav.getnframes())


def write_wav(path: Path, pcm: bytes) -> None:
    """Write 48 kHz mono s16le PCM as a WAV file."""
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(RATE)
        wav.writeframes(pcm)


def silence(seconds: float) -> bytes:
    """Digital silence at 48 kHz."""
    return bytes(2 * round(seconds * RATE))


def encode_opus(pcm: bytes, kbps: int = 32) -> list[bytes]:
    """20 ms Opus packets (48 kHz mono, VoIP mode) of `pcm`, padded to whole packets."""
    pcm += bytes(-len(pcm) % (2 * PACKET_SAMPLES))
    encoder = av.CodecContext.create("libopus", "w")
    encoder.sample_rate = RATE
    encoder.layout = "mono"
    encoder.format = "s16"
    encoder.bit_rate = kbps * 1000
    encoder.time_base = TIME_BASE
    encoder.options = {"application": "voip"}
    packets: list[bytes] = []
    samples = np.frombuffer(pcm, dtype=np.int16)
    for n in range(len(samples) // PACKET_SAMPLES):
        chunk = samples[n * PACKET_SAMPLES : (n + 1) * PACKET_SAMPLES]
        frame = av.AudioFrame.from_ndarray(chunk.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = RATE
        frame.pts = n * PACKET_SAMPLES
        frame.time_base = TIME_BASE
        packets += [bytes(p) for p in encoder.encode(frame)]
    packets += [bytes(p) for p in encoder.encode(None)]
    return packets[: len(samples) // PACKET_SAMPLES]


def to_16k(pcm: bytes) -> bytes:
    """48 kHz mono s16le to 16 kHz (PyAV's resampler)."""
    resampler = av.AudioResampler(format="s16", layout="mono", rate=VAD_RATE)
    frame = av.AudioFrame.from_ndarray(
        np.frombuffer(pcm, dtype=np.int16).reshape(1, -1), format="s16", layout="mono"
    )
    frame.sample_rate = RATE
    out = b"".join(bytes(f.planes[0])[: f.samples * 2] for f in resampler.resample(frame))
    out += b"".join(bytes(f.planes[0])[: f.samples * 2] for f in resampler.resample(None))
    return out


def voiced_seconds(pcm48: bytes, mode: int = 2) -> float:
    """webrtcvad run directly on the source: its voiced time in seconds."""
    vad = webrtcvad.Vad(mode)
    pcm = to_16k(pcm48)
    step = VAD_FRAME * 2
    voiced = sum(
        bool(vad.is_speech(pcm[i : i + step], VAD_RATE))
        for i in range(0, len(pcm) - step + 1, step)
    )
    return voiced * VAD_FRAME / VAD_RATE


@dataclass(frozen=True)
class Scheduled:
    """One packet to send: its payload, its media time (48 kHz ticks) and when to send
    it (seconds after the first)."""

    payload: bytes
    pts: int
    send_at: float


def back_to_back(packets: list[bytes], pts0: int = 0, send0: float = 0.0) -> list[Scheduled]:
    """Packets sent every 20 ms in real time, media time advancing 20 ms each."""
    return [
        Scheduled(p, pts0 + n * PACKET_SAMPLES, send0 + n * PACKET_SAMPLES / RATE)
        for n, p in enumerate(packets)
    ]


class OpusPacketTrack(MediaStreamTrack):
    """Sends scheduled Opus packets (pre-encoded), then nothing more (it stays open)."""

    kind = "audio"

    def __init__(self, schedule: list[Scheduled]) -> None:
        super().__init__()
        self.schedule = schedule
        self.sent = 0
        self._started: float | None = None
        self.done = asyncio.Event()
        self._stopped = asyncio.Event()

    def stop(self) -> None:
        """End the track (a pending `recv` raises MediaStreamError)."""
        super().stop()
        self._stopped.set()

    async def recv(self) -> av.Packet:  # type: ignore[type-arg]
        """The next packet at its send time; after the last one, wait until stopped."""
        if self._started is None:
            self._started = time.monotonic()
        if self.sent >= len(self.schedule):
            self.done.set()
            await self._stopped.wait()  # nothing more to send, as a muted-off client
            raise MediaStreamError
        item = self.schedule[self.sent]
        delay = self._started + item.send_at - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)  # pacing, like a microphone
        packet = av.Packet(item.payload)
        packet.pts = item.pts
        packet.time_base = TIME_BASE
        self.sent += 1
        return packet
