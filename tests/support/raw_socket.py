"""A socket.io client written at the packet level, for sending what no real client
would: malformed packets, reserved event names, binary attachments, bare Engine.IO.

It speaks Engine.IO 4 over a WebSocket (`/socket.io/?EIO=4&transport=websocket`):
text frames are Engine.IO packets (`4` = message, `2`/`3` = ping/pong), and a
socket.io packet rides in a message (`0` connect, `2` event, `4` connect error: on the
wire `40`, `42`, `44`). `packets` holds socket.io packets, without the Engine.IO `4`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import aiohttp

OPEN, PING, PONG, MESSAGE = "0", "2", "3", "4"


class RawSocket:
    """One WebSocket to the server; what it receives is kept in order."""

    def __init__(self, base_url: str) -> None:
        self._url = base_url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
        self._http: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None
        self.packets: list[str] = []  # socket.io packets received (Engine.IO `4` stripped)
        self.closed = asyncio.Event()
        self._changed = asyncio.Condition()

    async def open(self, token: str | None = None) -> dict[str, Any] | None:
        """Open the WebSocket; with a `token`, connect to socket.io too and return the
        CONNECT answer (`{"sid": ...}`) or raise AssertionError with the refusal."""
        self._http = aiohttp.ClientSession()
        self._ws = await self._http.ws_connect(self._url, max_msg_size=0)
        first = await self._ws.receive_str(timeout=10)
        assert first.startswith(OPEN), first
        self._reader = asyncio.ensure_future(self._read())
        if token is None:
            return None
        await self.send("0" + json.dumps({"token": token, "protocol": 1}))
        answer = await self.next_packet(lambda p: p.startswith(("0", "4")))
        if answer.startswith("4"):
            raise AssertionError(f"connect refused: {answer}")
        body: dict[str, Any] = json.loads(answer[1:])
        return body

    async def send(self, socketio_packet: str) -> None:
        """Send one socket.io packet as an Engine.IO message."""
        assert self._ws is not None
        await self._ws.send_str(MESSAGE + socketio_packet)

    async def send_engineio(self, text: str) -> None:
        """Send a raw Engine.IO text frame (no `4` prefix added)."""
        assert self._ws is not None
        await self._ws.send_str(text)

    async def send_binary(self, data: bytes) -> None:
        """Send a binary frame (an attachment, in socket.io's framing)."""
        assert self._ws is not None
        await self._ws.send_bytes(data)

    async def emit(self, *args: Any) -> None:
        """Send an EVENT packet with exactly these arguments (name first)."""
        await self.send("2" + json.dumps(list(args)))

    def events(self, name: str) -> list[Any]:
        """Payloads of the received events called `name`."""
        found = []
        for packet in self.packets:
            if packet.startswith("2"):
                with contextlib.suppress(ValueError):
                    data = json.loads(packet[1:])
                    if isinstance(data, list) and data and data[0] == name:
                        found.append(data[1] if len(data) > 1 else None)
        return found

    async def next_packet(self, match: Any, since: int = 0, within: float = 10.0) -> str:
        """The first received packet at index >= `since` for which `match(packet)`."""

        async def wait() -> str:
            async with self._changed:
                while True:
                    for packet in self.packets[since:]:
                        if match(packet):
                            return packet
                    if self.closed.is_set():
                        raise ConnectionError("the socket closed")
                    await self._changed.wait()

        return await asyncio.wait_for(wait(), within)

    async def errors_after(self, since: int, count: int, within: float = 10.0) -> list[Any]:
        """Wait for `count` `error` events among the packets from index `since`."""

        def enough() -> bool:
            return len(self._errors(since)) >= count

        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(enough), within)
        return self._errors(since)[:count]

    def _errors(self, since: int) -> list[Any]:
        found = []
        for packet in self.packets[since:]:
            if packet.startswith('2["error"'):
                found.append(json.loads(packet[1:])[1])
        return found

    async def _read(self) -> None:
        assert self._ws is not None
        try:
            async for message in self._ws:
                if message.type is not aiohttp.WSMsgType.TEXT:
                    continue
                text = str(message.data)
                if text == PING:
                    await self._ws.send_str(PONG)
                    continue
                if text.startswith(MESSAGE):
                    async with self._changed:
                        self.packets.append(text[1:])
                        self._changed.notify_all()
        finally:
            self.closed.set()
            async with self._changed:
                self._changed.notify_all()

    async def close(self) -> None:
        """Close the WebSocket and the HTTP session."""
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(self._reader, 5)
        if self._http is not None:
            await self._http.close()
