"""The caption worker process: loads a transcriber, then turns audio into text, one
request at a time, over length-prefixed frames on stdin/stdout.

Run as `python -m server.captions.worker_main MODULE:FACTORY OPTIONS_JSON NICE`. Messages:
parent -> worker: a JSON header {"id": n} then the raw 16 kHz s16le audio; worker ->
parent: {"ready": true} once, then {"id": n, "text": "..."} per request.
"""

from __future__ import annotations

import importlib
import json
import os
import struct
import sys
from collections.abc import Callable, Mapping
from typing import BinaryIO, Protocol

_LENGTH = struct.Struct(">I")


class Transcriber(Protocol):
    """What runs inside the worker: 16 kHz s16le mono audio in, text out (blocking)."""

    def transcribe(self, audio: bytes) -> str:
        """The words heard in `audio`; an empty string if none."""


TranscriberFactory = Callable[[Mapping[str, str]], Transcriber]


def pack(payload: bytes) -> bytes:
    """One frame: a 4-byte big-endian length, then the payload."""
    return _LENGTH.pack(len(payload)) + payload


def _read_exactly(stream: BinaryIO, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = stream.read(size - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def _read_frame(stream: BinaryIO) -> bytes:
    (size,) = _LENGTH.unpack(_read_exactly(stream, _LENGTH.size))
    return _read_exactly(stream, size)


def load_factory(path: str) -> TranscriberFactory:
    """The callable at "package.module:name"."""
    module_name, _, attr = path.partition(":")
    factory: TranscriberFactory = getattr(importlib.import_module(module_name), attr)
    return factory


def serve(factory_path: str, options: Mapping[str, str], nice: int) -> None:
    """Load the transcriber and answer requests until stdin closes."""
    # The protocol owns the real stdout; anything a library prints goes to stderr.
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    if nice:
        os.nice(nice)
    transcriber = load_factory(factory_path)(options)
    out.write(pack(json.dumps({"ready": True}).encode()))
    out.flush()
    stdin = sys.stdin.buffer
    while True:
        try:
            header = json.loads(_read_frame(stdin))
            audio = _read_frame(stdin)
        except EOFError:
            return
        text = transcriber.transcribe(audio)
        out.write(pack(json.dumps({"id": header["id"], "text": text}).encode()))
        out.flush()
