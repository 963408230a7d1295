"""The protocol's one definition (server/signaling/protocol.py) against everything that
mirrors it: the handler table, docs/PROTOCOL.md, the events the server code emits,
client/protocol.json and the browser's protocol module, and the Python test client."""

from __future__ import annotations

import re
from pathlib import Path

from server.signaling import protocol
from server.signaling.handlers import HANDLERS
from tests.support import client

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "PROTOCOL.md").read_text()


def test_the_handler_table_is_the_client_events() -> None:
    assert set(HANDLERS) == protocol.CLIENT_EVENT_NAMES
    assert len(protocol.CLIENT) == len(protocol.CLIENT_EVENT_NAMES)  # no name twice


def test_every_event_is_documented() -> None:
    names = [e.name for e in (*protocol.CLIENT, *protocol.SERVER)]
    missing = [name for name in names if f"`{name}`" not in DOC]
    assert missing == []


def test_every_event_the_server_code_emits_is_defined() -> None:
    sources = "".join(p.read_text() for p in (ROOT / "server").rglob("*.py"))
    emitted = set(re.findall(r'_emit\(\s*"([a-z-]+)"', sources))
    emitted |= set(re.findall(r'_to\(\s*[a-z_.]+,\s*"([a-z-]+)"', sources))
    emitted |= set(re.findall(r'emit\(\s*"([a-z-]+)"', sources))
    assert len(emitted) > 30
    assert sorted(emitted - protocol.SERVER_EVENT_NAMES) == []


def test_client_protocol_json_is_written_from_the_definition() -> None:
    written = (ROOT / "client" / "protocol.json").read_text()
    assert written == protocol.as_json(), (
        "client/protocol.json is stale: regenerate it from server/signaling/protocol.py"
    )


def test_the_browser_protocol_module_handles_every_server_event() -> None:
    modules = [
        p
        for p in (ROOT / "client").rglob("protocol*")
        if p.suffix in {".js", ".ts"} and "dist" not in p.parts
    ]
    assert modules, "no browser protocol module found"
    source = "".join(p.read_text() for p in modules)
    uses_json = "protocol.json" in source
    unhandled = [
        e.name
        for e in protocol.SERVER
        if e.browser and f'"{e.name}"' not in source and f"'{e.name}'" not in source
    ]
    assert uses_json or unhandled == [], unhandled


def test_the_python_test_client_records_every_server_event() -> None:
    assert set(client.SERVER_EVENTS) == protocol.SERVER_EVENT_NAMES
    assert client.PROTOCOL_VERSION == protocol.VERSION
