"""Helpers shared by the integration tests of the socket.io protocol."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.support.client import Client
from tests.support.server import PeerCircleServer

MakeClient = Callable[..., Client]


async def joined(
    server: PeerCircleServer,
    clients: MakeClient,
    session_id: str,
    name: str,
    role: str = "patient",
    **options: Any,
) -> Client:
    """A client that has connected, joined and got its welcome."""
    link = await server.mint_link(session_id, name, role)
    client = clients(server, link["token"], **options)
    await client.connect()
    await client.wait_for(lambda: client.welcome is not None)
    return client
