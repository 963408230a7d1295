"""The external engine: segments go to the captioner's send callable; captions coming
back are checked (utterance it was sent, its room, text size) and others refused."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from server.captions import (
    CaptionSettings,
    EngineState,
    ExternalCaptionEngine,
    SpeechSegment,
)
from server.domain.errors import NotPermitted, ProtocolError
from tests.captions.conftest import Outputs


def segment(utterance: str, room: str = "main", final: bool = True) -> SpeechSegment:
    return SpeechSegment(room, "p1", utterance, 2.0, 3.0, bytes(32_000), final)


@pytest_asyncio.fixture
async def engine() -> AsyncIterator[ExternalCaptionEngine]:
    engine = ExternalCaptionEngine(CaptionSettings(engine="external", max_text_chars=40))
    yield engine
    await engine.close()


async def attached(engine: ExternalCaptionEngine, out: Outputs) -> asyncio.Queue[dict[str, object]]:
    sent: asyncio.Queue[dict[str, object]] = asyncio.Queue()

    async def send(message: dict[str, object]) -> None:
        await sent.put(message)

    await engine.start(out)
    engine.attach(send)
    return sent


async def test_audio_out_and_captions_back(engine: ExternalCaptionEngine) -> None:
    out = Outputs()
    sent = await attached(engine, out)
    engine.submit(segment("p1.1", final=False))
    message = await asyncio.wait_for(sent.get(), 5)
    assert message["utterance"] == "p1.1" and message["room"] == "main"
    assert message["final"] is False and message["sample_rate"] == 16000
    assert message["audio"] == bytes(32_000)
    partial = engine.receive({"utterance": "p1.1", "room": "main", "text": "hello", "final": False})
    assert not partial.final and partial.speaker == "p1" and partial.start == 2.0
    final = engine.receive(
        {"utterance": "p1.1", "room": "main", "text": " hello  there ", "final": True}
    )
    assert final.text == "hello there" and final.final
    assert out.captions == [partial, final]
    assert [s.state for s in out.statuses] == [EngineState.STARTING, EngineState.RUNNING]


@pytest.mark.parametrize(
    ("message", "error", "says"),
    [
        (
            {"utterance": "p9.9", "room": "main", "text": "x", "final": True},
            ProtocolError,
            "not sent to you",
        ),
        (
            {"utterance": "p1.1", "room": "breakout-2", "text": "x", "final": True},
            NotPermitted,
            "was not sent for room breakout-2",
        ),
        (
            {"utterance": "p1.1", "room": "main", "text": "x" * 41, "final": True},
            ProtocolError,
            "at most 40 characters",
        ),
        (
            {"utterance": "p1.1", "room": "main", "text": "x", "final": "yes"},
            ProtocolError,
            "final",
        ),
        ({"room": "main", "text": "x", "final": True}, ProtocolError, "utterance"),
    ],
)
async def test_captions_it_did_not_ask_for_are_refused(
    engine: ExternalCaptionEngine, message: dict[str, object], error: type[Exception], says: str
) -> None:
    out = Outputs()
    sent = await attached(engine, out)
    engine.submit(segment("p1.1"))
    await asyncio.wait_for(sent.get(), 5)
    with pytest.raises(error, match=says):
        engine.receive(message)
    assert out.captions == [] and engine.metrics().extra["refused"] == 1


async def test_a_final_closes_the_utterance(engine: ExternalCaptionEngine) -> None:
    out = Outputs()
    sent = await attached(engine, out)
    engine.submit(segment("p1.1"))
    await asyncio.wait_for(sent.get(), 5)
    engine.receive({"utterance": "p1.1", "room": "main", "text": "done", "final": True})
    with pytest.raises(ProtocolError, match="already final"):
        engine.receive({"utterance": "p1.1", "room": "main", "text": "again", "final": True})


async def test_without_a_captioner_audio_goes_nowhere(engine: ExternalCaptionEngine) -> None:
    out = Outputs()
    sent = await attached(engine, out)
    engine.detach()
    engine.submit(segment("p1.1"))
    assert engine.metrics().dropped == 1 and sent.empty()
    with pytest.raises(ProtocolError):
        engine.receive({"utterance": "p1.1", "room": "main", "text": "x", "final": True})
    assert out.statuses[-1].state is EngineState.STARTING
