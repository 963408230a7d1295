"""The DTLS transport internals the receive and send hooks share.

Touches `aiortc.rtcdtlstransport.State` and stores our per-transport objects as
attributes of `RTCDtlsTransport` (aiortc>=1.16,<1.17, pinned in pyproject.toml;
checked by tests/media/test_aiortc_packet_hooks.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from aiortc.rtcdtlstransport import RTCDtlsTransport
from aiortc.rtcdtlstransport import State as DtlsState

DTLS_CONNECTED = DtlsState.CONNECTED
"""`RTCDtlsTransport._state` once the handshake is done and the SRTP keys are set."""

_T = TypeVar("_T")


def one_per_transport(
    dtls: RTCDtlsTransport, name: str, make: Callable[[RTCDtlsTransport], _T]
) -> _T:
    """The object kept on `dtls` under `name`, made by `make` on first use."""
    found: _T | None = getattr(dtls, name, None)
    if found is None:
        found = make(dtls)
        setattr(dtls, name, found)
    return found
