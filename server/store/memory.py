"""The default store: a dict in this process."""

from __future__ import annotations

import copy

from . import AuditRecord, SessionRecord


class MemoryStore:
    """Keeps records in memory; copies in and out so callers never share state."""

    def __init__(self) -> None:
        self._sessions: dict[str, SessionRecord] = {}
        self._audit: dict[str, list[AuditRecord]] = {}

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

    async def close(self) -> None:
        """Nothing to release."""
