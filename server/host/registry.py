"""The hosts of this process: loaded from the store on first use (and, with several
nodes, only for the sessions this node owns), let go when the lease is lost."""

from __future__ import annotations

import asyncio
import logging
import random
import secrets
import time
from collections.abc import Awaitable, Callable

from ..cluster.ownership import Ownership
from ..domain.errors import Moved, NotFound, Unavailable
from ..domain.events import Event
from ..domain.model import Presence
from ..domain.session import Session
from ..store import Lease, NodeInfo, SessionStore
from .session_host import Clock, EventListener, SessionHost

log = logging.getLogger(__name__)


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


def _needs_owner(session: Session) -> bool:
    """Whether a session whose owner is gone must be taken over now: it has not ended
    and someone is (or was, at the owner's end) in it or waiting."""
    return not session.ended and bool(session.participants() or session.waiting())
