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
import random
import secrets
import time
from collections.abc import Awaitable, Callable

from .cluster.ownership import Ownership
from .domain.audit import GENESIS, KnockCoalescer, audit_entry, chain_record
from .domain.errors import Moved, NotFound, Unavailable
from .domain.events import Event
from .domain.model import Presence
from .domain.session import Session
from .store import AuditRecord, Lease, NodeInfo, SessionStore
from .telemetry.logs import log_context

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


def _log_failure(task: asyncio.Future[list[Event]]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("scheduled command failed: %r", task.exception())


class SessionRegistry:
    """The hosts of this process, by session id, loaded from the store on first use.
    With `ownership`, only sessions this node holds the lease of: another node's get
    `Moved` (naming it), and a host whose lease is lost is let go."""

    def __init__(
        self,
        store: SessionStore,
        listeners: list[EventListener],
        clock: Clock = time.time,
        ownership: Ownership | None = None,
        grace_s: float = 30.0,
    ) -> None:
        self._store = store
        self._listeners = listeners
        self._clock = clock
        self._ownership = ownership
        self._grace_s = grace_s
        self._watch: asyncio.Task[None] | None = None
        self._hosts: dict[str, SessionHost] = {}
        self._loading = asyncio.Lock()
        # Called with each session loaded from the store (a restart or a takeover), so
        # services can load what they keep of it (the speaking ledger).
        self.on_load: list[Callable[[Session], Awaitable[None]]] = []
        # Called with the id of each session this node let go of (its lease was lost, or
        # it was handed over) and the new owner's public URL ("" if unknown): the
        # people connected here must go there, and nothing here may write for it.
        self.on_unload: list[Callable[[str, str], Awaitable[None]]] = []
        # Called with the id of each session about to be handed over (drain), while no
        # command runs: the last writes of what services keep (the speaking ledger).
        self.on_hand_over: list[Callable[[str], Awaitable[None]]] = []
        if ownership is not None:
            ownership.on_lost.append(self._unload)

    async def create(self, title: str, waiting_room: bool = True) -> SessionHost:
        """Create a new session with an opaque id, owned by this node."""
        session = Session(
            id="s_" + secrets.token_hex(8),
            title=title,
            created_at=self._clock(),
            waiting_room=waiting_room,
        )
        lease = None
        if self._ownership is not None:
            lease = await self._ownership.claim_here(session.id)
        await self._store.commit(session.to_record(), [], lease)
        host = self._host(session)
        self._hosts[session.id] = host
        return host

    def _host(self, session: Session) -> SessionHost:
        ownership = self._ownership
        if ownership is None:
            return SessionHost(session, self._store, self._listeners, self._clock)
        session_id = session.id

        async def fence() -> Lease | None:
            return await ownership.current(session_id)

        async def lost() -> None:
            await ownership.lost(session_id)

        return SessionHost(session, self._store, self._listeners, self._clock, fence, lost)

    async def get(self, session_id: str) -> SessionHost:
        """The host of a session; NotFound if the session does not exist, `Moved` if
        another node owns it. Never a copy of a session this node does not own."""
        host = self._hosts.get(session_id)
        if host is not None and (
            self._ownership is None or self._ownership.held(session_id) is not None
        ):
            return host
        async with self._loading:
            host = self._hosts.get(session_id)
            if host is not None and self._ownership is not None:
                try:
                    await self._ownership.current(session_id)
                except Moved:
                    host = None  # lost: `_unload` let it go; see who owns it now
            if host is not None:
                return host
            record = await self._store.load_session(session_id)
            if record is None:
                raise NotFound(f"no session {session_id}")
            if self._ownership is not None:
                lease = await self._ownership.claim(session_id)
                if lease.node_id != self._ownership.node_id:
                    raise await self._ownership.moved(lease)
                # Ours now: what the last owner stored is the state.
                record = await self._store.load_session(session_id)
                if record is None:
                    raise NotFound(f"no session {session_id}")
            host = self._host(Session.from_record(record))
            self._hosts[session_id] = host
            try:
                await self._take_on(host)
            except BaseException:
                if self._hosts.get(session_id) is host:
                    del self._hosts[session_id]
                host.close()
                raise
            return host

    async def _take_on(self, host: SessionHost) -> None:
        """A session loaded from the store (a restart, a takeover, a hand-over): nobody
        is connected here yet, so whoever the record shows present lost their
        connection with the node that held it and has the grace period to come back;
        the grace timers (theirs, and those running when it was stored) and a breakout
        timer run on here."""
        if not host.session.ended:
            await host.run(_drop_everyone)
        host.expire_dropped_later(self._grace_s)
        host.arm_deadline()
        for hook in self.on_load:
            await hook(host.session)

    def forget(self, session_id: str) -> None:
        """An ended session's record was deleted by retention: drop its host too (a
        node never serves a copy of what the store no longer has)."""
        host = self._hosts.pop(session_id, None)
        if host is not None:
            host.close()

    async def _unload(self, session_id: str) -> None:
        """Let go of a session whose lease this node lost."""
        host = self._hosts.pop(session_id, None)
        if host is None:
            return
        host.close()
        await self._tell_unloaded(session_id, await self._owner_url(session_id))

    async def _owner_url(self, session_id: str) -> str:
        """The public URL of the session's owner now, or "" (nobody, or unreachable)."""
        if self._ownership is None:
            return ""
        try:
            lease = await self._store.lease_of(session_id)
            if lease is None or lease.node_id == self._ownership.node_id:
                return ""
            return (await self._ownership.moved(lease)).url
        except Unavailable:
            return ""

    async def _tell_unloaded(self, session_id: str, url: str) -> None:
        for hook in self.on_unload:
            try:
                await hook(session_id, url)
            except Exception:
                log.exception("an unload hook failed")

    async def hand_over(self, session_id: str, to: NodeInfo) -> bool:
        """Drain: give a session this node holds to node `to`, after the last writes
        (no command runs meanwhile), and send its people there. False if this node
        no longer held it."""
        host = self._hosts.get(session_id)
        if host is None or self._ownership is None:
            return False
        async with host.exclusive:
            for hook in self.on_hand_over:
                try:
                    await hook(session_id)
                except Exception:
                    log.exception("a hand-over hook failed")
            lease = await self._ownership.hand_over(session_id, to.node_id)
            if self._hosts.get(session_id) is host:
                del self._hosts[session_id]
            host.close()
        await self._tell_unloaded(session_id, to.url if lease is not None else "")
        return lease is not None

    def watch(self, every_s: float) -> None:
        """Start watching the store for sessions that need an owner: a lease that
        lapsed (its node died or froze) or one handed to this node. This node takes
        them over from the stored state, as a first client arriving would."""
        if self._ownership is not None and self._watch is None:
            self._watch = asyncio.ensure_future(self._watch_leases(every_s))

    async def _watch_leases(self, every_s: float) -> None:
        assert self._ownership is not None
        while True:
            # Jitter, so the live nodes do not all look at the same moment.
            await asyncio.sleep(every_s * random.uniform(0.75, 1.25))
            if self._ownership.nodes.leaving:
                continue
            try:
                await self.take_over_orphans()
            except Unavailable:
                pass  # readiness says so; the next round tries again
            except Exception:
                log.exception("the takeover watch failed")

    async def take_over_orphans(self) -> list[str]:
        """One round of the watch: the sessions this node took over."""
        assert self._ownership is not None
        me = self._ownership.node_id
        taken: list[str] = []
        for session_id, lease in (await self._store.watched()).items():
            if lease is not None and (lease.node_id != me or session_id in self._hosts):
                continue  # someone holds it (maybe this node, with it loaded)
            if lease is None:
                record = await self._store.load_session(session_id)
                if record is None or not _needs_owner(Session.from_record(record)):
                    # Ended, or nobody in it: a first arrival places it again.
                    await self._store.retire(session_id)
                    continue
                lease = await self._ownership.take(session_id)
                if lease.node_id != me:
                    continue  # another node was quicker
                log.warning("taking over session %s", session_id)
            try:
                await self.get(session_id)
            except (Moved, NotFound):
                continue
            taken.append(session_id)
        return taken

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
        """Cancel every host's timers and the watch."""
        if self._watch is not None:
            self._watch.cancel()
            self._watch = None
        for host in self._hosts.values():
            host.close()


def _drop_everyone(session: Session, now: float) -> list[Event]:
    """Every connection was lost at once (the node that held them died, or handed the
    session over): as a drop of each person present or waiting."""
    events: list[Event] = []
    for person in [*session.participants(), *session.waiting()]:
        if person.presence in (Presence.PRESENT, Presence.WAITING):
            events += session.drop(person.id, now)
    return events


def _dropped_times(session: Session) -> list[float]:
    """When each person now reconnecting lost their connection, as the record says
    (their grace period runs from then, on whichever node holds the session)."""
    return [
        float(p["dropped_at"])
        for p in session.to_record()["participants"]
        if p["presence"] == Presence.RECONNECTING.value and p.get("dropped_at") is not None
    ]


def _needs_owner(session: Session) -> bool:
    """Whether a session whose owner is gone must be taken over now: it has not ended
    and someone is (or was, at the owner's end) in it or waiting."""
    return not session.ended and bool(session.participants() or session.waiting())
