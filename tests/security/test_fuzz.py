"""A bounded fuzz of every client event from several roles against a real server: no
`internal` error, no crash, no traceback, memory within a stated bound, and a
bystander's message still arrives.

Payloads are random and wrong-typed (seeded, so a failure can be replayed with
PEERCIRCLE_FUZZ_SEED): nulls, numbers, huge and odd strings, nested lists and objects,
and objects with the protocol's own field names holding any of those. Events that end
the fuzzers' own part (`leave`, `end-session`) are left out, and the bystanders' ids
are never in the pool, so nothing but a bug can take the bystanders out of the call.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable
from typing import Any

import pytest

from server.signaling.handlers import CLIENT_EVENTS
from tests.integration.helpers import arrive
from tests.support.client import Client
from tests.support.server import PeerCircleServer

pytestmark = pytest.mark.integration

MakeClient = Callable[..., Client]

PER_EVENT = int(os.environ.get("PEERCIRCLE_FUZZ_PER_EVENT", "250"))  # per role
SEED = int(os.environ.get("PEERCIRCLE_FUZZ_SEED", "20261204"))
SKIPPED = frozenset({"leave", "end-session"})
# Growth of the server's resident memory the whole fuzz may cause.
MAX_RSS_GROWTH = 40 * 1024 * 1024

FIELDS = (
    "participant", "to", "text", "mic", "camera", "locked", "enabled", "transcript",
    "declined", "message", "policy", "publish", "captions", "revision", "sdp",
    "candidate", "sdpMid", "sdpMLineIndex", "names", "room", "rooms", "mode",
    "together", "apart", "seconds", "remainingS", "durationS", "selfChoice", "leader",
    "key", "kind", "show", "utterance", "final", "visible", "order",
)  # fmt: skip


def strings(rng: random.Random, ids: list[str]) -> str:
    choices: list[Callable[[], str]] = [
        lambda: "",
        lambda: "x" * rng.choice((1, 64, 65, 1000, 1001, 5000)),
        lambda: rng.choice(ids),
        lambda: rng.choice(("main", "room", "facilitators", "live", "off", "replace")),
        lambda: "".join(chr(rng.randrange(0, 0x3000)) for _ in range(rng.randrange(1, 40))),
        lambda: "\u202e\u0000\ud800" + "evil",
        lambda: "candidate:1 1 udp 1 127.0.0.1 9 typ host",
        lambda: "v=0\r\n" * rng.randrange(1, 50),
    ]
    return rng.choice(choices)()


def value(rng: random.Random, ids: list[str], depth: int = 0) -> Any:
    kind = rng.randrange(9 if depth < 3 else 6)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice((True, False))
    if kind == 2:
        return rng.choice((0, -1, 1, 2**63, -(2**70), 3.5, 1e308, float("-inf")))
    if kind in (3, 4, 5):
        return strings(rng, ids)
    if kind == 6:
        return [value(rng, ids, depth + 1) for _ in range(rng.randrange(0, 6))]
    if kind == 7:
        return {rng.choice(FIELDS): value(rng, ids, depth + 1) for _ in range(rng.randrange(4))}
    return {strings(rng, ids)[:20]: value(rng, ids, depth + 1)}


def payload(rng: random.Random, ids: list[str]) -> Any:
    if rng.random() < 0.6:
        # Mostly objects with the protocol's field names: they get past the first checks.
        return {rng.choice(FIELDS): value(rng, ids) for _ in range(rng.randrange(1, 4))}
    return value(rng, ids)


async def test_random_payloads_for_every_event_break_nothing(
    server: PeerCircleServer, clients: MakeClient
) -> None:
    session = await server.create_session()
    sid = session["id"]

    bystander, bystander_id = await arrive(server, clients, sid, "Bea", "patient")
    listener, _ = await arrive(server, clients, sid, "Cole", "co-facilitator")
    fuzzers = [
        await arrive(server, clients, sid, name, role)
        for name, role in (
            ("Fuzz T", "therapist"),
            ("Fuzz P", "patient"),
            ("Fuzz L", "peer-leader"),
            ("Fuzz O", "observer"),
        )
    ]
    ids = [pid for _, pid in fuzzers] + ["p_nobody", "main"]
    assert bystander_id not in ids
    rng = random.Random(SEED)
    rss_before = server.rss_bytes()
    log_before = len(server.log_text())
    events = sorted(CLIENT_EVENTS - SKIPPED)
    started = time.monotonic()
    sent = 0
    # Each event asks for an ack, which the server sends once its handler is done.
    acked = [0]

    def ack(*_: Any) -> None:
        acked[0] += 1

    for event in events:
        for client, _ in fuzzers:
            if not client.sio.connected:
                continue  # removed by another fuzzer: that is allowed
            for _ in range(PER_EVENT):
                await client.sio.emit(event, payload(rng, ids), callback=ack)
                sent += 1
    await listener.wait_for(
        lambda: acked[0] >= sent or not all(c.sio.connected for c, _ in fuzzers), within=120
    )
    elapsed = time.monotonic() - started

    # The bystander's message still arrives.
    await bystander.emit("chat", {"to": "facilitators", "text": "still here"})
    await listener.next_event("chat-message", lambda m: m["text"] == "still here", within=20)

    assert server.running
    internal = [e for client, _ in fuzzers for e in client.errors if e["code"] == "internal"]
    assert internal == [], internal[:5]
    logged = server.log_text()[log_before:]
    assert "Traceback" not in logged, logged[logged.index("Traceback") :][:3000]
    growth = server.rss_bytes() - rss_before
    assert growth < MAX_RSS_GROWTH, f"RSS grew {growth / 1e6:.1f} MB over {sent} messages"
    codes: dict[str, int] = {}
    for client, _ in fuzzers:
        for error in client.errors:
            codes[error["code"]] = codes.get(error["code"], 0) + 1
    still = sum(client.sio.connected for client, _ in fuzzers)
    print(f"fuzz: {sent} messages, {len(events)} events, {elapsed:.1f} s; errors {codes}")
    print(f"fuzz: {still} of {len(fuzzers)} fuzzers still connected")
