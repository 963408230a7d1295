"""One owner per live session (`session_host`) and the hosts of this process
(`registry`)."""

from .registry import SessionRegistry
from .session_host import Clock, Command, EventListener, Fence, SessionHost

__all__ = ["Clock", "Command", "EventListener", "Fence", "SessionHost", "SessionRegistry"]
