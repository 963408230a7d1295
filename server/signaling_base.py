"""What the handler mixins of `Signaling` need from it, declared once."""

from __future__ import annotations

from .connections import Connection
from .host import Command, SessionHost


class CommandHandlers:
    """Base of the handler mixins: `Signaling` provides these two."""

    async def _run(self, conn: Connection, command: Command) -> None:
        raise NotImplementedError

    async def _host(self, conn: Connection) -> SessionHost:
        raise NotImplementedError
