"""An engine whose transcriber runs in a supervised subprocess: the event loop never
waits on it, a crash or a hang costs one segment and a restart, and repeated failures
switch it off with a status the facilitator sees."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import struct
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from ..config import CaptionSettings
from .backlog import Backlog
from .engine import CaptionSink
from .model import CaptionEvent, EngineMetrics, EngineState, EngineStatus, SpeechSegment
from .worker import pack

log = logging.getLogger(__name__)
_LENGTH = struct.Struct(">I")
# The directory that holds the `server` package, so the worker imports this same tree.
_ROOT = str(Path(__file__).resolve().parents[2])


class WorkerFailed(Exception):
    """The worker died, hung or answered nonsense."""


class _Worker:
    """One running worker process and its pipes."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self._next_id = 0

    @classmethod
    async def spawn(
        cls, factory: str, options: Mapping[str, str], nice: int, load_timeout_s: float
    ) -> _Worker:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [_ROOT, env.get("PYTHONPATH")]))
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "server.captions.worker_main",
            factory,
            json.dumps(dict(options)),
            str(nice),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env=env,
        )
        worker = cls(process)
        try:
            reply = await asyncio.wait_for(worker._read(), load_timeout_s)
        except (TimeoutError, WorkerFailed) as exc:
            await worker.kill()
            raise WorkerFailed(f"worker did not start: {exc!r}") from exc
        if reply.get("ready") is not True:
            await worker.kill()
            raise WorkerFailed("worker did not say ready")
        return worker

    async def transcribe(self, audio: bytes) -> str:
        self._next_id += 1
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(pack(json.dumps({"id": self._next_id}).encode()))
            self.process.stdin.write(pack(audio))
            await self.process.stdin.drain()
        except (BrokenPipeError, ConnectionResetError) as exc:
            raise WorkerFailed(f"worker pipe closed: {exc!r}") from exc
        reply = await self._read()
        if reply.get("id") != self._next_id or not isinstance(reply.get("text"), str):
            raise WorkerFailed("worker answered out of turn")
        return str(reply["text"])

    async def _read(self) -> dict[str, object]:
        assert self.process.stdout is not None
        try:
            (size,) = _LENGTH.unpack(await self.process.stdout.readexactly(_LENGTH.size))
            reply = json.loads(await self.process.stdout.readexactly(size))
        except asyncio.IncompleteReadError as exc:
            raise WorkerFailed(f"worker exited (code {self.process.returncode})") from exc
        if not isinstance(reply, dict):
            raise WorkerFailed("worker sent a non-object")
        return reply

    async def kill(self) -> None:
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
        await self.process.wait()


class ProcessEngine:
    """A `CaptionEngine` running `factory` ("module:callable" returning a `Transcriber`)
    in a worker process, fed from a bounded `Backlog`, one segment at a time."""

    def __init__(
        self,
        name: str,
        factory: str,
        settings: CaptionSettings,
        options: Mapping[str, str] | None = None,
    ) -> None:
        self.name = name
        self._factory = factory
        self._settings = settings
        self._options = dict(options or {})
        self._metrics = EngineMetrics()
        self._backlog = Backlog(settings.max_backlog, settings.max_merged_s, self._metrics)
        self._wake = asyncio.Event()
        self._sink: CaptionSink = lambda output: None
        self._task: asyncio.Task[None] | None = None
        self._worker: _Worker | None = None
        self.state = EngineState.STARTING

    async def start(self, sink: CaptionSink) -> None:
        """Start the supervisor; the worker is spawned in the background."""
        self._sink = sink
        self._task = asyncio.create_task(self._supervise(), name=f"captions-{self.name}")

    def submit(self, segment: SpeechSegment) -> None:
        """Queue `segment` (merged or dropped if the worker falls behind)."""
        if self.state is EngineState.OFF:
            self._metrics.submitted += 1
            self._metrics.dropped += 1
            return
        self._backlog.push(segment)
        self._wake.set()

    def forget_speaker(self, speaker: str) -> None:
        """Drop queued audio of a speaker who declined captions."""
        self._backlog.drop_speaker(speaker)

    def metrics(self) -> EngineMetrics:
        """Counters: queued, dropped, merged, failures, restarts, busy seconds."""
        return self._metrics

    async def close(self) -> None:
        """Stop the supervisor and kill the worker."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._worker is not None:
            await self._worker.kill()
            self._worker = None
        self._sink = lambda output: None

    def _set_state(self, state: EngineState, reason: str = "") -> None:
        if state is self.state and state is not EngineState.RESTARTING:
            return
        log.info("caption engine %s: %s -> %s %s", self.name, self.state.value, state.value, reason)
        self.state = state
        self._sink(EngineStatus(self.name, state, reason))

    async def _supervise(self) -> None:
        failures_in_row = 0
        while True:
            try:
                if self._worker is None:
                    self._worker = await _Worker.spawn(
                        self._factory,
                        self._options,
                        self._settings.worker_nice,
                        self._settings.load_timeout_s,
                    )
                    self._set_state(EngineState.RUNNING)
                await self._transcribe_next(self._worker)
                failures_in_row = 0
            except WorkerFailed as exc:
                failures_in_row += 1
                self._metrics.failures += 1
                if self._worker is not None:
                    await self._worker.kill()
                    self._worker = None
                if failures_in_row >= self._settings.max_failures:
                    self._set_state(
                        EngineState.OFF, f"failed {failures_in_row} times in a row: {exc}"
                    )
                    self._metrics.dropped += len(self._backlog)
                    while self._backlog.pop() is not None:
                        pass
                    return
                self._metrics.restarts += 1
                self._set_state(EngineState.RESTARTING, str(exc))
                await asyncio.sleep(self._settings.restart_delay_s * 2 ** (failures_in_row - 1))

    async def _transcribe_next(self, worker: _Worker) -> None:
        segment = self._backlog.pop()
        while segment is None:
            self._wake.clear()
            await self._wake.wait()
            segment = self._backlog.pop()
        began = time.monotonic()
        try:
            text = await asyncio.wait_for(
                worker.transcribe(segment.pcm), self._settings.segment_timeout_s
            )
        except TimeoutError as exc:
            raise WorkerFailed(f"no answer in {self._settings.segment_timeout_s:g} s") from exc
        finally:
            self._metrics.busy_s += time.monotonic() - began
        self._metrics.transcribed += 1
        self._metrics.audio_s += segment.duration_s
        text = " ".join(text.split())
        if text or segment.final:
            self._sink(CaptionEvent.for_segment(segment, text))
