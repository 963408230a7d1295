"""Live captions for sessions: one engine per session while its captions are on.

Consent is decided by the session (`Session.captioned()`); this service only acts on
it: it asks the media plane for PCM of exactly those speakers, lets exactly them
through the pipeline, and drops their audio the moment they are no longer captioned.
Caption text is shown live; it is kept only when the session enables a transcript.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..config import CaptionSettings
from ..domain.errors import Moved, NotPermitted
from ..domain.events import CaptionerLeft, CaptionsChanged, Event, ParticipantLeft, SessionEnded
from ..domain.session import Session
from ..domain.voice import VoiceFrame
from ..store import Lease, SessionStore
from .engine import CaptionEngine, load_engine
from .external import ExternalCaptionEngine
from .model import CaptionEvent, EngineState, EngineStatus
from .pipeline import CaptionPipeline

log = logging.getLogger(__name__)

# event, body, socket.io room
Emit = Callable[[str, dict[str, Any], str], Awaitable[None]]
AudioSender = Callable[[dict[str, object]], Awaitable[None]]
# The lease a session's writes are checked against (None: unchecked); raises `Moved`
# once this node no longer owns the session.
Fence = Callable[[str], Awaitable[Lease | None]]
IDLE_EVERY_S = 0.2
IDLE_ENGINE_S = 120.0
# Engine figures that are levels, not running counts (not summed over stopped engines).
CAPTION_GAUGES = frozenset({"queued"})


@dataclass
class SessionCaptions:
    """One session's engine, pipeline and the speakers it may hear."""

    engine: CaptionEngine
    pipeline: CaptionPipeline
    captioned: frozenset[str] = frozenset()
    transcript: bool = False
    # Since when nobody is to be captioned (the engine stops after IDLE_ENGINE_S).
    unheard_since: float | None = None
    names: dict[str, str] = field(default_factory=dict)
    status: EngineStatus | None = None


class CaptionService:
    """Host listener and media-frame sink for captions, across this process's sessions."""

    def __init__(
        self,
        settings: CaptionSettings,
        store: SessionStore,
        capture: Callable[[str, bool], None],
        emit: Emit,
        channel: Callable[[str, str], str],
        everyone: Callable[[str], str],
        session_of: Callable[[str], Session | None],
        transcript_retention_s: float = 30 * 86400,
        clock: Callable[[], float] = time.time,
        fence: Fence | None = None,
    ) -> None:
        self._settings = settings
        self._fence = fence
        self._transcript_retention_s = transcript_retention_s
        self._store = store
        self._capture = capture
        self._emit = emit
        self._channel = channel
        self._everyone = everyone
        self._clock = clock
        self._sessions: dict[str, SessionCaptions] = {}
        # Counters of engines already stopped, so the totals never go down.
        self._retired: dict[str, float] = {}
        self._captioners: dict[str, AudioSender] = {}
        self._captioner_sids: dict[str, str] = {}
        # sid -> the captioner link's participant id, to detach a revoked one at once.
        self._captioner_pids: dict[str, str] = {}
        self._tasks: set[asyncio.Future[Any]] = set()
        self._idle: asyncio.Task[None] | None = None
        # Sessions whose engine could not be built: not retried until switched again.
        self._failed: set[str] = set()
        self._session_of = session_of

    # -- session events ------------------------------------------------------------

    async def on_events(self, session: Session, events: list[Event]) -> None:
        """Keep engines, capture and consent in line with the session."""
        for event in events:
            if isinstance(event, ParticipantLeft):
                state = self._sessions.get(session.id)
                if state is not None:
                    state.pipeline.leave(event.participant_id)
            elif isinstance(event, CaptionerLeft):
                # Revoked (or gone): nothing more is sent to it and its queue is dropped,
                # before its socket has even closed.
                for sid, pid in list(self._captioner_pids.items()):
                    if pid == event.participant_id:
                        self.detach_captioner(session.id, sid)
        ended = any(isinstance(e, SessionEnded) for e in events)
        if any(isinstance(e, CaptionsChanged) for e in events):
            self._failed.discard(session.id)  # switched again: try the engine again
        state = self._sessions.get(session.id)
        wanted_now = session.captioned() if session.captions_on and not ended else frozenset()
        if state is None and wanted_now and session.id not in self._failed:
            # An engine (maybe a worker process) only while someone is to be captioned.
            state = await self._start(session)
        if state is None:
            return
        state.names = {p.id: p.name for p in session.participants()}
        state.transcript = session.transcript_on
        wanted = wanted_now
        state.unheard_since = None if wanted else (state.unheard_since or self._clock())
        for pid in wanted - state.captioned:
            self._capture(pid, True)
            state.pipeline.allow(pid)
        for pid in state.captioned - wanted:
            # Declined, muted, gone or captions off: their audio stops here and what of
            # it still waits for the engine is dropped.
            state.pipeline.forbid(pid)
            self._capture(pid, False)
        state.captioned = wanted
        if ended or not session.captions_on:
            await self._stop(session.id)

    async def _start(self, session: Session) -> SessionCaptions | None:
        try:
            engine = load_engine(self._settings)
        except (ValueError, ImportError) as error:
            log.warning("caption engine %r unavailable: %s", self._settings.engine, error)
            self._failed.add(session.id)
            await self._status(
                session.id,
                EngineStatus(
                    self._settings.engine,
                    EngineState.OFF,
                    "no caption engine is available on this server",
                ),
            )
            return None
        state = SessionCaptions(engine, CaptionPipeline.for_settings(engine, self._settings))
        self._sessions[session.id] = state
        if isinstance(engine, ExternalCaptionEngine) and session.id in self._captioners:
            engine.attach(self._captioners[session.id])
        await engine.start(lambda output: self._on_output(session.id, output))
        if engine.name == "none":
            await self._status(
                session.id,
                EngineStatus(
                    "none", EngineState.OFF, "this server has no caption engine configured"
                ),
            )
        if self._idle is None or self._idle.done():
            self._idle = asyncio.ensure_future(self._idle_loop())
        return state

    async def _stop(self, session_id: str) -> None:
        state = self._sessions.pop(session_id, None)
        if state is None:
            return
        for pid in state.captioned:
            state.pipeline.forbid(pid)
            self._capture(pid, False)
        with contextlib.suppress(Exception):
            await state.engine.close()
        for key, value in state.engine.metrics().as_dict().items():
            if key not in CAPTION_GAUGES:
                self._retired[key] = self._retired.get(key, 0) + value

    # -- audio in ------------------------------------------------------------------

    def on_frames(
        self, session_id: str, participant_id: str, room: str, frames: Sequence[VoiceFrame]
    ) -> None:
        """Voice frames of one mic (with PCM only for captioned speakers): a voice sink."""
        state = self._sessions.get(session_id)
        if state is None or participant_id not in state.captioned:
            return
        # The session decides, at this very moment: a decline or a mute takes effect
        # before the listeners of that change have run.
        session = self._session_of(session_id)
        if session is None or participant_id not in session.captioned():
            return
        audio = [f for f in frames if f.pcm is not None]
        if audio:
            state.pipeline.feed(room, participant_id, audio)

    async def _idle_loop(self) -> None:
        while self._sessions:
            await asyncio.sleep(IDLE_EVERY_S)
            now = self._clock()
            for session_id, state in list(self._sessions.items()):
                state.pipeline.idle(now)
                if state.unheard_since is not None and now - state.unheard_since > IDLE_ENGINE_S:
                    await self._stop(session_id)

    # -- captions out ----------------------------------------------------------------

    def _on_output(self, session_id: str, output: CaptionEvent | EngineStatus) -> None:
        if isinstance(output, EngineStatus):
            self._background(self._status(session_id, output))
        else:
            self._background(self._caption(session_id, output))

    async def _caption(self, session_id: str, event: CaptionEvent) -> None:
        state = self._sessions.get(session_id)
        if state is None or event.speaker not in state.captioned:
            return  # declined or left while the engine was busy: never shown
        body: dict[str, Any] = {
            "utterance": event.utterance_id,
            "speaker": event.speaker,
            "name": state.names.get(event.speaker, ""),
            "room": event.room,
            "text": event.text,
            "final": event.final,
            "replaces": list(event.replaces),
        }
        await self._emit("caption", body, self._channel(session_id, event.room))
        if event.final and state.transcript:
            line = {k: body[k] for k in ("utterance", "speaker", "room", "text")}
            line["at"] = round(self._clock(), 3)
            expires = self._clock() + self._transcript_retention_s
            try:
                lease = await self._fence(session_id) if self._fence is not None else None
                await self._store.append_kept("transcript", session_id, line, expires, lease)
            except Moved:
                # Another node owns the session now: no more captions from here.
                await self.let_go(session_id)

    async def let_go(self, session_id: str) -> None:
        """This node no longer owns the session: stop its engine and its capture, so
        no caption is shown or kept from here (the new owner starts its own)."""
        await self._stop(session_id)
        self._failed.discard(session_id)

    async def _status(self, session_id: str, status: EngineStatus) -> None:
        state = self._sessions.get(session_id)
        if state is not None:
            state.status = status
        body = {"engine": status.engine, "state": status.state.value, "reason": status.reason}
        await self._emit("captions-status", body, self._everyone(session_id))

    # -- an external captioner ---------------------------------------------------------

    def attach_captioner(
        self, session_id: str, sid: str, send: AudioSender, participant_id: str = ""
    ) -> None:
        """A captioner service connected for this session (a newer connection of a
        captioner replaces an older one)."""
        self._captioners[session_id] = send
        self._captioner_sids[session_id] = sid
        self._captioner_pids[sid] = participant_id
        state = self._sessions.get(session_id)
        if state is not None and isinstance(state.engine, ExternalCaptionEngine):
            state.engine.attach(send)

    def detach_captioner(self, session_id: str, sid: str) -> None:
        """The captioner's connection `sid` went away; audio for it is dropped until one
        comes back. A late disconnect of a replaced connection changes nothing."""
        self._captioner_pids.pop(sid, None)
        if self._captioner_sids.get(session_id) != sid:
            return
        self._captioner_sids.pop(session_id, None)
        self._captioners.pop(session_id, None)
        state = self._sessions.get(session_id)
        if state is not None and isinstance(state.engine, ExternalCaptionEngine):
            state.engine.detach()

    def receive_caption(self, session_id: str, sid: str, message: Mapping[str, object]) -> None:
        """`caption-text` from the session's captioner (ProtocolError/NotPermitted)."""
        if self._captioner_sids.get(session_id) != sid:
            raise NotPermitted("another captioner connection serves this session")
        state = self._sessions.get(session_id)
        if state is None or not isinstance(state.engine, ExternalCaptionEngine):
            raise NotPermitted("this session is not asking for captions from a captioner")
        state.engine.receive(message)

    # -- life ----------------------------------------------------------------------

    def metrics(self) -> dict[str, float]:
        """Engine counters summed over sessions (stopped ones included: the counts never
        go down), for /api/metrics and /metrics."""
        totals: dict[str, float] = {"caption_sessions": len(self._sessions)}
        totals.update((f"captions_{key}", value) for key, value in self._retired.items())
        for state in self._sessions.values():
            for key, value in state.engine.metrics().as_dict().items():
                totals[f"captions_{key}"] = totals.get(f"captions_{key}", 0) + value
        return totals

    def _background(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        """Stop every engine."""
        for session_id in list(self._sessions):
            await self._stop(session_id)
        if self._idle is not None:
            self._idle.cancel()
