"""The per-mic audio tap: each mic decoded once, off the forward path, for VAD and captions.

The forward path only appends (SSRC, sequence number, timestamp, payload, arrival)
to its mic's `MicTap` (a list append, well under a microsecond). Every BATCH_S the
event loop hands each mic's packets to one worker thread as a batch; the worker
decodes them (libopus, straight to 16 kHz), runs webrtcvad (`media/vad.py`) and
posts the batch's `VoiceFrame`s back to the loop, where the listener gets them.
The worker is a single-thread executor (one decoder state per mic needs the
batches in order); its queue is bounded: when it falls behind, new batches are
dropped (counted as silence), never queued without bound, and forwarding never waits.
PCM is attached only for peers whose capture is on (captions consent).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor

from .rtp_wire import InboundRtp
from .vad import DEFAULT_VAD_MODE, MicStream, StreamCounters, TapPacket
from .voice import VoiceFrame

log = logging.getLogger(__name__)

VoiceSink = Callable[[str, str, Sequence[VoiceFrame]], None]
"""Called on the event loop with (peer id, track id, frames) for each decoded batch."""

BATCH_S = 0.1
# Batches waiting for the worker, over every mic: 15 mics x 2 s of audio.
MAX_QUEUED_BATCHES = 300


class MicTap:
    """The forward path's side of one mic: collects its packets for the worker."""

    __slots__ = ("_clock", "_tap", "closed", "peer_id", "pending", "track_id")

    def __init__(self, tap: AudioTap, peer_id: str, track_id: str) -> None:
        self.peer_id = peer_id
        self.track_id = track_id
        self._tap = tap
        self._clock = tap.clock
        self.pending: list[TapPacket] = []
        self.closed = False

    def push(self, packet: InboundRtp) -> None:
        """Keep one decrypted packet for the next batch (called on the forward path)."""
        self.pending.append(
            (packet.ssrc, packet.sequence_number, packet.timestamp, packet.payload, self._clock())
        )

    def close(self) -> None:
        """The track ended: stop tapping it."""
        self._tap.close_mic(self)


_Job = tuple[MicTap, list[TapPacket] | None]  # None: the mic is gone, free its decoder


class AudioTap:
    """Every mic of a MediaServer: batches on the loop, decode + VAD in one worker thread.

    `executor` must run its jobs one at a time, in order (default: a thread of our
    own). `threaded=False` decodes on the event loop instead (kept to measure the
    two against each other: bench/speaking/audio_tap.py).
    """

    def __init__(
        self,
        sink: VoiceSink,
        clock: Callable[[], float] = time.time,
        vad_mode: int = DEFAULT_VAD_MODE,
        threaded: bool = True,
        executor: Executor | None = None,
    ) -> None:
        self._sink = sink
        self.clock = clock
        self._vad_mode = vad_mode
        self._mics: set[MicTap] = set()
        self._capture: set[str] = set()
        self._flush_handle: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._own_executor = executor is None and threaded
        self._executor = executor
        if self._own_executor:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix="audio-tap")
        # Only the loop writes `_queued`, only the worker writes `_done` and the
        # streams: their difference bounds the queue without a lock.
        self._queued = 0
        self._done = 0
        self._streams: dict[MicTap, MicStream] = {}
        self.counters = StreamCounters()
        self.packets_dropped = 0
        self.worker_cpu_s = 0.0

    # -- the loop's side ------------------------------------------------------------

    def open_mic(self, peer_id: str, track_id: str) -> MicTap:
        """A new mic track to tap (called on the event loop)."""
        mic = MicTap(self, peer_id, track_id)
        self._mics.add(mic)
        if self._flush_handle is None:
            self._loop = asyncio.get_running_loop()
            self._flush_handle = self._loop.call_later(BATCH_S, self._on_timer)
        return mic

    def close_mic(self, mic: MicTap) -> None:
        """The mic is gone: nothing more is reported for it and its decoder is freed."""
        if mic.closed:
            return
        mic.closed = True
        mic.pending = []
        self._mics.discard(mic)
        self._submit((mic, None))

    def capture_audio(self, peer_id: str, enabled: bool) -> None:
        """Attach PCM to the frames of `peer_id`'s mics from now on (or stop)."""
        if enabled:
            self._capture.add(peer_id)
        else:
            self._capture.discard(peer_id)

    def capturing(self, peer_id: str) -> bool:
        """Whether `peer_id`'s frames carry PCM."""
        return peer_id in self._capture

    def _on_timer(self) -> None:
        self.flush()
        if not self._mics:
            self._flush_handle = None
            return
        assert self._loop is not None
        self._flush_handle = self._loop.call_later(BATCH_S, self._on_timer)

    def flush(self) -> None:
        """Hand every mic's packets since the last flush to the worker, one batch each
        (a timer does this every BATCH_S)."""
        for mic in self._mics:
            if not mic.pending:
                continue
            batch, mic.pending = mic.pending, []
            if self.backlog >= MAX_QUEUED_BATCHES:
                # The worker is behind: this audio counts as silence (a gap).
                self.packets_dropped += len(batch)
                continue
            self._queued += 1
            self._submit((mic, batch))

    @property
    def backlog(self) -> int:
        """Batches handed to the worker and not yet decoded."""
        return self._queued - self._done

    def _submit(self, job: _Job) -> None:
        if self._executor is None:
            self._run(job)
            return
        future = self._executor.submit(self._run, job)
        future.add_done_callback(_log_failure)

    def _deliver(self, mic: MicTap, frames: list[VoiceFrame]) -> None:
        if mic.closed:
            return
        if not self.capturing(mic.peer_id) and frames[0].pcm is not None:
            # Capture was switched off while this batch was being decoded.
            frames = [dataclasses.replace(f, pcm=None) for f in frames]
        try:
            self._sink(mic.peer_id, mic.track_id, frames)
        except Exception:
            log.exception("voice frame listener failed")

    # -- the worker's side -------------------------------------------------------------

    def _run(self, job: _Job) -> None:
        mic, batch = job
        if batch is None:
            stream = self._streams.pop(mic, None)
            if stream is not None:
                stream.close()
            return
        started = time.thread_time()
        try:
            if mic.closed:
                return
            stream = self._streams.get(mic)
            if stream is None:
                stream = self._streams[mic] = MicStream(self.counters, self._vad_mode)
            frames = stream.process(batch, self.capturing(mic.peer_id))
        except Exception:
            log.exception("audio tap: a batch failed; counted as silence")
            return
        finally:
            self._done += 1
            self.worker_cpu_s += time.thread_time() - started
        if not frames:
            return
        if self._executor is None:
            self._deliver(mic, frames)
        else:
            assert self._loop is not None
            self._loop.call_soon_threadsafe(self._deliver, mic, frames)

    # -- both ----------------------------------------------------------------------------

    def stats(self) -> dict[str, int]:
        """Counters for /metrics: mics tapped, live decoders, frames, what was skipped."""
        counters = self.counters
        return {
            "mic_taps": len(self._mics),
            "audio_decoders": len(self._streams),
            "voice_frames": counters.frames,
            "tap_packets": counters.packets,
            "tap_packets_dropped": self.packets_dropped,
            "tap_backlog": self.backlog,
            "tap_packets_late": counters.late,
            "tap_packets_dtx": counters.dtx,
            "tap_packets_undecodable": counters.undecodable,
            "tap_reanchors": counters.reanchors,
            "tap_cpu_ms": int(self.worker_cpu_s * 1000),
        }

    def close(self) -> None:
        """Stop the flushes and the worker (which frees every decoder)."""
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        for mic in list(self._mics):
            self.close_mic(mic)
        if self._own_executor and self._executor is not None:
            # The close jobs above run first; nobody waits for them.
            self._executor.shutdown(wait=False)


def _log_failure(future: Future[None]) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.error("audio tap job failed: %r", future.exception())
