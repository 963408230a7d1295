"""Which node owns which session: a lease in the store with a fencing token.

A session is placed on the least-loaded live node when nobody holds its lease; the
owner renews its leases every third of their life. Locally a lease counts only until
`ttl_s * SAFETY` after the renewal was sent, so a node that was paused (SIGSTOP, a long
GC, a partition) stops acting on a session before another node can take it over; and
the store checks the token on every write, so even a node that does not notice cannot
overwrite the new owner's state.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from ..domain.errors import Moved, Unavailable
from ..store import Lease, SessionStore
from .nodes import NodeDirectory

log = logging.getLogger(__name__)

# A lease is trusted locally for this share of its life after the renewal was sent.
SAFETY = 0.8


class Ownership:
    """This node's leases: claiming (placement), renewing, losing, giving up."""

    def __init__(
        self,
        store: SessionStore,
        nodes: NodeDirectory,
        ttl_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self.nodes = nodes
        self._ttl_s = ttl_s
        self._clock = clock
        # session id -> (lease, trusted until on the monotonic clock)
        self._held: dict[str, tuple[Lease, float]] = {}
        self._task: asyncio.Task[None] | None = None
        # Set once the node is stopping: it claims nothing more (a socket closing on the
        # way out must not make it take a session it just gave up).
        self._stopping = False
        # Called with the id of each session this node lost (a lapsed or taken lease).
        self.on_lost: list[Callable[[str], Awaitable[None]]] = []

    @property
    def node_id(self) -> str:
        """This node."""
        return self.nodes.node_id

    def held(self, session_id: str) -> Lease | None:
        """Our lease of the session if we hold it and it is still trusted locally."""
        entry = self._held.get(session_id)
        if entry is None or entry[1] <= self._clock():
            return None
        return entry[0]

    async def claim(self, session_id: str) -> Lease:
        """The session's lease after placing it: ours if we held it or were the
        least-loaded live node while it was free; otherwise its holder's."""
        self._check_running()
        lease = await self._store.lease_of(session_id)
        if lease is None:
            target = await self.nodes.least_loaded()
            sent = self._clock()
            lease = await self._store.claim_lease(session_id, target.node_id, self._ttl_s)
            if lease.node_id == self.node_id:
                self._held[session_id] = (lease, sent + self._ttl_s * SAFETY)
            return lease
        if lease.node_id == self.node_id:
            # Ours (placed here by another node, or held all along): renew it now.
            sent = self._clock()
            if await self._store.renew_lease(lease, self._ttl_s):
                self._held[session_id] = (lease, sent + self._ttl_s * SAFETY)
        return lease

    async def claim_here(self, session_id: str) -> Lease:
        """The lease of a session this node is creating (nobody can hold it yet)."""
        self._check_running()
        sent = self._clock()
        lease = await self._store.claim_lease(session_id, self.node_id, self._ttl_s)
        if lease.node_id != self.node_id:
            raise await self.moved(lease)
        self._held[session_id] = (lease, sent + self._ttl_s * SAFETY)
        return lease

    async def take(self, session_id: str) -> Lease:
        """Claim a session whose lease lapsed (takeover) or was handed to this node:
        ours if it is free or ours, else its holder's."""
        self._check_running()
        sent = self._clock()
        lease = await self._store.claim_lease(session_id, self.node_id, self._ttl_s)
        if lease.node_id == self.node_id:
            self._held[session_id] = (lease, sent + self._ttl_s * SAFETY)
        return lease

    def _check_running(self) -> None:
        if self._stopping:
            raise Unavailable("this node is stopping; connect again")

    async def hand_over(self, session_id: str, node_id: str) -> Lease | None:
        """Give the session straight to `node_id` (drain): the new lease, or None if
        ours had already gone. Either way this node holds it no more."""
        entry = self._held.pop(session_id, None)
        if entry is None:
            return None
        return await self._store.hand_over_lease(entry[0], node_id, self._ttl_s)

    async def current(self, session_id: str) -> Lease:
        """Our lease for a write: trusted locally, or renewed now; `Moved` if lost."""
        lease = self.held(session_id)
        if lease is not None:
            return lease
        entry = self._held.get(session_id)
        if entry is not None:
            sent = self._clock()
            if await self._store.renew_lease(entry[0], self._ttl_s):
                self._held[session_id] = (entry[0], sent + self._ttl_s * SAFETY)
                return entry[0]
            await self.lost(session_id)
        raise Moved(f"this node does not own session {session_id}")

    async def moved(self, lease: Lease) -> Moved:
        """The refusal for a session `lease`'s holder owns, naming its public URL."""
        node = await self.nodes.find(lease.node_id)
        url = node.url if node is not None else ""
        return Moved(f"session {lease.session_id} is on another node", url)

    async def lost(self, session_id: str) -> None:
        """We no longer own the session: forget the lease and tell the hooks."""
        if self._held.pop(session_id, None) is None:
            return
        log.warning("lost the lease of session %s", session_id)
        for hook in self.on_lost:
            try:
                await hook(session_id)
            except Exception:
                log.exception("a lease-lost hook failed")

    async def release(self, session_id: str) -> None:
        """Give the session up (it ended, or the node is stopping)."""
        entry = self._held.pop(session_id, None)
        if entry is not None:
            with contextlib.suppress(Unavailable):
                await self._store.release_lease(entry[0])

    def start(self) -> None:
        """Start renewing our leases."""
        if self._task is None:
            self._task = asyncio.ensure_future(self._renew_all())

    async def stop(self) -> None:
        """Stop renewing and release every lease (they lapse anyway if this fails)."""
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for session_id in list(self._held):
            await self.release(session_id)

    async def _renew_all(self) -> None:
        while True:
            await asyncio.sleep(self._ttl_s / 3)
            for session_id, (lease, _) in list(self._held.items()):
                sent = self._clock()
                try:
                    renewed = await self._store.renew_lease(lease, self._ttl_s)
                except Unavailable:
                    continue  # trusted until its local deadline; tried again soon
                except Exception:
                    log.exception("lease renewal failed")
                    continue
                if renewed and session_id in self._held:
                    self._held[session_id] = (lease, sent + self._ttl_s * SAFETY)
                elif not renewed:
                    await self.lost(session_id)
