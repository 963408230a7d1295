"""The lean load generator's bookkeeping: payload chunks, trailers, frames, delivery."""

from __future__ import annotations

import struct

from bench.forwarding.clips import Clip
from bench.forwarding.lean_results import delivery, merged_latency, percentile
from bench.forwarding.lean_streams import (
    MAGIC,
    TRAILER,
    ReceiveTally,
    Window,
    split_frames,
    stream_id,
    stream_name,
)


def _packet(sid: int, frame: int, index: int, count: int, sent_ns: int) -> bytes:
    header = struct.pack("!BBHII", 0x80, 96, index, 0, 1234)
    return header + b"payload" + TRAILER.pack(MAGIC, sid, frame, index, count, sent_ns)


def test_video_frames_are_cut_into_chunks_that_join_back() -> None:
    frames = (b"k" * 2500, b"d" * 300)
    clip = Clip("video", frames, (0,), 90_000, 3000)
    chunks = split_frames(clip)
    assert [len(c) for c in chunks] == [3, 1]
    assert tuple(b"".join(c) for c in chunks) == frames
    assert max(len(part) for part in chunks[0]) <= 1100


def test_a_frame_counts_once_all_its_packets_arrived_and_duplicates_do_not_recount() -> None:
    window = Window(start_ns=1_000, end_ns=2_000)
    tally = ReceiveTally(window)
    video = stream_id(3, "video")
    tally.count(1, _packet(video, 7, 0, 2, 1_500), 1_600)
    assert tally.frames[(1, video)] == 0
    tally.count(1, _packet(video, 7, 1, 2, 1_500), 1_700)
    tally.count(1, _packet(video, 7, 1, 2, 1_500), 1_800)  # a retransmission
    assert tally.frames[(1, video)] == 1
    tally.count(1, _packet(video, 8, 0, 1, 5_000), 5_100)  # sent after the window
    assert tally.frames[(1, video)] == 1
    assert (1, video) in tally.seen
    assert stream_name(video) == (3, "video")


def test_untagged_packets_are_counted_apart() -> None:
    tally = ReceiveTally(Window(0, 10))
    tally.count(0, struct.pack("!BBHII", 0x80, 96, 1, 0, 1) + b"x" * 40, 5)
    assert tally.untagged == 1 and not tally.seen


def test_delivery_and_latency_add_up_over_generators() -> None:
    audio0, audio1 = stream_id(0, "audio"), stream_id(1, "audio")
    reports = [
        {
            "sent": {str(audio0): [100, 100]},
            "received": {f"1,{audio0}": 100},
            "latency": [{"0": 90, "10": 10}, {}, {}],
            "packets_received": 100,
        },
        {
            "sent": {str(audio1): [100, 100]},
            "received": {f"0,{audio1}": 50},
            "latency": [{"0": 50}, {}, {}],
            "packets_received": 50,
        },
    ]
    share, worst, _video, packets = delivery(2, reports)
    assert (share, worst, packets) == (0.75, 0.5, 150)
    histogram = merged_latency(reports)
    assert sum(histogram.values()) == 150
    assert percentile(histogram, 0.5) < percentile(histogram, 0.99)
