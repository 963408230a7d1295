"""A Janus VideoRoom participant over Janus's HTTP API (long poll), media through aiortc.

Publishers offer (audio + video, or one screen video) and get Janus's answer;
subscribers join one multistream subscription with every other feed, answer Janus's
offer and `start`. The RTP itself is the lean load generator's business.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from typing import Any

import aiohttp
from aiortc import RTCBundlePolicy, RTCConfiguration, RTCPeerConnection, RTCSessionDescription

log = logging.getLogger(__name__)
PLUGIN = "janus.plugin.videoroom"
TIMEOUT = aiohttp.ClientTimeout(total=60)
_transactions = itertools.count(1)


class JanusError(Exception):
    """Janus or the plugin answered with an error."""


def new_peer_connection() -> RTCPeerConnection:
    """Bundled, no STUN server (loopback only)."""
    return RTCPeerConnection(
        RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
    )


class JanusSession:
    """One Janus session with any number of videoroom handles; one long-poll task."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = aiohttp.ClientSession(timeout=TIMEOUT)
        self.session_id = 0
        self._waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._poller: asyncio.Task[None] | None = None

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        async with self.http.post(f"{self.base_url}{path}", json=body) as response:
            reply: dict[str, Any] = await response.json(content_type=None)
        if reply.get("janus") == "error":
            raise JanusError(str(reply.get("error")))
        return reply

    async def create(self) -> None:
        """Create the session and start long-polling its events."""
        reply = await self._post("/janus", {"janus": "create", "transaction": _tx()})
        self.session_id = int(reply["data"]["id"])
        self._poller = asyncio.ensure_future(self._poll())

    async def attach(self) -> int:
        """A new videoroom handle."""
        body = {"janus": "attach", "plugin": PLUGIN, "transaction": _tx()}
        reply = await self._post(f"/janus/{self.session_id}", body)
        return int(reply["data"]["id"])

    async def request(
        self, handle: int, body: dict[str, Any], jsep: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Send a plugin message; the plugin's answer (synchronous or the event it causes)."""
        transaction = _tx()
        message: dict[str, Any] = {"janus": "message", "body": body, "transaction": transaction}
        if jsep is not None:
            message["jsep"] = jsep
        future = asyncio.get_running_loop().create_future()
        self._waiting[transaction] = future
        reply = await self._post(f"/janus/{self.session_id}/{handle}", message)
        if reply.get("janus") == "success":
            self._waiting.pop(transaction, None)
            return reply
        try:
            event = await asyncio.wait_for(future, 30)
        finally:
            self._waiting.pop(transaction, None)
        data = event.get("plugindata", {}).get("data", {})
        if "error" in data:
            raise JanusError(str(data["error"]))
        answer: dict[str, Any] = event
        return answer

    async def _poll(self) -> None:
        url = f"{self.base_url}/janus/{self.session_id}?maxev=50"
        while True:
            try:
                async with self.http.get(url) as response:
                    events = await response.json(content_type=None)
            except (aiohttp.ClientError, TimeoutError):
                await asyncio.sleep(0.2)
                continue
            for event in events if isinstance(events, list) else [events]:
                future = self._waiting.get(str(event.get("transaction")))
                if future is not None and not future.done() and event.get("janus") == "event":
                    future.set_result(event)

    async def close(self) -> None:
        """Stop polling and destroy the session."""
        if self._poller is not None:
            self._poller.cancel()
        try:
            await self._post(
                f"/janus/{self.session_id}", {"janus": "destroy", "transaction": _tx()}
            )
        except (aiohttp.ClientError, JanusError, TimeoutError):
            pass
        await self.http.close()


def _candidates(sdp: str) -> list[str]:
    return sorted({line.split()[4] for line in sdp.splitlines() if line.startswith("a=candidate:")})


def _tx() -> str:
    return f"t{next(_transactions)}"


async def publish(session: JanusSession, room: int, pc: RTCPeerConnection, display: str) -> int:
    """Join `room` as a publisher with `pc`'s offer, apply the answer; the feed id."""
    handle = await session.attach()
    join = {"request": "join", "ptype": "publisher", "room": room, "display": display}
    joined = await session.request(handle, join)
    feed = int(joined["plugindata"]["data"]["id"])
    await pc.setLocalDescription(await pc.createOffer())
    offer = {"type": "offer", "sdp": pc.localDescription.sdp}
    event = await session.request(handle, {"request": "publish"}, offer)
    answer = event["jsep"]["sdp"]
    log.info("publisher %s: Janus candidates %s", display, _candidates(answer))
    await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
    return feed


async def subscribe(
    session: JanusSession, room: int, pc: RTCPeerConnection, feeds: list[int]
) -> None:
    """One multistream subscription to `feeds` on `pc`: answer Janus's offer and start."""
    handle = await session.attach()
    body = {
        "request": "join",
        "ptype": "subscriber",
        "room": room,
        "streams": [{"feed": feed} for feed in feeds],
    }
    event = await session.request(handle, body)
    await pc.setRemoteDescription(RTCSessionDescription(event["jsep"]["sdp"], "offer"))
    await pc.setLocalDescription(await pc.createAnswer())
    answer = {"type": "answer", "sdp": pc.localDescription.sdp}
    await session.request(handle, {"request": "start"}, answer)
