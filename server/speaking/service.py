"""Speaking time for live sessions: one `SpeakingLedger` and `CueBoard` per session.

A voice sink (mic frames in), a host listener (session facts in) and a 1 s tick per
active session: advance the ledger, flush its record to the store, compute the
report and cues, and push what changed to the people allowed to see it
(docs/SPEAKING.md, "The service").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..domain.errors import Moved
from ..domain.events import (
    Event,
    ParticipantJoined,
    ParticipantUpdated,
    SessionEnded,
    SpeakingOptionsChanged,
)
from ..domain.model import Presence, Source
from ..domain.roles import FACILITATORS, Role
from ..domain.session import Session
from ..domain.speaking import (
    CueBoard,
    CueKey,
    FrameBatch,
    SpeakingLedger,
    SpeakingReport,
    SpeakingSettings,
    TalkGroup,
    VoiceFrame,
    find_cues,
    hand_order,
    may_see_cue,
    render_cue,
    speaking_report,
)
from ..store import Lease, SessionStore
from ..telemetry.timings import Timings
from .wire import change_key, cue_body, cue_key_text, report_body

log = logging.getLogger(__name__)

# event, body, socket.io room or sid
Emit = Callable[[str, dict[str, Any], str], Awaitable[None]]
# The lease a session's writes are checked against (None: unchecked); raises `Moved`
# once this node no longer owns the session.
Fence = Callable[[str], Awaitable[Lease | None]]
TICK_S = 1.0
# The ledger goes to the store every this many seconds (and when the service
# closes): serializing a long session's ledger takes milliseconds the event loop,
# which also forwards media, should not spend every second.
FLUSH_EVERY_S = 5.0
OWN_TALK_EVERY_S = 5.0
RECORD_VERSION = 1
# Roles whose mic counts; observers and captioners never publish one.
_TALKERS = frozenset({Role.THERAPIST, Role.CO_FACILITATOR, Role.PEER_LEADER, Role.PATIENT})


@dataclass
class SessionSpeaking:
    """One session's ledger, cue board and what was last sent to whom."""

    ledger: SpeakingLedger
    board: CueBoard
    names: dict[str, str] = field(default_factory=dict)
    roles: dict[str, Role] = field(default_factory=dict)
    leaders_see_room: bool = False
    led_rooms: dict[str, str] = field(default_factory=dict)  # leader id -> room
    report: SpeakingReport | None = None
    stats_key: str | None = None
    options_due: bool = True
    # Cue keys last sent, per audience: "staff" or a peer leader's id.
    sent_cues: dict[str, set[CueKey]] = field(default_factory=dict)
    own_sent: dict[str, tuple[int, float]] = field(default_factory=dict)  # talk, when
    flushed_at: float = float("-inf")  # when the ledger last went to the store
    ticked_at: float | None = None  # what the ledger was last advanced to


def talk_group(role: Role) -> TalkGroup:
    """Facilitators' talk is reported apart from the patients' baseline."""
    return TalkGroup.FACILITATOR if role in FACILITATORS else TalkGroup.PATIENT


class SpeakingService:
    """Host listener, voice sink and ticker for every live session of this process."""

    def __init__(
        self,
        settings: SpeakingSettings,
        store: SessionStore,
        emit: Emit,
        staff_room: Callable[[str], str],
        sid_of: Callable[[str], str | None],
        retention_s: float,
        show_own_talk: bool = True,
        clock: Callable[[], float] = time.time,
        fence: Fence | None = None,
        flush_every_s: float = FLUSH_EVERY_S,
    ) -> None:
        self.settings = settings
        self._fence = fence
        self._flush_every_s = flush_every_s
        self._store = store
        self._emit_to = emit
        self._staff_room = staff_room
        self._sid_of = sid_of
        self._retention_s = retention_s
        self._show_own_talk = show_own_talk
        self._clock = clock
        self._sessions: dict[str, SessionSpeaking] = {}
        self._ticker: asyncio.Task[None] | None = None
        # How long each tick of every session took (wall time, awaits included): /metrics.
        self.tick_timings = Timings()

    # -- session facts ---------------------------------------------------------------

    async def on_events(self, session: Session, events: list[Event]) -> None:
        """Tell the ledger the session's facts; end the session's tick when it ends."""
        state = self._sessions.get(session.id)
        if state is None:
            if session.ended or not session.participants():
                return
            state = await self._load(session.id)
        now = self._clock()
        self._reconcile(state, session, now)
        for event in events:
            if isinstance(event, SpeakingOptionsChanged):
                body = {"leadersSeeRoom": event.leaders_see_room}
                await self._emit("speaking-options", body, self._staff_room(session.id))
        if any(isinstance(e, SessionEnded) for e in events) or not session.participants():
            # Everyone is gone: a last flush; a later join loads the ledger again.
            await self._tick_session(session.id, state, now, flush=True)
            self._sessions.pop(session.id, None)
        elif any(_facilitator_arrived(e) for e in events):
            # A console that just (re)connected gets the whole picture on the next tick.
            state.stats_key = None
            state.sent_cues.pop("staff", None)
            state.options_due = True

    async def on_loaded(self, session: Session) -> None:
        """A session host was loaded from the store: load its ledger too."""
        if session.id in self._sessions or session.ended or not session.participants():
            return
        state = await self._load(session.id)
        self._reconcile(state, session, self._clock())

    async def _load(self, session_id: str) -> SessionSpeaking:
        """The session's ledger from the store (a reconnect or restart keeps totals)."""
        record = await self._store.load_kept("speaking", session_id, self._clock())
        ledger = SpeakingLedger(self.settings)
        if record is not None and record.get("v") == RECORD_VERSION:
            try:
                ledger = SpeakingLedger.from_record(record["ledger"], self.settings)
            except (KeyError, TypeError, ValueError) as error:
                log.warning("speaking record of %s unreadable: %r", session_id, error)
        state = SessionSpeaking(ledger, CueBoard(self.settings))
        self._sessions[session_id] = state
        if self._ticker is None or self._ticker.done():
            self._ticker = asyncio.ensure_future(self._tick_loop())
        return state

    def _reconcile(self, state: SessionSpeaking, session: Session, now: float) -> None:
        """Bring each person's ledger state in line with the session at `now`."""
        ledger = state.ledger
        presenting = {t.participant_id for t in session.tracks() if t.source is Source.SCREEN}
        in_call: set[str] = set()
        for p in session.participants():
            if p.role not in _TALKERS:
                continue
            state.names[p.id] = p.name
            state.roles[p.id] = p.role
            if p.presence is not Presence.PRESENT:
                continue
            in_call.add(p.id)
            group, muted = talk_group(p.role), p.mic != "live"
            current = ledger.state(p.id)
            if current is None or not current.present:
                ledger.joined(p.id, now, p.room, group, muted)
            else:
                if current.room != p.room:
                    ledger.moved(p.id, now, p.room)
                if current.group is not group:
                    ledger.set_group(p.id, now, group)
                if current.muted != muted:
                    ledger.set_muted(p.id, now, muted)
            current = ledger.state(p.id)
            if current is not None and current.presenting != (p.id in presenting):
                ledger.set_presenting(p.id, now, p.id in presenting)
        for pid in ledger.people():
            current = ledger.state(pid)
            if pid not in in_call and current is not None and current.present:
                ledger.left(pid, now)
        state.leaders_see_room = session.leaders_see_room
        state.led_rooms = {
            p.id: room
            for p in session.participants()
            if (room := session.led_room(p.id)) is not None
        }

    # -- audio in --------------------------------------------------------------------

    def on_frames(
        self,
        session_id: str,
        participant_id: str,
        room: str,
        frames: Sequence[VoiceFrame],
    ) -> None:
        """A voice sink: one mic's 30 ms VAD frames, on the media clock."""
        state = self._sessions.get(session_id)
        if state is None or not frames:
            return
        state.ledger.add_frames(FrameBatch(participant_id, tuple(frames)))

    # -- the tick ------------------------------------------------------------------------

    async def _tick_loop(self) -> None:
        next_at = self._clock()
        while self._sessions:
            next_at += TICK_S
            await asyncio.sleep(max(0.0, next_at - self._clock()))
            now = self._clock()
            started = time.perf_counter()
            for session_id, state in list(self._sessions.items()):
                try:
                    await self._tick_session(session_id, state, now)
                except Exception:
                    log.exception("speaking tick failed for %s", session_id)
            self.tick_timings.observe(time.perf_counter() - started)

    async def _tick_session(
        self, session_id: str, state: SessionSpeaking, now: float, flush: bool = False
    ) -> None:
        """Advance, flush (every FLUSH_EVERY_S, or now with `flush`), report, cue and
        push what changed.

        The loop gets a turn between the steps: media packets wait for none of them
        for long.
        """
        state.ledger.advance(now)
        state.ticked_at = now
        if flush or now - state.flushed_at >= self._flush_every_s:
            state.flushed_at = now
            await asyncio.sleep(0)
            if not await self._save(session_id, state, now):
                return
        await asyncio.sleep(0)
        report = speaking_report(state.ledger, now)
        state.report = report
        await asyncio.sleep(0)
        state.board.update(find_cues(state.ledger, report), now)
        body = report_body(report, self.settings.window_s)
        key = change_key(body)
        if key != state.stats_key:
            state.stats_key = key
            body["names"] = {pid: state.names.get(pid, "") for pid in state.ledger.people()}
            await self._emit("speaking-stats", body, self._staff_room(session_id))
        if state.options_due:
            state.options_due = False
            body = {"leadersSeeRoom": state.leaders_see_room}
            await self._emit("speaking-options", body, self._staff_room(session_id))
        await self._push_cues(session_id, state)
        if self._show_own_talk:
            await self._push_own_talk(state, report, now)

    async def _push_cues(self, session_id: str, state: SessionSpeaking) -> None:
        """Send each audience the cues that appeared for it and clear those that went."""
        shown = {c.key: c for c in state.board.shown()}
        audiences: dict[str, tuple[str, set[CueKey]]] = {
            "staff": (self._staff_room(session_id), set(shown))
        }
        for leader, room in state.led_rooms.items():
            sid = self._sid_of(leader)
            if sid is None:
                continue
            keys = {
                k
                for k, c in shown.items()
                if may_see_cue(c, Role.PEER_LEADER, room, state.leaders_see_room)
            }
            audiences[leader] = (sid, keys)
        for gone in set(state.sent_cues) - set(audiences):
            keys = state.sent_cues.pop(gone)
            sid = self._sid_of(gone)
            if sid is not None:
                for k in keys:
                    await self._emit("cue-cleared", {"key": cue_key_text(k)}, sid)
        for audience, (to, keys) in audiences.items():
            sent = state.sent_cues.setdefault(audience, set())
            for k in sorted(sent - keys, key=cue_key_text):
                await self._emit("cue-cleared", {"key": cue_key_text(k)}, to)
            for k in sorted(keys - sent, key=cue_key_text):
                cue = shown[k]
                name = state.names.get(cue.person_id) if cue.person_id else None
                await self._emit("cue", cue_body(cue, render_cue(cue, name)), to)
            state.sent_cues[audience] = set(keys)

    async def _push_own_talk(
        self, state: SessionSpeaking, report: SpeakingReport, now: float
    ) -> None:
        """Each patient's own talk time, at most every 5 s while it changes."""
        for pid, m in report.whole.session.people.items():
            if state.roles.get(pid) not in (Role.PATIENT, Role.PEER_LEADER):
                continue
            talk = round(m.talk_s)
            last = state.own_sent.get(pid)
            if last is not None and (last[0] == talk or now - last[1] < OWN_TALK_EVERY_S):
                continue
            sid = self._sid_of(pid)
            if sid is None:
                continue
            state.own_sent[pid] = (talk, now)
            await self._emit("my-speaking", {"talkS": talk}, sid)

    # -- requests from facilitators ------------------------------------------------------

    async def dismiss(self, session: Session, actor_id: str, key: CueKey) -> None:
        """A facilitator dismissed a cue: it goes for everyone who sees it."""
        session.check_may_see_speaking(actor_id)
        state = self._sessions.get(session.id)
        if state is None:
            return
        state.board.dismiss(key, self._clock())
        await self._push_cues(session.id, state)

    def hands_by_talk(self, session: Session, actor_id: str) -> dict[str, Any]:
        """The `hands-order` body: raised hands, least talk time first."""
        session.check_may_see_speaking(actor_id)
        state = self._sessions.get(session.id)
        report = state.report if state is not None else None
        people = report.whole.session.people if report is not None else {}
        talk = {pid: m.talk_s for pid, m in people.items()}
        queue = hand_order(session.hands(), talk)
        return {"queue": queue, "talkS": {pid: round(talk.get(pid, 0.0), 1) for pid in queue}}

    def talk_by_person(self, session_id: str) -> dict[str, float]:
        """Seconds of talk so far by person (the last tick's report; empty if none)."""
        state = self._sessions.get(session_id)
        report = state.report if state is not None else None
        people = report.whole.session.people if report is not None else {}
        return {pid: m.talk_s for pid, m in people.items()}

    def live_ledger(self, session_id: str) -> tuple[SpeakingLedger, float] | None:
        """The live ledger of a session this process is measuring, and the time it was
        last advanced to (its tick), if any: fresher than the store's copy."""
        state = self._sessions.get(session_id)
        if state is None or state.ticked_at is None:
            return None
        return state.ledger, state.ticked_at

    async def _save(self, session_id: str, state: SessionSpeaking, now: float) -> bool:
        """Flush the ledger, checked against this node's lease of the session: a node
        that lost the session (paused, cut off, handed over) writes nothing and lets
        the session's ledger go. False if it did."""
        try:
            lease = await self._fence(session_id) if self._fence is not None else None
            record: dict[str, Any] = {"v": RECORD_VERSION, "at": now}
            if lease is not None:
                # Who wrote it, under which fencing token (for an operator reading Redis).
                record |= {"node": lease.node_id, "token": lease.token}
            record["ledger"] = state.ledger.to_record()
            await self._store.save_kept(
                "speaking", session_id, record, now + self._retention_s, lease
            )
        except Moved:
            self.let_go(session_id)
            return False
        return True

    def let_go(self, session_id: str) -> None:
        """This node no longer owns the session: drop its ledger without writing it
        (the new owner measures from what was last stored)."""
        if self._sessions.pop(session_id, None) is not None:
            log.info("speaking time of session %s is measured elsewhere now", session_id)

    async def hand_over(self, session_id: str) -> None:
        """A last flush before this node hands the session to another (drain), then
        let it go: nothing measured here is lost, nothing later is written."""
        state = self._sessions.get(session_id)
        if state is None:
            return
        now = self._clock()
        state.ledger.advance(now)
        await self._save(session_id, state, now)
        self.let_go(session_id)

    # -- life ------------------------------------------------------------------------------

    async def _emit(self, event: str, body: dict[str, Any], to: str) -> None:
        await self._emit_to(event, body, to)

    async def close(self) -> None:
        """Flush every session and stop the tick."""
        now = self._clock()
        for session_id, state in list(self._sessions.items()):
            with contextlib.suppress(Exception):
                state.ledger.advance(now)
                await self._save(session_id, state, now)
        self._sessions.clear()
        if self._ticker is not None:
            self._ticker.cancel()


def _facilitator_arrived(event: Event) -> bool:
    if isinstance(event, ParticipantJoined | ParticipantUpdated):
        p = event.participant
        return p.role in FACILITATORS and p.presence is Presence.PRESENT
    return False
