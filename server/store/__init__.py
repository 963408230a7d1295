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

    async def commit(self, record: SessionRecord, audit: list[AuditRecord]) -> None:
        """Store a command's outcome as one write: the session's new record and the
        audit records it adds, both or neither. Raises `Unavailable` when the store
        cannot be reached."""

    async def append_audit(self, session_id: str, record: AuditRecord) -> None:
        """Add a record at the end of the session's audit log (never rewritten)."""

    async def read_audit(self, session_id: str) -> list[AuditRecord]:
        """The session's audit log, oldest first."""

    async def purge_audit(self, older_than: float) -> int:
        """Drop audit records older than `older_than` (epoch s); how many went."""

    async def save_kept(
        self, kind: str, session_id: str, record: dict[str, Any], expires_at: float
    ) -> None:
        """Keep one record of `kind` for a session (e.g. its speaking ledger) until
        `expires_at` (epoch s): the retention setting of that kind of data."""

    async def load_kept(self, kind: str, session_id: str, now: float) -> dict[str, Any] | None:
        """The kept record, or None if there is none or it has expired."""

    async def append_kept(
        self, kind: str, session_id: str, record: dict[str, Any], expires_at: float
    ) -> None:
        """Add a record to a session's list of `kind` (e.g. transcript lines); the list
        lasts until `expires_at` of its latest record."""

    async def read_kept(self, kind: str, session_id: str, now: float) -> list[dict[str, Any]]:
        """The list, oldest first (empty if there is none or it has expired)."""

    async def ping(self) -> None:
        """Return when the store answers; raise (e.g. ConnectionError) when it cannot be
        reached. Readiness (`/readyz`) asks this."""

    async def close(self) -> None:
        """Release connections."""
