"""What the handler mixins of `Signaling` need from it, declared once."""

from __future__ import annotations

import socketio

from ..bridge import MediaBridge
from ..captions.service import CaptionService
from ..host import Command, SessionHost, SessionRegistry
from .connections import Connection, ConnectionRegistry
from .presenter import Presenter


class CommandHandlers:
    """Base of the handler mixins: `Signaling` provides these."""

    _bridge: MediaBridge
    _registry: SessionRegistry
    _sio: socketio.AsyncServer
    captions: CaptionService
    connections: ConnectionRegistry
    presenter: Presenter

    async def _run(self, conn: Connection, command: Command) -> None:
        raise NotImplementedError

    async def _host(self, conn: Connection) -> SessionHost:
        raise NotImplementedError
