"""Where session state that must outlive a connection is kept."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

SessionRecord = dict[str, Any]
AuditRecord = dict[str, Any]


@dataclass(frozen=True)
class Lease:
    """A node's ownership of a session: `token` (the fencing token) grows with every new
    holder, and every write of the session is checked against it in the store."""

    session_id: str
    node_id: str
    token: int


@dataclass(frozen=True)
class NodeInfo:
    """One node as the registry knows it: where browsers reach it (`url`), where other
    nodes do (`internal_url`), and how busy it is (`load`: connections)."""

    node_id: str
    url: str
    internal_url: str
    load: int


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

    async def commit(
        self, record: SessionRecord, audit: list[AuditRecord], lease: Lease | None = None
    ) -> None:
        """Store a command's outcome as one write: the session's new record and the
        audit records it adds, both or neither. With `lease`, only while that lease is
        the session's current one (else `Moved`, and nothing is written). Raises
        `Unavailable` when the store cannot be reached."""

    async def claim_lease(self, session_id: str, node_id: str, ttl_s: float) -> Lease:
        """The session's lease after this call: `node_id`'s (a new token) if the lease
        was free, the same one renewed if `node_id` held it, else the holder's."""

    async def renew_lease(self, lease: Lease, ttl_s: float) -> bool:
        """Extend `lease` for `ttl_s`; False if it is no longer the current one."""

    async def release_lease(self, lease: Lease) -> None:
        """Give `lease` up (if it is still the current one), so another node may claim."""

    async def lease_of(self, session_id: str) -> Lease | None:
        """The session's current lease, or None if nobody holds one."""

    async def hand_over_lease(self, lease: Lease, node_id: str, ttl_s: float) -> Lease | None:
        """Give `lease` (if still current) straight to `node_id`, with a new token: the
        new lease, or None if `lease` was no longer the current one."""

    async def watched(self) -> dict[str, Lease | None]:
        """Every session that has had an owner since it was last retired, with its
        current lease (None: lapsed or released, so it needs a new owner)."""

    async def retire(self, session_id: str) -> bool:
        """Stop watching a session nobody holds (it ended, or nobody is in it); False
        if someone claimed it meanwhile. A later claim watches it again."""

    async def announce_node(self, node: NodeInfo, ttl_s: float) -> None:
        """A node's heartbeat: it counts as live for `ttl_s` from now."""

    async def forget_node(self, node_id: str) -> None:
        """A node going away says so (no need to wait for its heartbeat to lapse)."""

    async def live_nodes(self) -> list[NodeInfo]:
        """Every node whose heartbeat has not lapsed."""

    async def append_audit(self, session_id: str, record: AuditRecord) -> None:
        """Add a record at the end of the session's audit log (never rewritten)."""

    async def read_audit(self, session_id: str) -> list[AuditRecord]:
        """The session's audit log, oldest first."""

    async def purge_audit(self, older_than: float) -> int:
        """Drop audit records older than `older_than` (epoch s); how many went."""

    async def save_kept(
        self,
        kind: str,
        session_id: str,
        record: dict[str, Any],
        expires_at: float,
        lease: Lease | None = None,
    ) -> None:
        """Keep one record of `kind` for a session (e.g. its speaking ledger) until
        `expires_at` (epoch s): the retention setting of that kind of data. With
        `lease`, only while that lease is the session's current one (else `Moved`)."""

    async def load_kept(self, kind: str, session_id: str, now: float) -> dict[str, Any] | None:
        """The kept record, or None if there is none or it has expired."""

    async def append_kept(
        self,
        kind: str,
        session_id: str,
        record: dict[str, Any],
        expires_at: float,
        lease: Lease | None = None,
    ) -> None:
        """Add a record to a session's list of `kind` (e.g. transcript lines); the list
        lasts until `expires_at` of its latest record. With `lease`, as `save_kept`."""

    async def read_kept(self, kind: str, session_id: str, now: float) -> list[dict[str, Any]]:
        """The list, oldest first (empty if there is none or it has expired)."""

    async def ping(self) -> None:
        """Return when the store answers; raise (e.g. ConnectionError) when it cannot be
        reached. Readiness (`/readyz`) asks this."""

    async def close(self) -> None:
        """Release connections."""
