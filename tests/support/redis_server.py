"""A private redis-server on a free loopback port, never the machine's own Redis."""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import redis

from tests.support.server import free_port

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


class RedisServer:
    """One `redis-server` process; `url` points at database 0. Without persistence by
    default; `persistent=True` keeps an append-only file in `log_dir`, so a stop and a
    start keep the data (as the compose set-up's Redis does)."""

    def __init__(self, log_dir: Path, persistent: bool = False) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.log_path = log_dir / f"redis-{self.port}.log"
        self._dir = log_dir
        self._persistent = persistent
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, ready_within: float = 10.0) -> None:
        """Start it and wait until it answers PING."""
        command = [REDIS_SERVER, "--bind", "127.0.0.1", "--port", str(self.port)]
        appendonly = "yes" if self._persistent else "no"
        command += ["--save", "", "--appendonly", appendonly, "--daemonize", "no"]
        command += ["--dir", str(self._dir), "--appendfilename", f"redis-{self.port}.aof"]
        command += ["--appenddirname", f"redis-{self.port}-aof"]
        command += ["--logfile", str(self.log_path)]
        self._process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + ready_within
        while True:
            if self._process.poll() is not None:
                raise RuntimeError(f"redis-server exited: {self.log_tail()}")
            with (
                contextlib.suppress(redis.exceptions.ConnectionError),
                self.client() as client,
            ):
                if client.ping():
                    return
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"redis-server did not answer PING: {self.log_tail()}")
            time.sleep(0.02)  # the next readiness probe

    def pause(self) -> None:
        """SIGSTOP: Redis is there but answers nothing (a frozen host)."""
        assert self._process is not None
        self._process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONT after `pause`."""
        assert self._process is not None
        self._process.send_signal(signal.SIGCONT)

    def client(self) -> redis.Redis:
        """A synchronous client (for set-up and FLUSHDB)."""
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=5)

    def flush(self) -> None:
        """Empty the database between tests."""
        with self.client() as client:
            client.flushdb()

    def stop(self) -> None:
        """SIGTERM, then SIGKILL."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGCONT)  # a paused one cannot stop
            self._process.terminate()
            try:
                self._process.wait(5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(5)

    def log_tail(self, lines: int = 30) -> str:
        """The end of redis-server's log."""
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


@contextlib.contextmanager
def running_redis(log_dir: Path, persistent: bool = False) -> Iterator[RedisServer]:
    """A started redis-server, stopped on exit."""
    server = RedisServer(log_dir, persistent)
    server.start()
    try:
        yield server
    finally:
        server.stop()
