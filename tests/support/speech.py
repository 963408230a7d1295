"""Speech with a known text, made at test time with espeak-ng and sox, cut into the
30 ms frames (with webrtcvad's verdicts) that the media tap reports."""

from __future__ import annotations

import subprocess

import webrtcvad

from server.captions import FRAME_BYTES, FRAME_S, VoiceFrame

VOICES = ("en-us", "en-gb+f3", "en-us+m3")


def synthesize(text: str, voice: str = "en-us", words_per_minute: int = 150) -> bytes:
    """`text` spoken by espeak-ng as 16 kHz s16le mono, leading/trailing silence trimmed."""
    wav = subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(words_per_minute), "--stdout", text],
        check=True,
        capture_output=True,
    ).stdout
    trim = ["silence", "1", "0.01", "0.5%", "reverse", "silence", "1", "0.01", "0.5%", "reverse"]
    pcm = subprocess.run(
        [
            "sox",
            "-t",
            "wav",
            "-",
            "-t",
            "raw",
            "-r",
            "16000",
            "-c",
            "1",
            "-b",
            "16",
            "-e",
            "signed-integer",
            "-",
            *trim,
        ],
        input=wav,
        check=True,
        capture_output=True,
    ).stdout
    return pcm[: len(pcm) // 2 * 2]


def silence(seconds: float) -> bytes:
    """Digital silence, a whole number of frames long."""
    return bytes(round(seconds / FRAME_S) * FRAME_BYTES)


def vad_frames(pcm: bytes, start: float = 0.0, mode: int = 2) -> list[VoiceFrame]:
    """`pcm` as 30 ms frames from media time `start`, voiced as webrtcvad says."""
    vad = webrtcvad.Vad(mode)
    frames = []
    usable = len(pcm) // FRAME_BYTES * FRAME_BYTES
    for i, offset in enumerate(range(0, usable, FRAME_BYTES)):
        chunk = pcm[offset : offset + FRAME_BYTES]
        frames.append(VoiceFrame(start + i * FRAME_S, bool(vad.is_speech(chunk, 16000)), pcm=chunk))
    return frames
