"""The segmenter: utterances end on silence, short gaps are bridged, long ones are cut
at the quietest point, partials grow, missing frames count as silence."""

from __future__ import annotations

from array import array

import pytest

from server.captions import FRAME_BYTES, FRAME_S, Segmenter, SegmenterConfig, VoiceFrame

LOUD = array("h", [3000, -3000] * (FRAME_BYTES // 4)).tobytes()
SOFT = array("h", [300, -300] * (FRAME_BYTES // 4)).tobytes()
QUIET = bytes(FRAME_BYTES)


def frames(pattern: str, start: float = 0.0) -> list[VoiceFrame]:
    """'V' voiced loud, 's' voiced soft, '.' unvoiced quiet; one 30 ms frame each."""
    pcm = {"V": LOUD, "s": SOFT, ".": QUIET}
    return [VoiceFrame(start + i * FRAME_S, c in "Vs", pcm=pcm[c]) for i, c in enumerate(pattern)]


def run(segmenter: Segmenter, items: list[VoiceFrame]) -> list:  # type: ignore[type-arg]
    out = []
    for frame in items:
        out += segmenter.push(frame)
    return out


def no_partials() -> SegmenterConfig:
    return SegmenterConfig(partial_every_s=None)


def test_silence_ends_an_utterance_with_preroll_and_tail() -> None:
    seg = Segmenter("main", "p1", no_partials())
    # 0.6 s silence, 1.5 s speech, then 0.6 s silence (20 frames).
    out = run(seg, frames("." * 20 + "V" * 50 + "." * 19))
    assert out == []  # 19 silent frames = 0.57 s: not yet
    out = seg.push(VoiceFrame(89 * FRAME_S, False, pcm=QUIET))
    assert len(out) == 1
    utterance = out[0]
    assert utterance.final and utterance.room == "main" and utterance.speaker == "p1"
    # 0.3 s of preroll before the first voiced frame at 0.6 s, 0.15 s tail after 2.1 s.
    assert utterance.start == pytest.approx(0.3)
    assert utterance.end == pytest.approx(2.25)
    assert len(utterance.pcm) == round((2.25 - 0.3) / FRAME_S) * FRAME_BYTES
    assert not seg.in_utterance


def test_short_gaps_are_bridged_and_each_utterance_gets_its_own_id() -> None:
    seg = Segmenter("main", "p1", no_partials())
    out = run(seg, frames("V" * 20 + "." * 15 + "V" * 20 + "." * 20 + "V" * 20 + "." * 20))
    assert [u.utterance_id for u in out] == ["p1.1", "p1.2"]
    assert out[0].end - out[0].start > 1.6  # both halves around the 0.45 s gap


def test_clicks_are_not_utterances() -> None:
    seg = Segmenter("main", "p1", no_partials())
    assert run(seg, frames("..VV" + "." * 30)) == []


def test_long_utterance_is_cut_at_its_quietest_point() -> None:
    seg = Segmenter("main", "p1", SegmenterConfig(partial_every_s=None, max_utterance_s=3.0))
    # 3 s of speech with one soft (still voiced) frame at 2.4 s: no unvoiced frame.
    pattern = "V" * 80 + "s" + "V" * 19 + "." * 20
    out = run(seg, frames(pattern))
    assert len(out) == 2
    first, second = out
    assert first.end == pytest.approx(81 * FRAME_S)
    assert second.start == pytest.approx(81 * FRAME_S)
    assert first.utterance_id != second.utterance_id and first.final and second.final


def test_long_utterance_prefers_an_unvoiced_frame() -> None:
    seg = Segmenter("main", "p1", SegmenterConfig(partial_every_s=None, max_utterance_s=3.0))
    pattern = "V" * 60 + "." + "V" * 29 + "s" + "V" * 9 + "." * 20
    out = run(seg, frames(pattern))
    assert out[0].end == pytest.approx(61 * FRAME_S)


def test_partials_grow_and_share_the_final_utterance_id() -> None:
    seg = Segmenter("main", "p1", SegmenterConfig(partial_every_s=1.5))
    out = run(seg, frames("V" * 110 + "." * 20))
    partials = [u for u in out if not u.final]
    finals = [u for u in out if u.final]
    assert [round(p.duration_s, 2) for p in partials] == [1.5, 3.0]
    assert len(finals) == 1
    assert {p.utterance_id for p in partials} == {finals[0].utterance_id}


def test_missing_frames_are_silence() -> None:
    seg = Segmenter("main", "p1", no_partials())
    # A 0.21 s hole inside speech is filled with zeros, keeping time and length aligned.
    out = run(seg, frames("V" * 20) + frames("V" * 20 + "." * 20, start=27 * FRAME_S))
    assert len(out) == 1
    assert len(out[0].pcm) == round((out[0].end - out[0].start) / FRAME_S) * FRAME_BYTES
    assert out[0].pcm[20 * FRAME_BYTES : 27 * FRAME_BYTES] == bytes(7 * FRAME_BYTES)
    # A hole as long as the end silence ends the utterance before the next frame.
    seg2 = Segmenter("main", "p1", no_partials())
    out = run(seg2, frames("V" * 20) + frames("V" * 20, start=2.0))
    assert len(out) == 1 and out[0].end == pytest.approx(20 * FRAME_S)


def test_idle_media_time_ends_the_utterance() -> None:
    seg = Segmenter("main", "p1", no_partials())
    run(seg, frames("V" * 20))
    assert seg.idle(0.6 + 0.5) == []
    out = seg.idle(0.6 + 0.6)
    assert len(out) == 1 and out[0].final


def test_frames_without_audio_end_the_utterance_and_are_never_included() -> None:
    seg = Segmenter("main", "p1", no_partials())
    out = run(seg, frames("V" * 20))
    out += seg.push(VoiceFrame(20 * FRAME_S, True))
    out += run(seg, [VoiceFrame((21 + i) * FRAME_S, True) for i in range(40)])
    assert len(out) == 1 and out[0].end <= 20 * FRAME_S + 1e-9


def test_flush_ends_the_open_utterance() -> None:
    seg = Segmenter("main", "p1", no_partials())
    run(seg, frames("V" * 20))
    out = seg.flush()
    assert len(out) == 1 and out[0].final and not seg.in_utterance
    assert seg.flush() == []
