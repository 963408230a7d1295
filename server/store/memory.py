"""The default store: a dict in this process."""

from __future__ import annotations

import copy
from typing import Any

from . import AuditRecord, SessionRecord


class MemoryStore:
    """Keeps records in memory; copies in and out so callers never share state."""

    def __init__(self) -> None:
        self._sessions: dict[str, SessionRecord] = {}
        self._audit: dict[str, list[AuditRecord]] = {}
        # (kind, session) -> (expires_at, record or list of records)
        self._kept: dict[tuple[str, str], tuple[float, dict[str, Any]]] = {}
        self._kept_lists: dict[tuple[str, str], tuple[float, list[dict[str, Any]]]] = {}

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

    async def commit(self, record: SessionRecord, audit: list[AuditRecord]) -> None:
        """The record and its audit records, at once (nothing awaits in between)."""
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
        self, kind: str, session_id: str, record: dict[str, Any], expires_at: float
    ) -> None:
        """Keep one record until `expires_at`."""
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
        self, kind: str, session_id: str, record: dict[str, Any], expires_at: float
    ) -> None:
        """Add to the list; it lasts until `expires_at`."""
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

    async def ping(self) -> None:
        """Always reachable: it is this process."""

    async def close(self) -> None:
        """Nothing to release."""
