"""The default store: a dict in this process."""

from __future__ import annotations

import copy
import time
from typing import Any

from ..domain.errors import Moved
from . import AuditRecord, Lease, NodeInfo, SessionRecord


class MemoryStore:
    """Keeps records in memory; copies in and out so callers never share state."""

    def __init__(self) -> None:
        self._sessions: dict[str, SessionRecord] = {}
        self._audit: dict[str, list[AuditRecord]] = {}
        # (kind, session) -> (expires_at, record or list of records)
        self._kept: dict[tuple[str, str], tuple[float, dict[str, Any]]] = {}
        self._kept_lists: dict[tuple[str, str], tuple[float, list[dict[str, Any]]]] = {}
        # One process, so one node: leases and the registry work as in Redis, on the
        # monotonic clock.
        self._leases: dict[str, tuple[Lease, float]] = {}
        self._tokens: dict[str, int] = {}
        self._nodes: dict[str, tuple[NodeInfo, float]] = {}
        self._watched: set[str] = set()

    async def save_session(self, record: SessionRecord) -> None:
        """Create or replace a session's record."""
        self._sessions[record["id"]] = copy.deepcopy(record)

    async def load_session(self, session_id: str) -> SessionRecord | None:
        """A session's record, or None if there is none."""
        record = self._sessions.get(session_id)
        return copy.deepcopy(record) if record is not None else None

    async def list_session_ids(self) -> list[str]:
        """Ids of every stored session, oldest first."""
        return list(self._sessions)

    async def delete_session(self, session_id: str) -> None:
        """Forget a session (no error if unknown)."""
        self._sessions.pop(session_id, None)

    async def commit(
        self, record: SessionRecord, audit: list[AuditRecord], lease: Lease | None = None
    ) -> None:
        """The record and its audit records, at once (nothing awaits in between)."""
        self._check(lease)
        self._sessions[record["id"]] = copy.deepcopy(record)
        self._audit.setdefault(record["id"], []).extend(copy.deepcopy(audit))

    async def append_audit(self, session_id: str, record: AuditRecord) -> None:
        """Add a record at the end of the session's audit log."""
        self._audit.setdefault(session_id, []).append(copy.deepcopy(record))

    async def read_audit(self, session_id: str) -> list[AuditRecord]:
        """The session's audit log, oldest first."""
        return copy.deepcopy(self._audit.get(session_id, []))

    async def purge_audit(self, older_than: float) -> int:
        """Drop audit records older than `older_than`."""
        dropped = 0
        for session_id, records in self._audit.items():
            kept = [r for r in records if r["at"] >= older_than]
            dropped += len(records) - len(kept)
            self._audit[session_id] = kept
        return dropped

    async def save_kept(
        self,
        kind: str,
        session_id: str,
        record: dict[str, Any],
        expires_at: float,
        lease: Lease | None = None,
    ) -> None:
        """Keep one record until `expires_at` (only while `lease` is current)."""
        self._check(lease)
        self._kept[kind, session_id] = (expires_at, copy.deepcopy(record))

    async def load_kept(self, kind: str, session_id: str, now: float) -> dict[str, Any] | None:
        """The kept record, unless expired (then it is dropped)."""
        kept = self._kept.get((kind, session_id))
        if kept is None:
            return None
        if kept[0] <= now:
            del self._kept[kind, session_id]
            return None
        return copy.deepcopy(kept[1])

    async def append_kept(
        self,
        kind: str,
        session_id: str,
        record: dict[str, Any],
        expires_at: float,
        lease: Lease | None = None,
    ) -> None:
        """Add to the list; it lasts until `expires_at` (only while `lease` is current)."""
        self._check(lease)
        _, records = self._kept_lists.get((kind, session_id), (0.0, []))
        records.append(copy.deepcopy(record))
        self._kept_lists[kind, session_id] = (expires_at, records)

    async def read_kept(self, kind: str, session_id: str, now: float) -> list[dict[str, Any]]:
        """The list, oldest first, unless expired."""
        kept = self._kept_lists.get((kind, session_id))
        if kept is None:
            return []
        if kept[0] <= now:
            del self._kept_lists[kind, session_id]
            return []
        return copy.deepcopy(kept[1])

    def _check(self, lease: Lease | None) -> None:
        if lease is not None and self._current(lease.session_id) != lease:
            raise Moved(f"this node no longer owns session {lease.session_id}")

    def _current(self, session_id: str) -> Lease | None:
        held = self._leases.get(session_id)
        if held is None or held[1] <= time.monotonic():
            return None
        return held[0]

    async def claim_lease(self, session_id: str, node_id: str, ttl_s: float) -> Lease:
        """Ours if free (a new token), renewed if ours, else the holder's."""
        current = self._current(session_id)
        if current is not None and current.node_id != node_id:
            return current
        if current is None:
            current = self._new_lease(session_id, node_id)
        self._leases[session_id] = (current, time.monotonic() + ttl_s)
        self._watched.add(session_id)
        return current

    def _new_lease(self, session_id: str, node_id: str) -> Lease:
        token = self._tokens.get(session_id, 0) + 1
        self._tokens[session_id] = token
        return Lease(session_id, node_id, token)

    async def hand_over_lease(self, lease: Lease, node_id: str, ttl_s: float) -> Lease | None:
        """A new lease for `node_id` if `lease` is still current."""
        if self._current(lease.session_id) != lease:
            return None
        handed = self._new_lease(lease.session_id, node_id)
        self._leases[lease.session_id] = (handed, time.monotonic() + ttl_s)
        return handed

    async def watched(self) -> dict[str, Lease | None]:
        """Watched sessions and their current leases."""
        return {sid: self._current(sid) for sid in sorted(self._watched)}

    async def retire(self, session_id: str) -> bool:
        """Unwatch it unless someone holds it."""
        if self._current(session_id) is not None:
            return False
        self._watched.discard(session_id)
        return True

    async def renew_lease(self, lease: Lease, ttl_s: float) -> bool:
        """Extend it if it is still the current lease."""
        if self._current(lease.session_id) != lease:
            return False
        self._leases[lease.session_id] = (lease, time.monotonic() + ttl_s)
        return True

    async def release_lease(self, lease: Lease) -> None:
        """Drop it if it is still the current lease."""
        if self._current(lease.session_id) == lease:
            del self._leases[lease.session_id]

    async def lease_of(self, session_id: str) -> Lease | None:
        """The current lease."""
        return self._current(session_id)

    async def announce_node(self, node: NodeInfo, ttl_s: float) -> None:
        """Live for `ttl_s`."""
        self._nodes[node.node_id] = (node, time.monotonic() + ttl_s)

    async def forget_node(self, node_id: str) -> None:
        """Gone."""
        self._nodes.pop(node_id, None)

    async def live_nodes(self) -> list[NodeInfo]:
        """Nodes whose heartbeat has not lapsed."""
        now = time.monotonic()
        return [node for node, until in self._nodes.values() if until > now]

    async def ping(self) -> None:
        """Always reachable: it is this process."""

    async def close(self) -> None:
        """Nothing to release."""
