"""The audio path without a network, shared by the audio-tap and captions benchmarks and
the speaking sessions: espeak-ng speech as 20 ms Opus packets, RTP packets as the
forward path reads them, and the real `PublishedTrack`/`ForwardSlot` code forwarding
mics to subscriber slots that send nowhere (no SRTP, no socket).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass

from media.audio_tap import AudioTap
from media.forward_slot import ForwardSlot
from media.hooks.send import SendParameters
from media.published_track import PublishedTrack
from media.voice import VoiceFrame
from tests.support.audio import encode_opus, speak

SENTENCES = (
    ("en-us", "Every voice in this group deserves to be heard, the quiet ones too."),
    ("en-gb+f3", "Take a slow breath and tell us how your week has gone so far."),
    ("en-us+m3", "I noticed that I felt calmer after our last session together."),
)


@dataclass
class Packet:
    """The fields of a decrypted RTP packet the forward path and the tap read."""

    payload_type: int
    sequence_number: int
    timestamp: int
    ssrc: int
    marker: int
    payload: bytes


def speech_packets(seconds: float) -> list[bytes]:
    """`seconds` of speech (three voices, looped, 0.3 s pauses) as 20 ms Opus packets."""
    pause = bytes(2 * 14_400)
    clip = b"".join(speak(text, voice) + pause for voice, text in SENTENCES)
    packets = encode_opus(clip)
    wanted = int(seconds / 0.02)
    return (packets * (wanted // len(packets) + 1))[:wanted]


def rtp(ssrc: int, n: int, payload: bytes) -> Packet:
    """Packet `n` of a stream."""
    return Packet(111, n & 0xFFFF, (n * 960) & 0xFFFFFFFF, ssrc, 0, payload)


class Counting:
    """The tap's sink: counts frames."""

    def __init__(self) -> None:
        self.frames = 0
        self.wanted: int | None = None
        self.enough = asyncio.Event()

    def __call__(self, peer_id: str, track_id: str, frames: Sequence[VoiceFrame]) -> None:
        self.frames += len(frames)
        if self.wanted is not None and self.frames >= self.wanted:
            self.enough.set()


class NullLink:
    """Stands in for a subscriber's SRTP transport: accepts every packet."""

    connected = True

    async def send(self, data: bytes) -> bool:
        """Accept the packet."""
        return True

    def sent(self, rtp_timestamp: int, payload_size: int, ntp_time: int | None = None) -> None:
        """Nothing to count."""


async def no_keyframes(ssrc: int) -> None:
    """Audio never asks for keyframes."""


async def forward_cost(payloads: list[bytes], mics: int, mode: str) -> dict[str, float]:
    """Forward `mics` streams to 4 slots each in real time (one packet per mic every
    20 ms); the loop's CPU inside the forward path per packet, and how late each
    20 ms tick started (GIL contention with the worker and the tap's batches show
    there). `mode`: off, worker (the default tap) or loop (decode on the loop)."""
    sink = Counting()
    tap = AudioTap(sink, threaded=mode != "loop")
    tracks = []
    for m in range(mics):
        mic = tap.open_mic(f"p{m}", f"t{m}") if mode != "off" else None
        track = PublishedTrack(f"t{m}", "audio", no_keyframes, mic)
        for s in range(4):
            slot = ForwardSlot("audio")
            params = SendParameters(2000 + s, 3000 + s, 111, None, 48000, str(s), 9)
            slot.sender_started(params, NullLink())  # type: ignore[arg-type]
            slot.set_source(track)
        tracks.append(track)
    loop = asyncio.get_running_loop()
    begin = loop.time() + 0.05
    cpu = 0.0
    late: list[float] = []
    for n, payload in enumerate(payloads):
        due = begin + n * 0.02
        await asyncio.sleep(max(0.0, due - loop.time()))
        late.append(loop.time() - due)
        started = time.thread_time()
        for m, track in enumerate(tracks):
            track.on_packet(rtp(1000 + m, n, payload))
        cpu += time.thread_time() - started
    tap.close()
    late.sort()
    packets = len(payloads) * mics
    return {
        "cpu_us": cpu * 1e6 / packets,
        "late_p50_ms": late[len(late) // 2] * 1000,
        "late_p99_ms": late[int(len(late) * 0.99)] * 1000,
        "late_max_ms": late[-1] * 1000,
        "frames": sink.frames,
    }
