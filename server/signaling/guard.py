"""The socket.io server, guarded: every packet a client sends is screened before
python-socketio dispatches it.

python-socketio routes a client event named `connect` or `disconnect` to the server's
own connection handlers (a client could re-authenticate a live socket, or drop its
participant while its socket stays in every room), lets an event named `*` choose the
catch-all's arguments, keeps binary attachments in memory until the last one arrives,
and logs a traceback for every packet it cannot decode. None of that is reachable here:
this module is the one place that knows those library internals
(`AsyncServer._handle_eio_message`), and tests/security/test_socket_guard.py breaks
loudly if an upgrade moves them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection
from typing import Any

import socketio
from socketio import packet

from .protocol import SERVER_EVENT_NAMES

log = logging.getLogger(__name__)

# Names python-socketio (server or client side) treats specially; a client may never
# send them as events.
RESERVED_EVENTS = frozenset({"connect", "disconnect", "connect_error", "*", "message"})
MAX_EVENT_NAME = 64
NAMESPACE = "/"


class LogBudget:
    """At most `per_window` log lines per `window_s` seconds about input we refused; the
    rest are counted and summed up in the next line that gets through."""

    def __init__(
        self, logger: logging.Logger, per_window: int = 20, window_s: float = 60.0
    ) -> None:
        self._log = logger
        self._per_window = per_window
        self._window_s = window_s
        self._window_start = -window_s
        self._used = 0
        self.suppressed = 0

    def info(self, message: str, *args: object) -> None:
        """Log one INFO line, unless the budget is spent."""
        self._line(logging.INFO, message, args)

    def warn(self, message: str, *args: object) -> None:
        """Log one WARNING line (never a traceback), unless the budget is spent."""
        self._line(logging.WARNING, message, args)

    def _line(self, level: int, message: str, args: tuple[object, ...]) -> None:
        now = time.monotonic()
        if now - self._window_start >= self._window_s:
            self._window_start, self._used = now, 0
        if self._used >= self._per_window:
            self.suppressed += 1
            return
        self._used += 1
        if self.suppressed:
            message += " (%d similar lines suppressed)"
            args = (*args, self.suppressed)
            self.suppressed = 0
        self._log.log(level, message, *args)


def event_problem(data: object, known: Collection[str]) -> tuple[str, str, str] | None:
    """Why an EVENT packet's payload is not one this server accepts, as (code, message,
    event name for the reply), or None if it is a known event with at most one argument."""
    if not isinstance(data, list) or not data:
        return "bad_packet", "an event packet must be a list naming the event", ""
    name = data[0]
    if not isinstance(name, str):
        return "bad_packet", "the event name must be a string", ""
    shown = name[:MAX_EVENT_NAME]
    if name in RESERVED_EVENTS or name not in known:
        return "unknown_event", f"unknown event {shown!r}", shown
    if len(data) > 2:
        return "bad_request", "an event carries at most one payload", shown
    return None


class GuardedServer(socketio.AsyncServer):  # type: ignore[misc]
    """An AsyncServer that answers unknown, reserved and malformed client packets with
    an `error` event and never dispatches, stores or logs them at length."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.refused_packets = 0
        self.log_budget = LogBudget(log)

    async def emit(self, event: str, *args: Any, **kwargs: Any) -> None:
        """Send an event, which must be one of the protocol's server events: a name
        missing from `protocol.SERVER` is a bug, caught at once rather than silently
        dropped by the browser."""
        if event not in SERVER_EVENT_NAMES:
            raise ValueError(f"{event!r} is not a server event of the protocol")
        await super().emit(event, *args, **kwargs)

    def client_events(self) -> frozenset[str]:
        """The events clients may send: those with a handler, less the reserved ones."""
        return frozenset(self.handlers.get(NAMESPACE, {})) - RESERVED_EVENTS

    async def _handle_eio_message(self, eio_sid: str, data: str | bytes) -> None:
        if not isinstance(data, str):
            # A binary frame: the protocol has no binary attachments, so none is kept.
            await self._refuse(eio_sid, "bad_packet", "binary frames are not accepted", "")
            return
        kind = data[:1]
        if kind in (str(packet.BINARY_EVENT), str(packet.BINARY_ACK), str(packet.ACK)):
            # The protocol has no binary packets, and the server never asks for an ack.
            await self._refuse(eio_sid, "bad_packet", "this packet type is not accepted", "")
            return
        try:
            decoded = self.packet_class(encoded_packet=data)
        except Exception:
            await self._refuse(eio_sid, "bad_packet", "the packet could not be decoded", "")
            return
        if decoded.packet_type == packet.EVENT:
            if (decoded.namespace or NAMESPACE) != NAMESPACE:
                await self._refuse(eio_sid, "bad_packet", "unknown namespace", "")
                return
            sid = self.manager.sid_from_eio_sid(eio_sid, NAMESPACE)
            if sid is None or not self.manager.is_connected(sid, NAMESPACE):
                # An Engine.IO socket that never connected to socket.io (no token).
                await self._refuse(eio_sid, "not_connected", "connect first", "")
                return
            problem = event_problem(decoded.data, self.client_events())
            if problem is not None:
                await self._refuse(eio_sid, *problem)
                return
        elif decoded.packet_type not in (packet.CONNECT, packet.DISCONNECT):
            await self._refuse(eio_sid, "bad_packet", "unknown packet type", "")
            return
        try:
            await super()._handle_eio_message(eio_sid, data)
        except Exception as exc:
            await self._refuse(eio_sid, "bad_packet", "the packet was refused", "", exc)

    async def _refuse(
        self,
        eio_sid: str,
        code: str,
        message: str,
        event: str,
        exc: BaseException | None = None,
    ) -> None:
        """Tell the socket (if it has a socket.io session) and log one short line."""
        self.refused_packets += 1
        sid = self.manager.sid_from_eio_sid(eio_sid, NAMESPACE)
        self.log_budget.warn(
            "refused a client packet: %s%s%s",
            code,
            f" ({type(exc).__name__})" if exc is not None else "",
            "" if sid is not None else " before authentication",
        )
        if sid is not None and self.manager.is_connected(sid, NAMESPACE):
            body = {"code": code, "message": message, "event": event}
            await self.emit("error", body, to=sid)


def quiet_library_logger(name: str) -> logging.Logger:
    """A library's logger at WARNING, with no handler of its own."""
    logger = logging.getLogger(name)
    logger.setLevel(logging.WARNING)
    return logger
