"""Fixtures shared by every tier.

- `server`: a PeerCircle process shared by the tests of one module (reconnect grace 2 s).
- `start_server`: start a dedicated process with other settings, stopped after the test.
- `clients`: make `Client`s that are closed after the test.

The log tail of every server a test used is attached to the report when it fails.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Generator, Mapping
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiortc import MediaStreamTrack

from media.hooks.negotiation import offer_loopback_candidates
from tests.support.client import Client
from tests.support.server import PeerCircleServer, StartServer, running_server

# Tests run in a network namespace where only `lo` exists: our aiortc peers must
# offer 127.0.0.1, which aioice skips by default.
offer_loopback_candidates(True)

SERVERS_USED = pytest.StashKey[list[PeerCircleServer]]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Attach the server log tail to a failing test's report."""
    report: pytest.TestReport = yield
    if report.failed:
        for server in item.stash.get(SERVERS_USED, []):
            report.sections.append(
                (f"PeerCircle server {server.base_url} (log tail)", server.log_tail())
            )
    return report


def _remember(request: pytest.FixtureRequest, server: PeerCircleServer) -> None:
    request.node.stash.setdefault(SERVERS_USED, []).append(server)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def _module_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[PeerCircleServer]:
    async with running_server(tmp_path_factory.mktemp("server")) as server:
        yield server


@pytest.fixture
def server(request: pytest.FixtureRequest, _module_server: PeerCircleServer) -> PeerCircleServer:
    """The module's PeerCircle process (reconnect grace 2 s). Tests create their own
    sessions, so they do not see each other."""
    assert _module_server.running, f"the server died:\n{_module_server.log_tail()}"
    _remember(request, _module_server)
    return _module_server


@pytest_asyncio.fixture
async def start_server(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[StartServer]:
    """`await start_server(reconnect_grace_s=..., env={...})`: a server for this test only."""
    async with contextlib.AsyncExitStack() as stack:

        async def start(
            reconnect_grace_s: float = 2.0,
            env: Mapping[str, str] | None = None,
            *,
            admin_key: str | None = None,
            token_secret: str | None = None,
        ) -> PeerCircleServer:
            server = await stack.enter_async_context(
                running_server(
                    tmp_path, reconnect_grace_s, env, admin_key=admin_key, token_secret=token_secret
                )
            )
            _remember(request, server)
            return server

        yield start


@pytest_asyncio.fixture
async def clients() -> AsyncIterator[Callable[..., Client]]:
    """`clients(server, token, publish=..., **options)`: a Client closed after the test."""
    made: list[Client] = []

    def make(
        server: PeerCircleServer,
        token: str,
        publish: dict[str, MediaStreamTrack | None] | None = None,
        **options: Any,
    ) -> Client:
        client = Client(server.base_url, token, publish or {}, **options)
        made.append(client)
        return client

    yield make
    for client in made:
        await client.close()
        for track in client.publish.values():
            if track is not None:
                track.stop()
