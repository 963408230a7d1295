"""Liveness and readiness, as orchestrators probe them.

- `GET /livez` (and `/healthz`, kept for existing probes): the process serves HTTP.
- `GET /readyz`: it can take sessions: the store answers a ping within a second and the
  node is not draining. 503 with the reason otherwise.
"""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from ..store import SessionStore

log = logging.getLogger(__name__)

STORE_PING_TIMEOUT_S = 1.0


class Readiness:
    """Whether this node can take sessions now."""

    def __init__(self, store: SessionStore, timeout_s: float = STORE_PING_TIMEOUT_S) -> None:
        self._store = store
        self._timeout_s = timeout_s
        self.draining = False
        self._store_was_ok = True

    async def check(self) -> tuple[bool, dict[str, str]]:
        """(ready, {"store": ok | unreachable, "state": serving | draining})."""
        store_ok = await self._store_ok()
        state = "draining" if self.draining else "serving"
        return store_ok and not self.draining, {
            "store": "ok" if store_ok else "unreachable",
            "state": state,
        }

    async def _store_ok(self) -> bool:
        try:
            await asyncio.wait_for(self._store.ping(), self._timeout_s)
        except Exception as error:
            if self._store_was_ok:
                # Once per outage, not once per probe.
                log.warning("readiness: store unreachable (%s)", type(error).__name__)
            self._store_was_ok = False
            return False
        if not self._store_was_ok:
            log.info("readiness: store reachable again")
        self._store_was_ok = True
        return True

    async def livez(self, request: web.Request) -> web.Response:
        """GET /livez, /healthz: 200 while the process serves."""
        return web.json_response({"ok": True})

    async def readyz(self, request: web.Request) -> web.Response:
        """GET /readyz: 200 when ready, 503 with what is wrong otherwise."""
        ready, checks = await self.check()
        return web.json_response({"ready": ready, **checks}, status=200 if ready else 503)
