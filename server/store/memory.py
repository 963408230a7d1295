"""The default store: a dict in this process."""

from __future__ import annotations

import copy

from . import SessionRecord


class MemoryStore:
    """Keeps records in memory; copies in and out so callers never share state."""

    def __init__(self) -> None:
        self._sessions: dict[str, SessionRecord] = {}

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

    async def close(self) -> None:
        """Nothing to release."""
