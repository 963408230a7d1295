"""What goes into the SDP: a sender's stream id and the ICE host candidates.

Internals touched (aiortc>=1.16,<1.17 and the aioice that comes with it, pinned in
pyproject.toml; checked by tests/media/test_aiortc_hooks.py and
tests/media/test_aiortc_packet_hooks.py):

- `RTCRtpSender._stream_id`, which its m-line's `a=msid` carries (`set_stream_id`);
- `aioice.ice.get_host_addresses`, aioice's host-address discovery, replaced to
  offer 127.0.0.1 (tests and one-machine demos; `offer_loopback_candidates`).
"""

from __future__ import annotations

import aioice.ice
from aiortc import RTCRtpSender


def set_stream_id(sender: RTCRtpSender, stream_id: str) -> None:
    """The MediaStream id the next offer gives `sender`'s track (`a=msid`).

    aiortc gives every sender of a connection the same one. A browser keeps audio
    and video of one stream in sync (lip sync), so each publisher's tracks must
    share a stream of their own on every subscriber.
    """
    if not isinstance(getattr(sender, "_stream_id", None), str):
        raise RuntimeError("aiortc changed: RTCRtpSender has no stream id")
    if not stream_id or any(c.isspace() for c in stream_id):
        raise ValueError(f"not a stream id: {stream_id!r}")
    sender._stream_id = stream_id


_original_host_addresses = aioice.ice.get_host_addresses


def offer_loopback_candidates(enabled: bool) -> None:
    """Make aioice offer 127.0.0.1 as a host candidate (it skips loopback by default)."""

    def with_loopback(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        addresses = _original_host_addresses(use_ipv4=use_ipv4, use_ipv6=use_ipv6)
        if use_ipv4 and "127.0.0.1" not in addresses:
            addresses.append("127.0.0.1")
        return addresses

    aioice.ice.get_host_addresses = with_loopback if enabled else _original_host_addresses
