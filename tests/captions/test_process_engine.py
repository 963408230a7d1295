"""The supervised worker: captions come back, a crash or hang costs one segment and a
restart, repeated failures switch the engine off, a slow engine's backlog stays bounded."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest_asyncio

from server.captions import (
    CaptionEvent,
    CaptionSettings,
    EngineState,
    EngineStatus,
    ProcessEngine,
    SpeechSegment,
)
from tests.captions.conftest import Outputs

FAKE = "tests.captions.transcribers:make"
FAST = CaptionSettings(segment_timeout_s=1.5, restart_delay_s=0.05, max_failures=3)

EngineMaker = Callable[..., ProcessEngine]


@pytest_asyncio.fixture
async def engines() -> AsyncIterator[EngineMaker]:
    """`engines(options, settings=..., factory=...)`: a started engine, closed after the test."""
    made: list[ProcessEngine] = []

    def make(
        options: dict[str, str] | None = None,
        settings: CaptionSettings = FAST,
        factory: str = FAKE,
    ) -> ProcessEngine:
        engine = ProcessEngine("fake", factory, settings, options)
        made.append(engine)
        return engine

    yield make
    for engine in made:
        await engine.close()


def segment(n: int, speaker: str = "p1", seconds: float = 1.0) -> SpeechSegment:
    pcm = bytes(int(seconds * 32_000))
    return SpeechSegment("main", speaker, f"{speaker}.{n}", float(n), n + seconds, pcm)


def status(state: EngineState) -> Callable[[object], bool]:
    return lambda o: isinstance(o, EngineStatus) and o.state is state


def caption(utterance: str) -> Callable[[object], bool]:
    return lambda o: isinstance(o, CaptionEvent) and o.utterance_id == utterance


def worker_pid(engine: ProcessEngine) -> int:
    worker = engine._worker  # the test checks the process itself is gone
    assert worker is not None
    return int(worker.process.pid)


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


async def test_captions_come_back_from_the_worker(engines: EngineMaker) -> None:
    out = Outputs()
    engine = engines()
    await engine.start(out)
    await out.wait_for(status(EngineState.RUNNING))
    engine.submit(segment(1, seconds=0.5))
    event = await out.wait_for(caption("p1.1"))
    assert isinstance(event, CaptionEvent)
    assert event.text == "16000 bytes" and event.final and event.speaker == "p1"
    assert event.start == 1.0 and event.end == 1.5
    metrics = engine.metrics()
    assert metrics.transcribed == 1 and metrics.audio_s == 0.5 and metrics.busy_s > 0


async def test_a_crash_costs_one_segment_and_a_restart(
    engines: EngineMaker, tmp_path: Path
) -> None:
    out = Outputs()
    engine = engines({"crash": "once", "marker": str(tmp_path / "crashed")})
    await engine.start(out)
    await out.wait_for(status(EngineState.RUNNING))
    first_pid = worker_pid(engine)
    engine.submit(segment(1))
    restarting = await out.wait_for(status(EngineState.RESTARTING))
    assert isinstance(restarting, EngineStatus) and "exited" in restarting.reason
    engine.submit(segment(2))
    await out.wait_for(caption("p1.2"))
    assert worker_pid(engine) != first_pid
    assert not any(c.utterance_id == "p1.1" for c in out.captions)
    metrics = engine.metrics()
    assert (metrics.failures, metrics.restarts, metrics.transcribed) == (1, 1, 1)


async def test_a_hang_is_killed_and_repeated_failures_switch_the_engine_off(
    engines: EngineMaker,
) -> None:
    out = Outputs()
    engine = engines(
        {"hang": "always"},
        CaptionSettings(segment_timeout_s=0.5, restart_delay_s=0.05, max_failures=2),
    )
    await engine.start(out)
    await out.wait_for(status(EngineState.RUNNING))
    hung_pid = worker_pid(engine)
    engine.submit(segment(1))
    restarting = await out.wait_for(status(EngineState.RESTARTING))
    assert isinstance(restarting, EngineStatus) and "no answer in 0.5 s" in restarting.reason
    assert gone(hung_pid)
    await out.wait_for(lambda o: [s.state for s in out.statuses].count(EngineState.RUNNING) == 2)
    engine.submit(segment(2))
    off = await out.wait_for(status(EngineState.OFF))
    assert isinstance(off, EngineStatus) and "failed 2 times in a row" in off.reason
    assert engine.state is EngineState.OFF and engine._worker is None
    engine.submit(segment(3))  # the call goes on; the audio goes nowhere
    metrics = engine.metrics()
    assert (metrics.failures, metrics.restarts, metrics.dropped) == (2, 1, 1)
    assert out.captions == []


async def test_an_engine_that_cannot_load_is_switched_off(engines: EngineMaker) -> None:
    out = Outputs()
    engine = engines(factory="tests.captions.transcribers:make_broken")
    await engine.start(out)
    off = await out.wait_for(status(EngineState.OFF))
    assert isinstance(off, EngineStatus) and "did not start" in off.reason
    assert [s.state for s in out.statuses] == [
        EngineState.RESTARTING,
        EngineState.RESTARTING,
        EngineState.OFF,
    ]


async def test_a_slow_engine_merges_and_drops_instead_of_lagging(engines: EngineMaker) -> None:
    out = Outputs()
    # Room for three waiting segments; two one-second utterances fit a merge, three not.
    settings = CaptionSettings(max_backlog=3, max_merged_s=2.5, segment_timeout_s=5.0)
    engine = engines({"delay_s": "0.4"}, settings)
    await engine.start(out)
    await out.wait_for(status(EngineState.RUNNING))
    # Three people talk over each other, far faster than the engine answers.
    submitted = []
    for n in range(1, 5):
        for speaker in ("p1", "p2", "p3"):
            engine.submit(segment(n, speaker))
            submitted.append(f"{speaker}.{n}")
            assert engine.metrics().queued <= 3
        await asyncio.sleep(0)
    metrics = engine.metrics()
    assert metrics.merged > 0 and metrics.dropped > 0

    def captioned() -> set[str]:
        return {c.utterance_id for c in out.captions} | {
            r for c in out.captions for r in c.replaces
        }

    # Every segment that was neither dropped nor merged into another is transcribed.
    expected = len(submitted) - metrics.dropped - metrics.merged
    await out.wait_for(lambda o: len(out.captions) == expected)
    assert metrics.transcribed == expected and metrics.queued == 0
    assert captioned() <= set(submitted)
    merged = [c for c in out.captions if c.replaces]
    assert merged
    for c in merged:
        n = len(c.replaces)
        assert c.text == f"{32_000 * (n + 1) + 9_600 * n} bytes"
