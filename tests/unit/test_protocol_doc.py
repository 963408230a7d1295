"""docs/PROTOCOL.md documents every event the server handles and every one it sends."""

from __future__ import annotations

import re
from pathlib import Path

from server.signaling import _HANDLERS

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "PROTOCOL.md").read_text()


def test_every_client_event_is_documented() -> None:
    missing = [event for event in _HANDLERS if f"`{event}`" not in DOC]
    assert missing == []


def test_every_server_event_is_documented() -> None:
    sources = "".join(p.read_text() for p in (ROOT / "server").glob("*.py"))
    emitted = set(re.findall(r'_emit\(\s*"([a-z-]+)"', sources))
    emitted |= set(re.findall(r'_to\(\s*[a-z_.]+,\s*"([a-z-]+)"', sources))
    emitted |= set(re.findall(r'sio\.emit\(\s*"([a-z-]+)"', sources))
    assert len(emitted) > 20
    missing = sorted(event for event in emitted if f"`{event}`" not in DOC)
    assert missing == []
