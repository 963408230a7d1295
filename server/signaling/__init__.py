"""The socket.io side: one namespace (authenticate, parse, submit to the host), the
handlers per concern, inbound parsing, the presenter's outbound messages, who is
connected, and the limits on what a client may send."""

from .handlers import CLIENT_EVENTS
from .namespace import Signaling

__all__ = ["CLIENT_EVENTS", "Signaling"]
