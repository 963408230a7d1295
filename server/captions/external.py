"""The external engine: a clinic's own captioner service, connected over socket.io
with a service token, gets the audio and sends caption text back. This side queues
segments for it, remembers what it was given, and checks every caption it returns."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping

from server.domain.errors import NotPermitted, ProtocolError

from ..config import CaptionSettings
from .backlog import Backlog
from .engine import CaptionSink
from .model import (
    SAMPLE_RATE,
    CaptionEvent,
    EngineMetrics,
    EngineState,
    EngineStatus,
    SpeechSegment,
)

log = logging.getLogger(__name__)

AudioSender = Callable[[dict[str, object]], Awaitable[None]]
# Utterances a captioner may still caption; older ones are forgotten first.
MAX_OPEN_UTTERANCES = 256
SEND_TIMEOUT_S = 5.0
MAX_ID_CHARS = 128


def audio_message(segment: SpeechSegment) -> dict[str, object]:
    """The `caption-audio` payload for `segment` (see docs/CAPTIONS.md)."""
    return {
        "room": segment.room,
        "speaker": segment.speaker,
        "utterance": segment.utterance_id,
        "start": round(segment.start, 3),
        "end": round(segment.end, 3),
        "final": segment.final,
        "sample_rate": SAMPLE_RATE,
        "format": "s16le",
        "audio": segment.pcm,
    }


class ExternalCaptionEngine:
    """A `CaptionEngine` whose work is done by a connected captioner service.

    The signaling layer calls `attach` with a coroutine that emits `caption-audio` to
    the captioner's socket, `detach` when it leaves, and `receive` for each
    `caption-text` it sends; `receive` raises `ProtocolError` or `NotPermitted` for a
    caption this engine did not ask for.
    """

    name = "external"

    def __init__(self, settings: CaptionSettings | None = None) -> None:
        self._settings = settings or CaptionSettings(engine="external")
        self._metrics = EngineMetrics(extra={"refused": 0, "send_failures": 0})
        self._backlog = Backlog(
            self._settings.max_backlog, self._settings.max_merged_s, self._metrics
        )
        self._open: OrderedDict[str, SpeechSegment] = OrderedDict()
        self._send: AudioSender | None = None
        self._sink: CaptionSink = lambda output: None
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def attached(self) -> bool:
        """True while a captioner is connected."""
        return self._send is not None

    async def start(self, sink: CaptionSink) -> None:
        """Start the send loop; captions flow once a captioner attaches."""
        self._sink = sink
        self._task = asyncio.create_task(self._send_loop(), name="captions-external")
        sink(EngineStatus(self.name, EngineState.STARTING, "waiting for a captioner"))

    def attach(self, send: AudioSender) -> None:
        """A captioner connected: audio goes to `send` from now on."""
        self._send = send
        self._sink(EngineStatus(self.name, EngineState.RUNNING, "captioner connected"))
        self._wake.set()

    def detach(self) -> None:
        """The captioner left: queued audio is dropped, nothing more is sent."""
        self._send = None
        self._metrics.dropped += len(self._backlog)
        while self._backlog.pop() is not None:
            pass
        self._open.clear()
        self._sink(EngineStatus(self.name, EngineState.STARTING, "captioner disconnected"))

    def submit(self, segment: SpeechSegment) -> None:
        """Queue `segment` for the captioner (dropped if none is connected)."""
        if self._send is None:
            self._metrics.submitted += 1
            self._metrics.dropped += 1
            return
        self._backlog.push(segment)
        self._wake.set()

    def forget_speaker(self, speaker: str) -> None:
        """Drop queued audio of a speaker who declined captions."""
        self._backlog.drop_speaker(speaker)

    def metrics(self) -> EngineMetrics:
        """Counters: queued, dropped, merged, refused captions, failed sends."""
        return self._metrics

    def receive(self, message: Mapping[str, object]) -> CaptionEvent:
        """Check a `caption-text` message and pass its caption on.

        Refused (nothing reaches the sink): a malformed message, an utterance that was
        never sent or is already final, a room other than the one it was sent for, or
        text longer than the limit.
        """
        try:
            event = self._check(message)
        except (ProtocolError, NotPermitted):
            self._metrics.extra["refused"] += 1
            raise
        if event.final:
            self._open.pop(event.utterance_id, None)
        self._sink(event)
        return event

    def _check(self, message: Mapping[str, object]) -> CaptionEvent:
        utterance, room = message.get("utterance"), message.get("room")
        text, final = message.get("text"), message.get("final")
        if not isinstance(utterance, str) or not 0 < len(utterance) <= MAX_ID_CHARS:
            raise ProtocolError("utterance: must be the id of an utterance you were sent")
        if not isinstance(room, str) or len(room) > MAX_ID_CHARS:
            raise ProtocolError("room: must be the room the utterance was sent for")
        if not isinstance(text, str) or len(text) > self._settings.max_text_chars:
            raise ProtocolError(
                f"text: must be a string of at most {self._settings.max_text_chars} characters"
            )
        if not isinstance(final, bool):
            raise ProtocolError("final: must be true or false")
        segment = self._open.get(utterance)
        if segment is None:
            raise ProtocolError(f"utterance {utterance}: not sent to you, or already final")
        if segment.room != room:
            raise NotPermitted(f"utterance {utterance} was not sent for room {room}")
        # Speaker and times come from what was sent, never from the captioner.
        return CaptionEvent(
            room=segment.room,
            speaker=segment.speaker,
            utterance_id=utterance,
            text=" ".join(text.split()),
            final=final,
            start=segment.start,
            end=segment.end,
            replaces=segment.replaces if final else (),
        )

    async def close(self) -> None:
        """Stop sending; later captions are refused."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._send = None
        self._open.clear()
        self._sink = lambda output: None

    async def _send_loop(self) -> None:
        while True:
            segment = self._backlog.pop() if self._send is not None else None
            if segment is None:
                self._wake.clear()
                await self._wake.wait()
                continue
            send = self._send
            assert send is not None
            self._remember(segment)
            try:
                await asyncio.wait_for(send(audio_message(segment)), SEND_TIMEOUT_S)
            except Exception as exc:  # whatever the transport raises, the call goes on
                log.warning("caption audio not sent: %r", exc)
                self._metrics.extra["send_failures"] += 1
                self._metrics.failures += 1
                continue
            self._metrics.transcribed += 1
            self._metrics.audio_s += segment.duration_s

    def _remember(self, segment: SpeechSegment) -> None:
        self._open[segment.utterance_id] = segment
        self._open.move_to_end(segment.utterance_id)
        for merged in segment.replaces:
            self._open.pop(merged, None)
        while len(self._open) > MAX_OPEN_UTTERANCES:
            self._open.popitem(last=False)
