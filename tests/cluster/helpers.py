"""Following the server to a session's owner, as the browser does."""

from __future__ import annotations

from collections.abc import Callable

import socketio

from tests.support.client import Client

MakeClient = Callable[[str, str], Client]


async def connect_anywhere(make: MakeClient, base_url: str, token: str) -> tuple[Client, list[str]]:
    """Connect (and join) through `base_url`; on `connect_error` `moved`, connect again
    at the URL it names (at most twice). The client that got in, and where it was sent."""
    hops: list[str] = []
    for _ in range(3):
        client = make(base_url, token)
        try:
            await client.connect()
        except socketio.exceptions.ConnectionError:
            refusal = (client.refusal or {}).get("data") or {}
            assert refusal.get("code") == "moved", refusal
            assert refusal.get("url"), refusal
            base_url = str(refusal["url"])
            hops.append(base_url)
            continue
        return client, hops
    raise AssertionError(f"still sent elsewhere after {hops}")
