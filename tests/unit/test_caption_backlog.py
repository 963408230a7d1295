"""The bounded backlog: stale partials go first, then a speaker's queued utterances are
merged, then the oldest is dropped; every step is counted."""

from __future__ import annotations

from server.captions import SpeechSegment
from server.captions.backlog import Backlog

SECOND = bytes(32_000)


def seg(utterance: str, speaker: str = "p1", final: bool = True, seconds: int = 1) -> SpeechSegment:
    return SpeechSegment("main", speaker, utterance, 0.0, float(seconds), SECOND * seconds, final)


def test_a_partial_waits_only_when_nothing_else_does() -> None:
    backlog = Backlog(4, 25.0)
    backlog.push(seg("p1.1", final=False))
    backlog.push(seg("p1.1", final=False))  # replaces the first
    assert len(backlog) == 1 and backlog.metrics.dropped_partials == 1
    backlog.push(seg("p2.1", "p2"))
    backlog.push(seg("p3.1", "p3", final=False))  # something waits: not worth it
    assert len(backlog) == 2 and backlog.metrics.dropped_partials == 2
    backlog.push(seg("p1.1"))  # the final replaces its queued partial
    assert [s.utterance_id for s in iter(backlog.pop, None)] == ["p2.1", "p1.1"]
    assert backlog.metrics.dropped_partials == 3 and backlog.metrics.queued == 0


def test_overflow_merges_one_speakers_utterances() -> None:
    backlog = Backlog(2, 25.0)
    backlog.push(seg("p1.1"))
    backlog.push(seg("p2.1", "p2"))
    backlog.push(seg("p1.2"))
    assert len(backlog) == 2 and backlog.metrics.merged == 1 and backlog.metrics.dropped == 0
    merged = backlog.pop()
    assert merged is not None
    assert merged.utterance_id == "p1.1" and merged.replaces == ("p1.2",)
    assert merged.duration_s == 2.3  # both, with 0.3 s of silence between
    assert backlog.metrics.queued == 1


def test_overflow_drops_the_oldest_when_nothing_can_merge() -> None:
    backlog = Backlog(2, 25.0)
    for speaker in ("p1", "p2", "p3"):
        backlog.push(seg(f"{speaker}.1", speaker))
    assert [s.utterance_id for s in iter(backlog.pop, None)] == ["p2.1", "p3.1"]
    assert backlog.metrics.dropped == 1 and backlog.metrics.merged == 0


def test_merging_stays_inside_the_engine_window() -> None:
    backlog = Backlog(1, 10.0)
    backlog.push(seg("p1.1", seconds=6))
    backlog.push(seg("p1.2", seconds=6))
    assert backlog.metrics.merged == 0 and backlog.metrics.dropped == 1
    assert len(backlog) == 1


def test_a_queued_partial_is_shed_before_any_final() -> None:
    backlog = Backlog(1, 25.0)
    backlog.push(seg("p1.1", final=False))
    backlog.push(seg("p2.1", "p2"))
    assert [s.utterance_id for s in iter(backlog.pop, None)] == ["p2.1"]
    assert backlog.metrics.dropped_partials == 1 and backlog.metrics.dropped == 0


def test_a_declined_speakers_audio_leaves_the_queue() -> None:
    backlog = Backlog(4, 25.0)
    backlog.push(seg("p1.1"))
    backlog.push(seg("p2.1", "p2"))
    assert backlog.drop_speaker("p1") == 1
    assert [s.speaker for s in iter(backlog.pop, None)] == ["p2"]
