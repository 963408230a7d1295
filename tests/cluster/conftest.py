"""The cluster tier: one real redis-server (append-only) and several `python -m server`
nodes on it, sharing the admin key and token secret, with short leases so takeovers
happen within a test."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

import pytest
import pytest_asyncio

from tests.conftest import SERVERS_USED
from tests.support.client import Client
from tests.support.redis_server import RedisServer, running_redis
from tests.support.server import PeerCircleServer, running_server

LEASE_TTL_S = 3.0
NODE_TTL_S = 2.0


class StartNode(Protocol):
    """`await start_node()`: one more node of the cluster."""

    async def __call__(self, reconnect_grace_s: float = 30.0) -> PeerCircleServer: ...


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """This test's own redis-server, with an append-only file like the compose one."""
    with running_redis(tmp_path, persistent=True) as server:
        yield server


@pytest_asyncio.fixture
async def start_node(
    request: pytest.FixtureRequest, tmp_path: Path, redis_server: RedisServer
) -> AsyncIterator[StartNode]:
    """Nodes of one deployment on this test's Redis, stopped after the test."""
    env = {
        "PEERCIRCLE_STORE": "redis",
        "PEERCIRCLE_REDIS_URL": redis_server.url,
        "PEERCIRCLE_LEASE_TTL_S": str(LEASE_TTL_S),
        "PEERCIRCLE_NODE_TTL_S": str(NODE_TTL_S),
        "PEERCIRCLE_NODE_HEARTBEAT_S": "0.5",
    }
    first: list[PeerCircleServer] = []
    async with contextlib.AsyncExitStack() as stack:

        async def start(reconnect_grace_s: float = 30.0) -> PeerCircleServer:
            shared: dict[str, Any] = {}
            if first:
                shared = {"admin_key": first[0].admin_key, "token_secret": first[0].token_secret}
            node = await stack.enter_async_context(
                running_server(tmp_path, reconnect_grace_s, env, **shared)
            )
            first.append(node)
            request.node.stash.setdefault(SERVERS_USED, []).append(node)
            return node

        yield start


MakeClient = Callable[..., Client]


@pytest_asyncio.fixture
async def cluster_clients() -> AsyncIterator[Callable[[str, str], Client]]:
    """`cluster_clients(base_url, token)`: a Client closed after the test."""
    made: list[Client] = []

    def make(base_url: str, token: str) -> Client:
        client = Client(base_url, token)
        made.append(client)
        return client

    yield make
    for client in made:
        await client.close()
