"""Where session state that must outlive a connection is kept."""

from __future__ import annotations

from typing import Any, Protocol

SessionRecord = dict[str, Any]
AuditRecord = dict[str, Any]


class SessionStore(Protocol):
    """One interface, two implementations (memory, Redis), one contract test."""

    async def save_session(self, record: SessionRecord) -> None:
        """Create or replace a session's record."""

    async def load_session(self, session_id: str) -> SessionRecord | None:
        """A session's record, or None if there is none."""

    async def list_session_ids(self) -> list[str]:
        """Ids of every stored session, oldest first."""

    async def delete_session(self, session_id: str) -> None:
        """Forget a session (no error if unknown)."""

    async def append_audit(self, session_id: str, record: AuditRecord) -> None:
        """Add a record at the end of the session's audit log (never rewritten)."""

    async def read_audit(self, session_id: str) -> list[AuditRecord]:
        """The session's audit log, oldest first."""

    async def purge_audit(self, older_than: float) -> int:
        """Drop audit records older than `older_than` (epoch s); how many went."""

    async def close(self) -> None:
        """Release connections."""
