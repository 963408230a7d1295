"""The node registry: each node's URLs and load, kept live by a heartbeat."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from ..domain.errors import Unavailable
from ..store import NodeInfo, SessionStore

log = logging.getLogger(__name__)


class NodeDirectory:
    """This node's entry in the registry (a heartbeat every `heartbeat_s`, lapsing after
    `ttl_s`), and what it knows of the others."""

    def __init__(
        self,
        store: SessionStore,
        node_id: str,
        url: str,
        internal_url: str,
        load: Callable[[], int],
        heartbeat_s: float = 1.0,
        ttl_s: float = 5.0,
    ) -> None:
        self._store = store
        self.node_id = node_id
        self.url = url
        self.internal_url = internal_url
        self._load = load
        self._heartbeat_s = heartbeat_s
        self._ttl_s = ttl_s
        self._task: asyncio.Task[None] | None = None
        # The last registry read, so a node we redirect to keeps its URL while the
        # store is briefly away.
        self._known: dict[str, NodeInfo] = {}
        # Draining: this node has left the registry and takes no new sessions.
        self.leaving = False

    def me(self) -> NodeInfo:
        """This node as the registry shows it."""
        return NodeInfo(self.node_id, self.url, self.internal_url, self._load())

    async def announce(self) -> None:
        """One heartbeat."""
        await self._store.announce_node(self.me(), self._ttl_s)

    def start(self) -> None:
        """Start the heartbeat."""
        if self._task is None:
            self._task = asyncio.ensure_future(self._beat())

    async def stop(self) -> None:
        """Stop the heartbeat and leave the registry."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        with contextlib.suppress(Unavailable):
            await self._store.forget_node(self.node_id)

    async def _beat(self) -> None:
        while True:
            try:
                await self.announce()
            except Unavailable:
                pass  # readiness reports it; the next beat tries again
            except Exception:
                log.exception("node heartbeat failed")
            await asyncio.sleep(self._heartbeat_s)

    async def live(self) -> list[NodeInfo]:
        """Every live node (this one included, even before its first heartbeat, unless
        it is leaving)."""
        nodes = {n.node_id: n for n in await self._store.live_nodes()}
        if self.leaving:
            nodes.pop(self.node_id, None)
        else:
            nodes.setdefault(self.node_id, self.me())
        self._known = nodes
        return list(nodes.values())

    async def least_loaded(self) -> NodeInfo:
        """Where a session starts: the live node with the least load (ties: by id);
        this node if it is leaving and no other is live."""
        return min(await self.live(), key=lambda n: (n.load, n.node_id), default=self.me())

    async def others(self) -> list[NodeInfo]:
        """The other live nodes, least loaded first (where a draining node's sessions go)."""
        nodes = [n for n in await self.live() if n.node_id != self.node_id]
        return sorted(nodes, key=lambda n: (n.load, n.node_id))

    async def leave(self) -> None:
        """Draining: stop the heartbeat and leave the registry now, so no node places a
        session here; redirects and forwarded calls still work while it serves on."""
        self.leaving = True
        await self.stop()

    async def find(self, node_id: str) -> NodeInfo | None:
        """A live node by id, or None if its heartbeat lapsed."""
        if node_id == self.node_id:
            return self.me()
        for node in await self.live():
            if node.node_id == node_id:
                return node
        return None
