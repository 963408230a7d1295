"""Errors that say whom they are for; the signaling layer turns them into wire messages."""

from __future__ import annotations


class PeerCircleError(Exception):
    """Base of every error a client may be told about."""

    code = "internal"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UserError(PeerCircleError):
    """The person asked for something that cannot happen now (e.g. stale state)."""

    code = "invalid_state"


class ProtocolError(PeerCircleError):
    """The client sent something the protocol forbids (malformed or oversized)."""

    code = "invalid_payload"


class NotPermitted(PeerCircleError):
    """The caller's role does not allow this action."""

    code = "not_permitted"


class NotFound(UserError):
    """The thing named does not exist (unknown participant, session, track)."""

    code = "not_found"


class RateLimited(UserError):
    """The client sent more of something than its limit allows."""

    code = "rate_limited"


class Unavailable(PeerCircleError):
    """The store cannot be reached: nothing was changed; try again shortly."""

    code = "unavailable"


class Moved(PeerCircleError):
    """Another node owns the session (or took it over): go there. `url` is that node's
    public URL when known."""

    code = "moved"

    def __init__(self, message: str, url: str = "") -> None:
        super().__init__(message)
        self.url = url
