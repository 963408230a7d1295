"""One owner per live session: commands in, events out, in order.

A command changes the session under the host's lock; the session is stored and the
audit appended before the lock is let go, so a command that cannot be stored fails
as a whole. What it means for the rest of the process (messages to people, media
plans, captions, speaking time) is done by the host's courier, one task per session
that hands each command's events to the listeners in order, outside the lock: a slow
emit or a renegotiation never holds up the next command.
"""

from __future__ import annotations

import asyncio
import contextvars
import copy
import logging
import time
from collections.abc import Awaitable, Callable

from ..domain.audit import GENESIS, KnockCoalescer, audit_entry, chain_record
from ..domain.errors import Moved
from ..domain.events import Event
from ..domain.model import Presence
from ..domain.session import Session
from ..store import AuditRecord, Lease, SessionStore
from ..telemetry.logs import log_context

log = logging.getLogger(__name__)

Command = Callable[[Session, float], list[Event]]
EventListener = Callable[[Session, list[Event]], Awaitable[None]]
Clock = Callable[[], float]
# The lease a write is checked against (None: unchecked, one process without leases).
Fence = Callable[[], Awaitable[Lease | None]]

# Set in a host's courier task (and the tasks it starts): a command submitted from a
# listener does not wait for its own delivery, which queues behind the batch in hand.
_delivering: contextvars.ContextVar[SessionHost | None] = contextvars.ContextVar(
    "peercircle_delivering", default=None
)


class SessionHost:
    """The only code that mutates its session. Commands run one at a time, in order;
    each is stored and audited under the lock, and the listeners see the events of
    each, in order, from the host's courier task."""

    def __init__(
        self,
        session: Session,
        store: SessionStore,
        listeners: list[EventListener],
        clock: Clock = time.time,
        fence: Fence | None = None,
        lost: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.session = session
        self._fence = fence
        self._lost = lost
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
        # Batches of events waiting for the listeners, each with a future set once
        # every listener has seen it; the courier task drains them in order.
        self._outbox: list[tuple[list[Event], asyncio.Future[None]]] = []
        self._courier: asyncio.Task[None] | None = None

    async def run(self, command: Command) -> list[Event]:
        """Apply `command` to the session and store it; return once the listeners have
        seen its events (at once when called from a listener: they follow later).

        The command runs on a working copy, which the session adopts only once its
        record and audit records are stored: a command that cannot be stored (the store
        is unreachable: `Unavailable`) changes nothing, not even in memory."""
        delivered: asyncio.Future[None] | None = None
        # Whatever is logged while the command runs names the session.
        async with self._lock:
            with log_context(session_id=self.session.id):
                now = self._clock()
                try:
                    work = self.session.working_copy()
                    events = command(work, now)
                    work.note_time(events, now)
                    if events:
                        await self._commit(work, events, now)
                    self.session.adopt(work)
                    if events:
                        delivered = self._post(events)
                finally:
                    # Whatever failed, the session's next deadline (a timer) stays armed.
                    self.arm_deadline()
        if delivered is not None and _delivering.get() is not self:
            # Shielded: a caller that gives up waiting does not cancel the delivery.
            await asyncio.shield(delivered)
        return events

    def _post(self, events: list[Event]) -> asyncio.Future[None]:
        """Queue a batch for the listeners; the courier starts if it is not running."""
        delivered: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._outbox.append((events, delivered))
        if self._courier is None or self._courier.done():
            self._courier = asyncio.ensure_future(self._deliver())
        return delivered

    async def _deliver(self) -> None:
        """The courier: every queued batch to every listener, in order. A listener that
        fails is logged; the others still see the batch."""
        _delivering.set(self)
        with log_context(session_id=self.session.id):
            while self._outbox:
                events, delivered = self._outbox.pop(0)
                try:
                    for listener in self._listeners:
                        try:
                            await listener(self.session, events)
                        except Exception:
                            log.exception("a listener failed on %s", type(events[0]).__name__)
                finally:
                    if not delivered.done():
                        delivered.set_result(None)

    async def settled(self) -> None:
        """Wait until every batch queued so far has been delivered."""
        while self._courier is not None and not self._courier.done():
            await asyncio.shield(self._courier)

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

    async def _commit(self, work: Session, events: list[Event], now: float) -> None:
        """Store the working copy's record and one chained audit record per audited
        event, in one write; the audit head and knock counts move only once it is in."""
        knocks = copy.deepcopy(self._knocks)
        entries = [
            kept
            for entry in map(audit_entry, events)
            if entry is not None and (kept := knocks.filter(entry, now)) is not None
        ]
        if self._audit_head is None and entries:
            records = await self._store.read_audit(self.session.id)
            last = records[-1] if records else None
            self._audit_head = (last["seq"], last["hash"]) if last else (0, GENESIS)
        head = self._audit_head
        chained: list[AuditRecord] = []
        if head is not None:
            seq, previous = head
            for entry in entries:
                seq += 1
                record = chain_record(previous, seq, self.session.id, now, entry)
                chained.append(record)
                previous = record["hash"]
            head = (seq, previous)
        lease = await self._fence() if self._fence is not None else None
        try:
            await self._store.commit(work.to_record(), chained, lease)
        except Moved:
            # Another node holds the lease now: this copy is stale; let it go.
            if self._lost is not None:
                await self._lost()
            raise
        self._audit_head = head
        self._knocks = knocks

    @property
    def exclusive(self) -> asyncio.Lock:
        """The host's command lock: held, no command runs (a hand-over takes it)."""
        return self._lock

    def expire_dropped_later(self, grace_s: float) -> None:
        """Arm a grace timer for each person reconnecting, from when their connection
        was lost as the record says: after a takeover, people who never come back
        expire on the new owner as they would have on the old."""
        now = self._clock()
        for dropped_at in _dropped_times(self.session):
            delay = max(0.0, dropped_at + grace_s - now)
            self.run_later(delay, lambda s, now: s.expire_dropped(now, grace_s))

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
        """Cancel pending timers and the courier."""
        for handle in self._timers:
            handle.cancel()
        self._timers.clear()
        if self._courier is not None:
            self._courier.cancel()
            self._courier = None
        if self._deadline is not None:
            self._deadline[1].cancel()
            self._deadline = None


def _dropped_times(session: Session) -> list[float]:
    """When each person now reconnecting lost their connection, as the record says
    (their grace period runs from then, on whichever node holds the session)."""
    return [
        float(p["dropped_at"])
        for p in session.to_record()["participants"]
        if p["presence"] == Presence.RECONNECTING.value and p.get("dropped_at") is not None
    ]


def _log_failure(task: asyncio.Future[list[Event]]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("scheduled command failed: %r", task.exception())
