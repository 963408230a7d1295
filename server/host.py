"""One owner per live session: commands in, events out, in order."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Awaitable, Callable

from .domain.audit import GENESIS, KnockCoalescer, audit_entry, chain_record
from .domain.errors import NotFound
from .domain.events import Event
from .domain.session import Session
from .logs import log_context
from .store import SessionStore

log = logging.getLogger(__name__)

Command = Callable[[Session, float], list[Event]]
EventListener = Callable[[Session, list[Event]], Awaitable[None]]
Clock = Callable[[], float]


class SessionHost:
    """The only code that mutates its session. Commands run one at a time, in order;
    after each, the session is stored and the listeners see its events in order."""

    def __init__(
        self,
        session: Session,
        store: SessionStore,
        listeners: list[EventListener],
        clock: Clock = time.time,
    ) -> None:
        self.session = session
        self._store = store
        self._listeners = listeners
        self._clock = clock
        self._lock = asyncio.Lock()
        self._timers: set[asyncio.TimerHandle] = set()
        # The session's next deadline (a breakout timer) and the timer armed for it.
        self._deadline: tuple[float, asyncio.TimerHandle] | None = None
        # (seq, hash) of the last audit record; read from the store on first use.
        self._audit_head: tuple[int, str] | None = None
        self._knocks = KnockCoalescer()

    async def run(self, command: Command) -> list[Event]:
        """Apply `command` to the session; store it and tell the listeners."""
        # Whatever is logged while the command and its listeners run names the session.
        async with self._lock:
            with log_context(session_id=self.session.id):
                now = self._clock()
                try:
                    events = command(self.session, now)
                    self.session.note_time(events, now)
                    if events:
                        await self._store.save_session(self.session.to_record())
                        await self._audit(events, now)
                        for listener in self._listeners:
                            await listener(self.session, events)
                finally:
                    # Whatever failed, the session's next deadline (a timer) stays armed.
                    self.arm_deadline()
            return events

    def arm_deadline(self) -> None:
        """Make sure a tick runs at the session's next deadline (if it has one)."""
        deadline = self.session.next_deadline()
        if self._deadline is not None:
            if self._deadline[0] == deadline:
                return
            self._deadline[1].cancel()
            self._deadline = None
        if deadline is None:
            return

        def fire() -> None:
            self._deadline = None
            task = asyncio.ensure_future(self.run(lambda s, now: s.breakout_tick(now)))
            task.add_done_callback(_log_failure)

        delay = max(0.0, deadline - self._clock())
        self._deadline = (deadline, asyncio.get_running_loop().call_later(delay, fire))

    async def _audit(self, events: list[Event], now: float) -> None:
        """Append one chained record per audited event."""
        entries = [
            kept
            for entry in map(audit_entry, events)
            if entry is not None and (kept := self._knocks.filter(entry, now)) is not None
        ]
        if not entries:
            return
        if self._audit_head is None:
            records = await self._store.read_audit(self.session.id)
            last = records[-1] if records else None
            self._audit_head = (last["seq"], last["hash"]) if last else (0, GENESIS)
        seq, previous = self._audit_head
        for entry in entries:
            seq += 1
            record = chain_record(previous, seq, self.session.id, now, entry)
            await self._store.append_audit(self.session.id, record)
            previous = record["hash"]
        self._audit_head = (seq, previous)

    def run_later(self, delay_s: float, command: Command) -> None:
        """Run `command` after `delay_s` seconds (e.g. a reconnect grace period)."""
        loop = asyncio.get_running_loop()

        def fire() -> None:
            self._timers.discard(handle)
            task = asyncio.ensure_future(self.run(command))
            task.add_done_callback(_log_failure)

        handle = loop.call_later(delay_s, fire)
        self._timers.add(handle)

    def close(self) -> None:
        """Cancel pending timers."""
        for handle in self._timers:
            handle.cancel()
        self._timers.clear()
        if self._deadline is not None:
            self._deadline[1].cancel()
            self._deadline = None


def _log_failure(task: asyncio.Future[list[Event]]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("scheduled command failed: %r", task.exception())


class SessionRegistry:
    """The hosts of this process, by session id, loaded from the store on first use."""

    def __init__(
        self, store: SessionStore, listeners: list[EventListener], clock: Clock = time.time
    ) -> None:
        self._store = store
        self._listeners = listeners
        self._clock = clock
        self._hosts: dict[str, SessionHost] = {}
        self._loading = asyncio.Lock()
        # Called with each session loaded from the store (a restart or a takeover), so
        # services can load what they keep of it (the speaking ledger).
        self.on_load: list[Callable[[Session], Awaitable[None]]] = []

    async def create(self, title: str, waiting_room: bool = True) -> SessionHost:
        """Create a new session with an opaque id."""
        session = Session(
            id="s_" + secrets.token_hex(8),
            title=title,
            created_at=self._clock(),
            waiting_room=waiting_room,
        )
        await self._store.save_session(session.to_record())
        host = SessionHost(session, self._store, self._listeners, self._clock)
        self._hosts[session.id] = host
        return host

    async def get(self, session_id: str) -> SessionHost:
        """The host of a session; NotFound if the session does not exist."""
        host = self._hosts.get(session_id)
        if host is not None:
            return host
        async with self._loading:
            host = self._hosts.get(session_id)
            if host is not None:
                return host
            record = await self._store.load_session(session_id)
            if record is None:
                raise NotFound(f"no session {session_id}")
            host = SessionHost(
                Session.from_record(record), self._store, self._listeners, self._clock
            )
            self._hosts[session_id] = host
            # A breakout timer that was running when the session was stored runs on.
            host.arm_deadline()
            for hook in self.on_load:
                await hook(host.session)
            return host

    def loaded(self, session_id: str) -> SessionHost | None:
        """The host of a session if this process has it loaded (no store access)."""
        return self._hosts.get(session_id)

    def loaded_sessions(self) -> list[Session]:
        """Every session this process has loaded (ended ones too), for metrics."""
        return [host.session for host in self._hosts.values()]

    def loaded_session(self, session_id: str) -> Session | None:
        """The live session if this process has it loaded."""
        host = self._hosts.get(session_id)
        return host.session if host is not None else None

    async def session_ids(self) -> list[str]:
        """Every stored session."""
        return await self._store.list_session_ids()

    def close(self) -> None:
        """Cancel every host's timers."""
        for host in self._hosts.values():
            host.close()
