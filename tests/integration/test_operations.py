"""What operators rely on (issue 21): Prometheus metrics, liveness apart from readiness
(Redis down, draining), JSON log lines, a clear message when the port is busy, demo
links that skip the waiting room, and a run-only set-up. Real server processes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from prometheus_client.parser import text_string_to_metric_families

from tests.support.client import Client
from tests.support.redis_server import RedisServer, running_redis
from tests.support.server import (
    HTTP_TIMEOUT,
    PYTHON,
    ROOT,
    PeerCircleServer,
    StartServer,
    free_port,
)

pytestmark = pytest.mark.integration

MakeClient = Callable[..., Client]
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, str, str]:
    """(status, content type header, body) of a GET."""
    async with (
        aiohttp.ClientSession(timeout=HTTP_TIMEOUT) as http,
        http.get(url, headers=headers or {}) as response,
    ):
        return response.status, response.headers.get("Content-Type", ""), await response.text()


async def wait_for(check: Callable[[], Any], within: float, what: str) -> Any:
    """Poll `check` (a coroutine function) until it returns something truthy."""
    deadline = time.monotonic() + within
    while True:
        got = await check()
        if got:
            return got
        assert time.monotonic() < deadline, f"{what}: not within {within} s"
        await asyncio.sleep(0.1)


# -- Prometheus metrics ---------------------------------------------------------------


async def scrape(server: PeerCircleServer, token: str) -> Samples:
    """GET /metrics, parsed by prometheus_client's own parser: (name, labels) -> value."""
    status, content_type, text = await get(
        f"{server.base_url}/metrics", {"Authorization": f"Bearer {token}"}
    )
    assert status == 200, text[:300]
    assert content_type.startswith("text/plain"), content_type
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[sample.name, tuple(sorted(sample.labels.items()))] = sample.value
    return samples


async def test_metrics_scrape_parses_and_follows_the_node(
    start_server: StartServer, clients: MakeClient
) -> None:
    token = secrets.token_urlsafe(16)
    server = await start_server(env={"PEERCIRCLE_METRICS_TOKEN": token})
    before = await scrape(server, token)
    for name in (
        "peercircle_peers",
        "peercircle_rooms",
        "peercircle_sessions",
        "peercircle_connections",
        "peercircle_forwarded_packets_total",
        "peercircle_forwarded_bytes_total",
        "peercircle_video_paused_subscribers",
        "peercircle_caption_sessions",
        "peercircle_speaking_tick_seconds_count",
        "peercircle_event_loop_lag_seconds_count",
        "peercircle_process_resident_memory_bytes",
    ):
        assert (name, ()) in before, name
    for reason in ("malformed_or_unroutable", "over_rate", "send_failed"):
        assert ("peercircle_dropped_packets_total", (("reason", reason),)) in before, reason
    assert before["peercircle_sessions", ()] == 0
    assert before["peercircle_connections", ()] == 0

    session = await server.create_session("Metrics group")
    link = await server.mint_link(session["id"], "Alex")
    alex = clients(server, link["token"], auto_answer=False)
    await alex.connect()
    await alex.next_event("welcome")

    async def moved() -> Samples | None:
        now = await scrape(server, token)
        ready = (
            now["peercircle_connections", ()] == 1
            and now["peercircle_peers", ()] == 1
            and now["peercircle_speaking_tick_seconds_count", ()] > 0
        )
        return now if ready else None

    after: Samples = await wait_for(moved, 15, "metrics after a join")
    assert after["peercircle_sessions", ()] == 1
    assert after["peercircle_rooms", ()] == 1
    assert after["peercircle_participants", (("presence", "in_call"),)] == 1
    assert after["peercircle_event_loop_lag_seconds_count", ()] > 0
    # A histogram's +Inf bucket counts every observation.
    assert (
        after["peercircle_speaking_tick_seconds_bucket", (("le", "+Inf"),)]
        == after["peercircle_speaking_tick_seconds_count", ()]
    )


async def test_metrics_are_off_without_a_token_and_need_the_token_with_one(
    server: PeerCircleServer, start_server: StartServer
) -> None:
    status, _, _ = await get(f"{server.base_url}/metrics")
    assert status == 404
    token = secrets.token_urlsafe(16)
    guarded = await start_server(env={"PEERCIRCLE_METRICS_TOKEN": token})
    url = f"{guarded.base_url}/metrics"
    for headers in (
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": token},
        {"Authorization": f"Basic {token}"},
        # The admin key is not the metrics token.
        {"Authorization": f"Bearer {guarded.admin_key}"},
    ):
        status, _, _ = await get(url, headers)
        assert status == 401, headers
    status, _, text = await get(url, {"Authorization": f"Bearer {token}"})
    assert status == 200 and "peercircle_peers" in text


# -- liveness and readiness -------------------------------------------------------------


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of this test alone: it stops and restarts it."""
    with running_redis(tmp_path) as server:
        yield server


async def test_readiness_follows_redis_while_liveness_stays_up(
    start_server: StartServer, redis_server: RedisServer
) -> None:
    server = await start_server(
        env={"PEERCIRCLE_STORE": "redis", "PEERCIRCLE_REDIS_URL": redis_server.url}
    )
    base = server.base_url
    status, _, body = await get(f"{base}/readyz")
    assert status == 200, body
    assert json.loads(body) == {"ready": True, "store": "ok", "state": "serving"}

    redis_server.stop()

    async def not_ready() -> dict[str, Any] | None:
        status, _, body = await get(f"{base}/readyz")
        return json.loads(body) if status == 503 else None

    answer = await wait_for(not_ready, 10, "readiness while Redis is down")
    assert answer == {"ready": False, "store": "unreachable", "state": "serving"}
    for path in ("/livez", "/healthz"):
        status, _, _ = await get(base + path)
        assert status == 200, path

    await asyncio.to_thread(redis_server.start)

    async def ready() -> bool:
        status, _, _ = await get(f"{base}/readyz")
        return status == 200

    await wait_for(ready, 15, "readiness after Redis came back")
    # And the node works again: a session can be created and stored.
    await server.create_session("After the outage")


async def test_a_draining_node_is_alive_but_not_ready(start_server: StartServer) -> None:
    server = await start_server(env={"PEERCIRCLE_DRAIN_GRACE_S": "10"})
    base = server.base_url
    status, _, _ = await get(f"{base}/readyz")
    assert status == 200
    assert server._process is not None
    server._process.send_signal(signal.SIGTERM)

    async def draining() -> dict[str, Any] | None:
        status, _, body = await get(f"{base}/readyz")
        return json.loads(body) if status == 503 else None

    answer = await wait_for(draining, 5, "readiness after SIGTERM")
    assert answer == {"ready": False, "store": "ok", "state": "draining"}
    status, _, _ = await get(f"{base}/livez")
    assert status == 200


# -- logs ---------------------------------------------------------------------------------


async def test_json_logs_are_one_object_per_line_with_ids_and_no_names_or_tokens(
    start_server: StartServer, clients: MakeClient
) -> None:
    server = await start_server(
        env={"PEERCIRCLE_LOG_FORMAT": "json", "PEERCIRCLE_LOG_LEVEL": "INFO"}
    )
    session = await server.create_session("Logged group")
    name = "Quentin Zzyzx"
    link = await server.mint_link(session["id"], name)
    client = clients(server, link["token"], auto_answer=False)
    await client.connect()
    await client.next_event("welcome")
    # A refused connection logs too (with no session to name).
    refused = clients(server, link["token"] + "x")
    await refused.connect_refused()
    await client.close()

    def logged() -> list[dict[str, Any]]:
        records = []
        for line in server.log_path.read_text(encoding="utf-8").splitlines():
            if line.startswith("{"):
                records.append(json.loads(line))
        return records

    async def participant_logged() -> list[dict[str, Any]] | None:
        records = logged()
        found = any(
            r.get("session_id") == session["id"]
            and r.get("participant_id") == link["participant_id"]
            for r in records
        )
        return records if found else None

    records = await wait_for(participant_logged, 10, "a log line naming the session")
    for record in records:
        assert {"ts", "level", "logger", "message"} <= set(record), record
    text = server.log_path.read_text(encoding="utf-8")
    assert name not in text and "Quentin" not in text
    assert link["token"] not in text
    # Every line is JSON but the few the process prints for a person at start.
    for line in text.splitlines():
        assert line.startswith("{") or line.startswith(("PeerCircle", "Admin API")), line


# -- start-up -------------------------------------------------------------------------------


def start_process(
    port: int, *args: str, env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    """`python -m server` on `port`, with its output in pipes."""
    environ = {
        **os.environ,
        "PEERCIRCLE_ADMIN_KEY": secrets.token_urlsafe(24),
        "PYTHONUNBUFFERED": "1",
        **(env or {}),
    }
    return subprocess.Popen(
        [str(PYTHON), "-m", "server", "--host", "127.0.0.1", "--port", str(port), *args],
        cwd=ROOT,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


async def test_a_busy_port_ends_in_one_clear_line() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = start_process(port, "--no-demo")
        out, err = await asyncio.to_thread(process.communicate, timeout=60)
    assert process.returncode == 1, (out, err)
    assert "Traceback" not in err and "Errno" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert f"127.0.0.1:{port} is already in use" in lines[0]
    assert "--port" in lines[0] and "PEERCIRCLE_PORT" in lines[0]


@pytest_asyncio.fixture
async def demo_links() -> AsyncIterator[tuple[str, dict[str, str], str]]:
    """A `python -m server` with its demo: (base URL, {name: token}, what it printed)."""
    port = free_port()
    process = start_process(port)
    printed: list[str] = []
    try:
        assert process.stdout is not None
        while True:
            line = await asyncio.wait_for(asyncio.to_thread(process.stdout.readline), 60)
            assert line, f"the demo ended early: {printed}"
            printed.append(line)
            if line.startswith("These links"):
                break
        tokens = {
            m.group(1): m.group(2)
            for m in re.finditer(r"^\s+(\S+)\s.*#t=(\S+)$", "".join(printed), re.M)
        }
        yield f"http://127.0.0.1:{port}", tokens, "".join(printed)
    finally:
        process.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            await asyncio.to_thread(process.wait, 10)
        if process.poll() is None:
            process.kill()
            await asyncio.to_thread(process.wait, 10)
        for pipe in (process.stdout, process.stderr):
            if pipe is not None:
                pipe.close()


async def test_demo_patients_come_in_with_the_therapist_and_links_die_with_the_process(
    demo_links: tuple[str, dict[str, str], str],
) -> None:
    base, tokens, printed = demo_links
    assert set(tokens) == {"Dr.", "Alex", "Sam", "Jordan"}, printed
    assert "only while this process runs" in printed
    alex = Client(base, tokens["Alex"], auto_answer=False)
    therapist = Client(base, tokens["Dr."], auto_answer=False)
    try:
        # Before the therapist: Alex waits (nobody is alone with patients)...
        await alex.connect()
        await alex.next_event("waiting")
        # ...and comes in when the therapist arrives, with nobody clicking Admit.
        await therapist.connect()
        await therapist.next_event("welcome")
        try:
            await alex.next_event("welcome")
        except TimeoutError:
            raise AssertionError(f"Alex was not let in: {alex.events}") from None
        # Sam, arriving after the therapist, never waits.
        sam = Client(base, tokens["Sam"], auto_answer=False)
        try:
            await sam.connect()
            await sam.next_event("welcome")
            assert not any(event == "waiting" for event, _ in sam.events)
        finally:
            await sam.close()
    finally:
        await alex.close()
        await therapist.close()


# -- set-up ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "pip", "npm"),
    [
        (["--run"], "pip install -e '.'", "npm ci --omit=dev"),
        (["--run", "--captions"], "pip install -e '.[captions]'", "npm ci --omit=dev"),
        (["--full"], "pip install -e '.[captions,dev]'", "npm ci"),
    ],
    ids=["run", "run-with-captions", "full"],
)
def test_the_run_only_setup_installs_only_what_running_needs(
    args: list[str], pip: str, npm: str
) -> None:
    done = subprocess.run(
        ["bash", "scripts/setup.sh", *args, "--plan"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    lines = [line.strip() for line in done.stdout.splitlines()]
    assert pip in lines, done.stdout
    assert npm in lines, done.stdout
    if "--full" not in args:
        assert "chromium" not in done.stdout and "redis-server" not in done.stdout
    # scripts/run.sh uses the run-only set-up.
    assert "setup.sh --run" in (ROOT / "scripts" / "run.sh").read_text()


# -- retention ----------------------------------------------------------------------------


async def test_an_ended_sessions_record_is_deleted_after_its_retention(
    start_server: StartServer,
) -> None:
    # About 4 s of retention, swept twice a second.
    server = await start_server(
        env={"PEERCIRCLE_SESSION_RETENTION_DAYS": "0.00005", "PEERCIRCLE_RETENTION_SWEEP_S": "0.5"}
    )
    kept = await server.create_session("Still open")
    ended = await server.create_session("Over")
    await server.end_session(ended["id"])
    status, _ = await server.request("GET", f"/api/sessions/{ended['id']}")
    assert status == 200  # not before its retention

    async def gone() -> bool:
        status, _ = await server.request("GET", f"/api/sessions/{ended['id']}")
        return status == 404

    await wait_for(gone, 20, "the ended session's record is deleted")
    status, listing = await server.request("GET", "/api/sessions")
    assert status == 200 and ended["id"] not in listing["sessions"]
    assert kept["id"] in listing["sessions"]  # an open session is never deleted
