"""PeerCircle as a real subprocess, for the integration, media and end-to-end tiers.

Use it through the fixtures in `tests/conftest.py` (`server`, `start_server`), or
directly::

    async with running_server(tmp_path, reconnect_grace_s=5) as server:
        session = await server.create_session("Tuesday group")
        link = await server.mint_link(session["id"], "Alex", "patient")
        # connect a client to server.base_url with link["token"] ...

The process runs `python -m server --no-demo` on a free loopback port with a random
admin key and token secret; its stdout and stderr go to `log_path` (in the given
directory), whose tail the conftest attaches to the report of a failing test.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Mapping
from pathlib import Path
from typing import Any, Protocol, TextIO

import aiohttp

ROOT = Path(__file__).resolve().parents[2]
PYTHON = ROOT / ".venv" / "bin" / "python"
HTTP_TIMEOUT = aiohttp.ClientTimeout(total=10)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ApiError(AssertionError):
    """The admin API answered with a status the helper did not expect."""


class PeerCircleServer:
    """One `python -m server` process; HTTP helpers for its admin API."""

    def __init__(
        self,
        log_dir: Path,
        reconnect_grace_s: float = 2.0,
        env: Mapping[str, str] | None = None,
        *,
        admin_key: str | None = None,
        token_secret: str | None = None,
    ) -> None:
        self.port = free_port()
        self.log_path = log_dir / f"server-{self.port}.log"
        self.base_url = f"http://127.0.0.1:{self.port}"
        # Nodes of one deployment share both (pass another node's); random otherwise.
        self.admin_key = admin_key or secrets.token_urlsafe(24)
        self.token_secret = token_secret or secrets.token_urlsafe(32)
        self.reconnect_grace_s = reconnect_grace_s
        self._extra_env = dict(env or {})
        self._process: subprocess.Popen[bytes] | None = None
        self._log: TextIO | None = None

    # -- life ------------------------------------------------------------------

    async def start(self, ready_within: float = 30.0) -> None:
        """Start the process and wait until GET /healthz answers 200."""
        env = {
            **os.environ,
            "PEERCIRCLE_ADMIN_KEY": self.admin_key,
            "PEERCIRCLE_TOKEN_SECRET": self.token_secret,
            "PEERCIRCLE_RECONNECT_GRACE_S": str(self.reconnect_grace_s),
            "PYTHONUNBUFFERED": "1",
            **self._extra_env,
        }
        self._process = self._spawn(env)
        deadline = time.monotonic() + ready_within
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as http:
            while True:
                if self._process.poll() is not None:
                    raise RuntimeError(
                        f"server exited with {self._process.returncode}:\n{self.log_tail()}"
                    )
                with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                    async with http.get(f"{self.base_url}/healthz") as response:
                        if response.status == 200:
                            return
                if time.monotonic() > deadline:
                    await self.stop()
                    raise TimeoutError(f"server not ready in {ready_within} s:\n{self.log_tail()}")
                # A readiness poll: the next probe, not a guess that it is ready.
                await asyncio.sleep(0.05)

    def _spawn(self, env: Mapping[str, str]) -> subprocess.Popen[bytes]:
        python = str(PYTHON) if PYTHON.exists() else sys.executable
        command = [python, "-m", "server", "--no-demo", "--host", "127.0.0.1"]
        command += ["--port", str(self.port)]
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("a", encoding="utf-8")
        return subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT
        )

    async def stop(self, within: float = 5.0) -> None:
        """SIGTERM, then SIGKILL if it is still running after `within` seconds."""
        process = self._process
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.to_thread(process.wait, within)
            except subprocess.TimeoutExpired:
                process.kill()
                await asyncio.to_thread(process.wait, within)
        if self._log is not None:
            self._log.close()
            self._log = None

    @property
    def running(self) -> bool:
        """Whether the process is alive."""
        return self._process is not None and self._process.poll() is None

    def rss_bytes(self) -> int:
        """The process's resident memory now (from /proc)."""
        assert self._process is not None
        status = Path(f"/proc/{self._process.pid}/status").read_text(encoding="ascii")
        kib = next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:"))
        return int(kib) * 1024

    def log_text(self) -> str:
        """Everything the process has logged so far."""
        if not self.log_path.exists():
            return ""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def log_tail(self, lines: int = 80) -> str:
        """The last `lines` lines the process wrote to stdout and stderr."""
        if not self.log_path.exists():
            return ""
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    # -- admin API ---------------------------------------------------------------

    async def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        key: str | None = None,
        authorized: bool = True,
    ) -> tuple[int, Any]:
        """Call the admin API: (status, parsed JSON or text). `key` overrides the
        admin key; `authorized=False` sends no Authorization header."""
        headers = {}
        if authorized:
            headers["Authorization"] = f"Bearer {self.admin_key if key is None else key}"
        async with (
            aiohttp.ClientSession(timeout=HTTP_TIMEOUT) as http,
            http.request(method, self.base_url + path, json=body, headers=headers) as response,
        ):
            if response.content_type == "application/json":
                return response.status, await response.json()
            return response.status, await response.text()

    async def _expect(self, status: int, method: str, path: str, body: Any = None) -> Any:
        got, answer = await self.request(method, path, body)
        if got != status:
            raise ApiError(f"{method} {path}: expected {status}, got {got}: {answer}")
        return answer

    async def create_session(
        self, title: str = "Test group", waiting_room: bool = False
    ) -> dict[str, Any]:
        """POST /api/sessions: the new session's state. The waiting room is off unless
        asked for: tests of the waiting room say so, the others need not admit anyone."""
        body = {"title": title, "waiting_room": waiting_room}
        state: dict[str, Any] = await self._expect(201, "POST", "/api/sessions", body)
        return state

    async def mint_link(
        self, session_id: str, name: str, role: str = "patient", **fields: Any
    ) -> dict[str, Any]:
        """POST /api/sessions/{id}/links: {participant_id, token, url, role, name, expires_at}."""
        body = {"name": name, "role": role, **fields}
        link: dict[str, Any] = await self._expect(
            201, "POST", f"/api/sessions/{session_id}/links", body
        )
        return link

    async def session_state(self, session_id: str) -> dict[str, Any]:
        """GET /api/sessions/{id}: participants, rooms, tracks."""
        state: dict[str, Any] = await self._expect(200, "GET", f"/api/sessions/{session_id}")
        return state

    async def end_session(self, session_id: str) -> dict[str, Any]:
        """POST /api/sessions/{id}/end: the ended session's state."""
        state: dict[str, Any] = await self._expect(200, "POST", f"/api/sessions/{session_id}/end")
        return state

    async def metrics(self) -> dict[str, int]:
        """GET /api/metrics: media counters of the process."""
        counters: dict[str, int] = await self._expect(200, "GET", "/api/metrics")
        return counters


class StartServer(Protocol):
    """The `start_server` fixture: a dedicated server for one test, stopped after it."""

    def __call__(
        self,
        reconnect_grace_s: float = 2.0,
        env: Mapping[str, str] | None = None,
        *,
        admin_key: str | None = None,
        token_secret: str | None = None,
    ) -> Awaitable[PeerCircleServer]: ...


@contextlib.asynccontextmanager
async def running_server(
    log_dir: Path,
    reconnect_grace_s: float = 2.0,
    env: Mapping[str, str] | None = None,
    *,
    admin_key: str | None = None,
    token_secret: str | None = None,
) -> AsyncIterator[PeerCircleServer]:
    """A started server, stopped on exit; its log is `log_dir/server-<port>.log`."""
    server = PeerCircleServer(
        log_dir, reconnect_grace_s, env, admin_key=admin_key, token_secret=token_secret
    )
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
