"""The session host: commands under its lock, stored first; listeners outside it, in
order, from one courier task per session."""

from __future__ import annotations

import asyncio
import logging

import pytest

from server.domain.errors import NotPermitted
from server.domain.events import Event, LockChanged
from server.domain.roles import Role
from server.domain.session import Session
from server.host import SessionHost
from server.store.memory import MemoryStore

T0 = 1000.0


def make_host(listeners: list[object]) -> tuple[SessionHost, MemoryStore]:
    session = Session("s_1", "Group", T0, waiting_room=False)
    session.join("p_t", "Dr. Rivera", Role.THERAPIST, T0)
    session.join("p_a", "Alex", Role.PATIENT, T0)
    store = MemoryStore()
    return SessionHost(session, store, listeners, clock=lambda: T0), store  # type: ignore[arg-type]


def lock(locked: bool):  # type: ignore[no-untyped-def]
    return lambda s, now: s.set_locked("p_t", locked)


async def test_listeners_see_every_batch_in_command_order() -> None:
    seen: list[bool] = []

    async def listener(session: Session, events: list[Event]) -> None:
        for event in events:
            assert isinstance(event, LockChanged)
            seen.append(event.locked)
        await asyncio.sleep(0)  # let the other commands interleave

    host, _ = make_host([listener])
    await asyncio.gather(*(host.run(lock(i % 2 == 0)) for i in range(10)))
    assert seen == [i % 2 == 0 for i in range(10)]


async def test_a_slow_listener_does_not_hold_the_next_command() -> None:
    release = asyncio.Event()
    entered = asyncio.Event()

    async def slow(session: Session, events: list[Event]) -> None:
        entered.set()
        await release.wait()

    host, store = make_host([slow])
    first = asyncio.ensure_future(host.run(lock(True)))
    await asyncio.wait_for(entered.wait(), 5)
    # The listener is still busy with the first batch: the next command goes through,
    # and it is stored, while the first one's delivery is not done.
    second = asyncio.ensure_future(host.run(lock(False)))
    for _ in range(100):
        record = await store.load_session("s_1")
        if record is not None and record["locked"] is False:
            break
        await asyncio.sleep(0.01)
    else:
        raise AssertionError("the second command waited for the first one's listener")
    assert not first.done() and not second.done()
    release.set()
    await asyncio.wait_for(asyncio.gather(first, second), 5)


async def test_run_returns_after_its_events_were_delivered() -> None:
    delivered: list[bool] = []

    async def listener(session: Session, events: list[Event]) -> None:
        await asyncio.sleep(0.01)
        delivered.append(True)

    host, _ = make_host([listener])
    await host.run(lock(True))
    assert delivered == [True]


async def test_a_listener_may_submit_a_command_without_deadlock() -> None:
    order: list[str] = []
    host: SessionHost

    async def listener(session: Session, events: list[Event]) -> None:
        [event] = events
        assert isinstance(event, LockChanged)
        order.append(f"seen {event.locked}")
        if event.locked:
            # From inside the courier: queued behind this batch, not waited for.
            await host.run(lock(False))
            order.append("submitted")

    host, _ = make_host([listener])
    await asyncio.wait_for(host.run(lock(True)), 5)
    await asyncio.wait_for(host.settled(), 5)
    assert order == ["seen True", "submitted", "seen False"]
    assert host.session.locked is False


async def test_a_failing_listener_is_logged_and_the_others_still_hear(
    caplog: pytest.LogCaptureFixture,
) -> None:
    heard: list[int] = []

    async def broken(session: Session, events: list[Event]) -> None:
        raise RuntimeError("boom")

    async def fine(session: Session, events: list[Event]) -> None:
        heard.append(len(events))

    host, _ = make_host([broken, fine])
    with caplog.at_level(logging.ERROR, logger="server.host"):
        await host.run(lock(True))
    assert heard == [1]
    assert any("listener failed" in r.getMessage() for r in caplog.records)


async def test_a_refused_command_stores_and_delivers_nothing() -> None:
    heard: list[list[Event]] = []

    async def listener(session: Session, events: list[Event]) -> None:
        heard.append(events)

    host, store = make_host([listener])
    await host.run(lock(True))
    heard.clear()
    before = await store.load_session("s_1")
    with pytest.raises(NotPermitted):
        await host.run(lambda s, now: s.set_locked("p_a", False))
    await host.settled()
    assert heard == []
    assert await store.load_session("s_1") == before
