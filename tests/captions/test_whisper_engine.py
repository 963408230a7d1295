"""The built-in offline engine really transcribes: an espeak-ng sentence made now,
through webrtcvad, the segmenter and faster-whisper tiny.en in its worker process."""

from __future__ import annotations

from server.captions import (
    CaptionEvent,
    CaptionPipeline,
    CaptionSettings,
    EngineState,
    EngineStatus,
    load_engine,
)
from tests.captions.conftest import Outputs
from tests.support.speech import silence, synthesize, vad_frames

SENTENCE = "The group will meet again on Thursday afternoon to talk about sleep."


async def test_whisper_captions_a_spoken_sentence() -> None:
    out = Outputs()
    engine = load_engine(CaptionSettings(engine="whisper"))
    await engine.start(out)
    try:
        pipeline = CaptionPipeline(engine)
        pipeline.allow("p_a")
        speech = silence(0.5) + synthesize(SENTENCE) + silence(1.0)
        assert pipeline.feed("main", "p_a", vad_frames(speech)) >= 1
        # A second speaker who never agreed: their audio must not reach the engine.
        assert pipeline.feed("main", "p_b", vad_frames(speech, start=0.0)) == 0
        final = await out.wait_for(lambda o: isinstance(o, CaptionEvent) and o.final, 60.0)
        assert isinstance(final, CaptionEvent)
        words = final.text.lower()
        for keyword in ("group", "meet", "thursday", "afternoon", "sleep"):
            assert keyword in words, final.text
        assert final.speaker == "p_a" and final.room == "main"
        assert 0.1 < final.start < 0.6 and final.end > 3.0
        assert all(c.speaker == "p_a" for c in out.captions)
        assert any(isinstance(s, EngineStatus) and s.state is EngineState.RUNNING for s in out.seen)
    finally:
        await engine.close()
