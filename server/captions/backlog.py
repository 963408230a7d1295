"""The bounded queue in front of a slow engine: partials only while it keeps up, then
merging a speaker's queued utterances, then dropping the oldest. Pure."""

from __future__ import annotations

from collections import deque
from dataclasses import replace

from .model import BYTES_PER_SECOND, EngineMetrics, SpeechSegment

# Silence put between merged utterances, so the engine hears two sentences.
_MERGE_GAP = bytes(int(0.3 * BYTES_PER_SECOND))


class Backlog:
    """Segments waiting for an engine, never more than `max_segments`.

    A partial is kept only when nothing else waits (it is stale once anything newer
    is queued) and is replaced by the next partial or the final of its utterance.
    When finals overflow, the oldest two of one speaker are merged (one engine call
    instead of two), and when no two can be merged the oldest is dropped.
    """

    def __init__(
        self, max_segments: int, max_merged_s: float, metrics: EngineMetrics | None = None
    ) -> None:
        if max_segments < 1:
            raise ValueError("max_segments must be at least 1")
        self.max_segments = max_segments
        self.max_merged_s = max_merged_s
        self.metrics = metrics or EngineMetrics()
        self._queue: deque[SpeechSegment] = deque()

    def __len__(self) -> int:
        return len(self._queue)

    def push(self, segment: SpeechSegment) -> None:
        """Queue `segment`, shedding load as described above."""
        self.metrics.submitted += 1
        self._drop_partials_of(segment.utterance_id)
        if not segment.final:
            if self._queue:
                self.metrics.dropped_partials += 1
            else:
                self._queue.append(segment)
            self._count()
            return
        self._queue.append(segment)
        while len(self._queue) > self.max_segments:
            self._shed()
        self._count()

    def pop(self) -> SpeechSegment | None:
        """The oldest waiting segment, or None."""
        segment = self._queue.popleft() if self._queue else None
        self._count()
        return segment

    def drop_speaker(self, speaker: str) -> int:
        """Forget every queued segment of `speaker` (they declined); how many went."""
        kept = [s for s in self._queue if s.speaker != speaker]
        gone = len(self._queue) - len(kept)
        self._queue = deque(kept)
        self._count()
        return gone

    def _count(self) -> None:
        self.metrics.queued = len(self._queue)

    def _drop_partials_of(self, utterance_id: str) -> None:
        stale = [s for s in self._queue if not s.final and s.utterance_id == utterance_id]
        for segment in stale:
            self._queue.remove(segment)
            self.metrics.dropped_partials += 1

    def _shed(self) -> None:
        partial = next((s for s in self._queue if not s.final), None)
        if partial is not None:
            self._queue.remove(partial)
            self.metrics.dropped_partials += 1
            return
        if self._merge_oldest_pair():
            self.metrics.merged += 1
            return
        self._queue.popleft()
        self.metrics.dropped += 1

    def _merge_oldest_pair(self) -> bool:
        """Merge the oldest pair of queued finals of one speaker in one room that fits
        the engine's window; the result takes the earlier one's place."""
        items = list(self._queue)
        for i, first in enumerate(items):
            for j in range(i + 1, len(items)):
                second = items[j]
                if (second.speaker, second.room) != (first.speaker, first.room):
                    continue
                if first.duration_s + second.duration_s + 0.3 > self.max_merged_s:
                    continue
                items[i] = merge(first, second)
                del items[j]
                self._queue = deque(items)
                return True
        return False


def merge(first: SpeechSegment, second: SpeechSegment) -> SpeechSegment:
    """One final segment with the audio of both; its caption replaces both utterances."""
    return replace(
        first,
        end=second.end,
        pcm=first.pcm + _MERGE_GAP + second.pcm,
        final=True,
        replaces=(*first.replaces, second.utterance_id, *second.replaces),
    )
