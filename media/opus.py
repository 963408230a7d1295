"""A minimal libopus decoder (ctypes) that decodes straight to 16 kHz mono.

libopus decodes at 8, 12, 16, 24 or 48 kHz natively, so the mic tap needs no
resampler; PyAV's decoder (FFmpeg's libopus wrapper) always gives 48 kHz, and its
decode plus a resample measured about 2.4 times the CPU of this (bench/speaking/audio_tap.py).
The library is the system's libopus if there is one, else the copy PyAV's wheel
ships (`av.libs/`), which every install of this project has.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading
from pathlib import Path

import av

OPUS_OK = 0
OPUS_RESET_STATE = 4028
MAX_FRAME_MS = 120  # the longest Opus packet


class OpusError(Exception):
    """libopus refused a packet or could not make a decoder."""


def bundled_library() -> Path | None:
    """The libopus PyAV's wheel ships (auditwheel renames it), if any."""
    bundled = Path(av.__file__).resolve().parent.parent / "av.libs"
    return next(iter(sorted(bundled.glob("libopus*.so*"))), None)


def _find_library() -> str:
    system = ctypes.util.find_library("opus")
    if system is not None:
        return system
    bundled = bundled_library()
    if bundled is None:
        raise OpusError("no libopus: neither the system's nor PyAV's bundled copy")
    return str(bundled)


_lib: ctypes.CDLL | None = None
_lib_lock = threading.Lock()


def _libopus() -> ctypes.CDLL:
    global _lib
    with _lib_lock:
        if _lib is None:
            lib = ctypes.CDLL(_find_library())
            lib.opus_decoder_create.restype = ctypes.c_void_p
            lib.opus_decoder_create.argtypes = [
                ctypes.c_int32,
                ctypes.c_int,
                ctypes.POINTER(ctypes.c_int),
            ]
            lib.opus_decode.restype = ctypes.c_int
            lib.opus_decode.argtypes = [
                ctypes.c_void_p,
                ctypes.c_char_p,
                ctypes.c_int32,
                ctypes.c_void_p,
                ctypes.c_int,
                ctypes.c_int,
            ]
            lib.opus_decoder_destroy.restype = None
            lib.opus_decoder_destroy.argtypes = [ctypes.c_void_p]
            lib.opus_decoder_ctl.restype = ctypes.c_int
            lib.opus_decoder_ctl.argtypes = [ctypes.c_void_p, ctypes.c_int]
            lib.opus_strerror.restype = ctypes.c_char_p
            lib.opus_strerror.argtypes = [ctypes.c_int]
            _lib = lib
        return _lib


class OpusDecoder:
    """One libopus decoder state (one per mic): packets in, 16 kHz mono s16le out."""

    def __init__(self, sample_rate: int = 16_000, channels: int = 1) -> None:
        self._lib = _libopus()
        error = ctypes.c_int()
        handle = self._lib.opus_decoder_create(sample_rate, channels, ctypes.byref(error))
        if error.value != OPUS_OK or not handle:
            raise OpusError(f"opus_decoder_create: {self._strerror(error.value)}")
        self._handle: int | None = handle
        self._channels = channels
        self._max_samples = sample_rate * MAX_FRAME_MS // 1000
        self._out = ctypes.create_string_buffer(self._max_samples * channels * 2)

    def decode(self, payload: bytes) -> bytes:
        """Decode one packet (never PLC: an empty payload is refused). Raises OpusError."""
        if self._handle is None:
            raise OpusError("decoder closed")
        if not payload:
            raise OpusError("empty packet")
        samples = self._lib.opus_decode(
            self._handle, payload, len(payload), self._out, self._max_samples, 0
        )
        if samples < 0:
            raise OpusError(f"opus_decode: {self._strerror(samples)}")
        return self._out.raw[: samples * self._channels * 2]

    def reset(self) -> None:
        """Forget the stream's state (a new stream follows: a publisher restart)."""
        if self._handle is not None:
            self._lib.opus_decoder_ctl(self._handle, OPUS_RESET_STATE)

    def close(self) -> None:
        """Free the decoder (idempotent)."""
        if self._handle is not None:
            self._lib.opus_decoder_destroy(self._handle)
            self._handle = None

    def _strerror(self, code: int) -> str:
        message: bytes | None = self._lib.opus_strerror(code)
        return message.decode() if message else str(code)
