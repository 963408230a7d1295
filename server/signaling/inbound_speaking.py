"""Parsing of the speaking-time events a facilitator sends (`cue-dismiss`,
`speaking-options`)."""

from __future__ import annotations

from typing import Any

from ..domain.errors import ProtocolError
from ..domain.speaking import CueKey, CueKind
from .inbound import expect_object

MAX_CUE_KEY_LENGTH = 120


def parse_cue_dismiss(payload: Any) -> CueKey:
    """Parse `cue-dismiss`: {"key": "kind:person:room"}."""
    key = expect_object(payload, {"key"}).get("key")
    if not isinstance(key, str) or not 1 <= len(key) <= MAX_CUE_KEY_LENGTH:
        raise ProtocolError("key: must be a cue key from a `cue` event")
    parts = key.split(":")
    if len(parts) != 3 or not parts[1] or not parts[2]:
        raise ProtocolError("key: must be kind:person:room")
    try:
        kind = CueKind(parts[0])
    except ValueError:
        raise ProtocolError("key: unknown cue kind") from None
    return kind, None if parts[1] == "-" else parts[1], parts[2]


def parse_speaking_options(payload: Any) -> bool:
    """Parse `speaking-options`: {"leadersSeeRoom": bool}."""
    value = expect_object(payload, {"leadersSeeRoom"}).get("leadersSeeRoom")
    if not isinstance(value, bool):
        raise ProtocolError("leadersSeeRoom: must be true or false")
    return value
