"""The two servers the benchmark compares, each as a subprocess on a free loopback port."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import socket
import sys
from pathlib import Path
from typing import Any

import aiohttp

from bench.common.paths import REPO_ROOT

HTTP_TIMEOUT = aiohttp.ClientTimeout(total=10)
STOP_WITHIN_S = 5.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def open_log(path: Path) -> int:
    """A file descriptor for a child's output (the child keeps its own copy)."""
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)


class BenchServer:
    """A server process: start, health check, join tokens, stop."""

    label = "server"
    health_path = "/healthz"

    def __init__(self, log_path: Path) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._process: asyncio.subprocess.Process | None = None

    def argv(self) -> list[str]:
        """The command line."""
        raise NotImplementedError

    def env(self) -> dict[str, str]:
        """The environment."""
        return {**os.environ, "PYTHONUNBUFFERED": "1"}

    @property
    def pid(self) -> int:
        """The process id (the server is one process; its threads count with it)."""
        assert self._process is not None
        return self._process.pid

    async def start(self, ready_within: float = 30.0) -> None:
        """Start the process and wait until GET /healthz answers."""
        log = open_log(self.log_path)
        try:
            self._process = await asyncio.create_subprocess_exec(
                *self.argv(), stdout=log, stderr=log, env=self.env(), cwd=REPO_ROOT
            )
        finally:
            os.close(log)
        deadline = asyncio.get_running_loop().time() + ready_within
        async with aiohttp.ClientSession(timeout=HTTP_TIMEOUT) as http:
            while True:
                if self._process.returncode is not None:
                    raise RuntimeError(f"{self.label} exited; see {self.log_path}")
                with contextlib.suppress(aiohttp.ClientError):
                    async with http.get(f"{self.base_url}{self.health_path}") as response:
                        if response.status == 200:
                            return
                if asyncio.get_running_loop().time() > deadline:
                    raise TimeoutError(f"{self.label} not healthy; see {self.log_path}")
                await asyncio.sleep(0.1)

    async def tokens(self, count: int) -> list[str]:
        """One join token per participant."""
        raise NotImplementedError

    async def metrics(self) -> dict[str, int] | None:
        """The server's own media counters, if it has any."""
        return None

    async def stop(self) -> None:
        """SIGINT (both servers shut down cleanly on it), then SIGKILL if it lingers."""
        process = self._process
        if process is None or process.returncode is not None:
            return
        process.send_signal(signal.SIGINT)
        try:
            await asyncio.wait_for(process.wait(), STOP_WITHIN_S)
        except TimeoutError:
            process.kill()
            await process.wait()


class PeerCircleServer(BenchServer):
    """`python -m server --no-demo`; session and links through the admin API."""

    label = "PeerCircle"

    def __init__(self, log_path: Path) -> None:
        super().__init__(log_path)
        self.admin_key = secrets.token_urlsafe(24)
        self._auth = {"Authorization": f"Bearer {self.admin_key}"}

    def argv(self) -> list[str]:
        """The product's own entry point."""
        return [sys.executable, "-m", "server", "--no-demo", "--port", str(self.port)]

    def env(self) -> dict[str, str]:
        """A random admin key and token secret for this run."""
        return super().env() | {
            "PEERCIRCLE_ADMIN_KEY": self.admin_key,
            "PEERCIRCLE_TOKEN_SECRET": secrets.token_urlsafe(32),
        }

    async def _post(self, http: aiohttp.ClientSession, path: str, body: Any) -> Any:
        async with http.post(f"{self.base_url}{path}", json=body, headers=self._auth) as response:
            if response.status != 201:
                raise RuntimeError(f"POST {path}: {response.status} {await response.text()}")
            return await response.json()

    async def tokens(self, count: int, therapists: int = 0) -> list[str]:
        """Create a session and mint one link per participant: the first `therapists`
        for the therapist (who may share a screen), the others for patients."""
        async with aiohttp.ClientSession(timeout=HTTP_TIMEOUT) as http:
            session = await self._post(
                http, "/api/sessions", {"title": "Forwarding benchmark", "waiting_room": False}
            )
            links = [
                await self._post(
                    http,
                    f"/api/sessions/{session['id']}/links",
                    {
                        "name": f"Bench {i + 1}",
                        "role": "therapist" if i < therapists else "patient",
                        "admitted": True,
                    },
                )
                for i in range(count)
            ]
        return [str(link["token"]) for link in links]

    async def metrics(self) -> dict[str, int] | None:
        """GET /api/metrics: frames in, out, dropped; video encodes and decodes."""
        async with (
            aiohttp.ClientSession(timeout=HTTP_TIMEOUT) as http,
            http.get(f"{self.base_url}/api/metrics", headers=self._auth) as response,
        ):
            body = await response.json()
        return {str(k): int(v) for k, v in body.items() if isinstance(v, int)}


class ReferenceServer(BenchServer):
    """`python -m bench.forwarding.reference_relay`: aiortc's MediaRelay; tokens are just names."""

    label = "MediaRelay"

    def argv(self) -> list[str]:
        """The reference relay's entry point."""
        return [sys.executable, "-m", "bench.forwarding.reference_relay", "--port", str(self.port)]

    async def tokens(self, count: int) -> list[str]:
        """The reference takes any token as a display name."""
        return [f"Bench {i + 1}" for i in range(count)]


JANUS_LIB = Path("/usr/lib/x86_64-linux-gnu/janus")
JANUS_ROOM = 1234


def write_janus_config(folder: Path, http_port: int) -> None:
    """A Janus configuration with only the VideoRoom plugin and the HTTP transport.

    ICE is restricted to interface d0 (a dummy device inside the benchmark's network
    namespace): Janus gathers no candidate on a loopback-only host.
    """
    for sub, library in (("plugins", "libjanus_videoroom.so"), ("transports", "libjanus_http.so")):
        (folder / sub).mkdir(parents=True, exist_ok=True)
        link = folder / sub / library
        if not link.exists():
            link.symlink_to(JANUS_LIB / sub / library)
    for sub in ("events", "loggers"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    (folder / "janus.jcfg").write_text(
        "general: {\n"
        f'  configs_folder = "{folder}"\n  plugins_folder = "{folder}/plugins"\n'
        f'  transports_folder = "{folder}/transports"\n  events_folder = "{folder}/events"\n'
        f'  loggers_folder = "{folder}/loggers"\n'
        "  debug_level = 3\n  session_timeout = 0\n}\n"
        'media: {\n  ipv6 = false\n  rtp_port_range = "20000-20999"\n}\n'
        'nat: {\n  nice_debug = false\n  ice_enforce_list = "d0"\n  ignore_mdns = true\n}\n'
        "plugins: {\n}\ntransports: {\n}\nevents: {\n}\n"
    )
    (folder / "janus.transport.http.jcfg").write_text(
        "general: {\n"
        f'  base_path = "/janus"\n  http = true\n  port = {http_port}\n  ip = "127.0.0.1"\n'
        "  https = false\n}\nadmin: {\n  admin_http = false\n  admin_https = false\n}\n"
    )
    (folder / "janus.plugin.videoroom.jcfg").write_text(
        "general: {\n}\n"
        f"room-{JANUS_ROOM}: {{\n"
        '  description = "Forwarding benchmark"\n  publishers = 40\n  bitrate = 0\n'
        '  fir_freq = 0\n  audiocodec = "opus"\n  videocodec = "vp8"\n  record = false\n}\n'
    )


class JanusServer(BenchServer):
    """Janus (Debian package) with its VideoRoom plugin, HTTP API on 127.0.0.1."""

    label = "Janus"
    health_path = "/janus/info"

    def __init__(self, log_path: Path) -> None:
        super().__init__(log_path)
        self.config = log_path.parent / f"janus-conf-{self.port}"
        write_janus_config(self.config, self.port)

    def argv(self) -> list[str]:
        """The Debian package's binary, our configuration folder."""
        return [
            "janus",
            "-F",
            str(self.config),
            "-C",
            str(self.config / "janus.jcfg"),
            "-r",
            "20000-20999",
        ]

    async def tokens(self, count: int) -> list[str]:
        """Janus has no tokens: participants join the configured room."""
        return [""] * count
