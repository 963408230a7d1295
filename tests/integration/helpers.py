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


async def arrive(
    server: PeerCircleServer,
    clients: MakeClient,
    session_id: str,
    name: str,
    role: str = "patient",
    *,
    admitted: bool = True,
    expect: str = "welcome",
    **options: Any,
) -> tuple[Client, str]:
    """A client whose link was minted (pre-admitted unless told), that connected,
    joined and got `expect` (the welcome, or `waiting`), and its participant id."""
    link = await server.mint_link(session_id, name, role, admitted=admitted)
    client = clients(server, link["token"], **options)
    await client.connect()
    await client.next_event(expect)
    return client, str(link["participant_id"])
