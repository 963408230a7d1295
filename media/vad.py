"""One mic's decode and VAD: RTP packets in, 30 ms `VoiceFrame`s on its media clock out.

A `MicStream` lives in the audio tap's worker and is only ever used from there. It
puts each batch of packets in sequence order (late packets and duplicates are
dropped: the reorder window is the batch, about 100 ms), unwraps RTP timestamps,
decodes with libopus straight to 16 kHz and cuts the audio into 480-sample frames
for webrtcvad. Frames never span a gap: a lost packet, a DTX gap or an undecodable
packet ends the current run of audio (its last partial frame is dropped) and
nothing is invented for the missing time, PLC included.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import webrtcvad

from .opus import OpusDecoder, OpusError
from .voice import FRAME_BYTES, RTP_CLOCK, SAMPLE_RATE, VoiceFrame, level_dbfs

log = logging.getLogger(__name__)

TapPacket = tuple[int, int, int, bytes, float]
"""(SSRC, sequence number, RTP timestamp, payload, arrival on the media clock)."""

# A timestamp jump longer than this is a publisher restart, not a pause: re-anchor.
REANCHOR_JUMP_S = 5.0
_REANCHOR_TICKS = int(REANCHOR_JUMP_S * RTP_CLOCK)
_TICKS_PER_SAMPLE = RTP_CLOCK // SAMPLE_RATE  # 3: Opus RTP time is always 48 kHz
_FRAME_TICKS = FRAME_BYTES // 2 * _TICKS_PER_SAMPLE
# Opus DTX sends packets of one or two bytes (TOC only) for silence: decoding them
# would only give comfort noise or PLC, never voice, so they count as a gap.
DTX_MAX_BYTES = 2
DEFAULT_VAD_MODE = 2


@dataclass
class StreamCounters:
    """What mic streams did and skipped: late or repeated packets, DTX, undecodable packets."""

    packets: int = 0
    late: int = 0
    dtx: int = 0
    undecodable: int = 0
    reanchors: int = 0
    frames: int = 0


def _signed(delta: int, bits: int) -> int:
    half = 1 << (bits - 1)
    return ((delta + half) & ((1 << bits) - 1)) - half


class MicStream:
    """Decode + VAD state of one mic (one decoder, whatever its subscriber count)."""

    def __init__(
        self,
        counters: StreamCounters,
        vad_mode: int = DEFAULT_VAD_MODE,
    ) -> None:
        self._decoder = OpusDecoder()
        self._vad = webrtcvad.Vad(vad_mode)
        self._ssrc: int | None = None
        self._last_seq = 0  # extended (no wrap) sequence number of the last packet used
        self._last_raw_ts = 0
        self._last_ts = 0  # extended RTP time since the anchor, 48 kHz ticks
        self._anchor = 0.0
        # Audio decoded but not yet framed, starting at `_run_start` (ticks since the
        # anchor); `_run_end` is where the next packet must start to continue it.
        self._pcm = bytearray()
        self._run_start = 0
        self._run_end: int | None = None
        self._logged_undecodable = False
        # Shared by every stream of a tap: only the tap's worker writes them.
        self.counters = counters

    def process(self, packets: Sequence[TapPacket], capture: bool) -> list[VoiceFrame]:
        """Frames of this batch, in order; PCM attached only when `capture`."""
        frames: list[VoiceFrame] = []
        for run in self._runs_by_ssrc(packets):
            for packet in self._in_order(run):
                self._take(packet, capture, frames)
        self.counters.frames += len(frames)
        return frames

    def close(self) -> None:
        """Free the decoder."""
        self._decoder.close()

    # -- ordering -------------------------------------------------------------------

    def _runs_by_ssrc(self, packets: Sequence[TapPacket]) -> list[list[TapPacket]]:
        runs: list[list[TapPacket]] = []
        for packet in packets:
            if runs and runs[-1][0][0] == packet[0]:
                runs[-1].append(packet)
            else:
                runs.append([packet])
        return runs

    def _in_order(self, run: list[TapPacket]) -> list[TapPacket]:
        """The run sorted by sequence number, without packets already used or repeated."""
        self.counters.packets += len(run)
        ssrc = run[0][0]
        if ssrc != self._ssrc:
            # A new stream (first packet, or the publisher restarted): new numbering.
            restart = self._ssrc is not None
            if restart:
                log.info("mic stream: SSRC changed, re-anchoring")
            self._ssrc = ssrc
            first_seq = min(run, key=lambda p: _signed(p[1] - run[0][1], 16))[1]
            self._last_seq = first_seq - 1
            self._start_stream(run[0], restart)
        reference = self._last_seq
        keyed = sorted(
            ((reference + _signed(p[1] - reference, 16), p) for p in run), key=lambda kp: kp[0]
        )
        ordered: list[TapPacket] = []
        for seq, packet in keyed:
            if seq <= self._last_seq:
                self.counters.late += 1
                continue
            self._last_seq = seq
            ordered.append(packet)
        return ordered

    def _start_stream(self, packet: TapPacket, restart: bool) -> None:
        """Anchor the media clock at this packet's arrival (a restart also resets the
        decoder: the new stream's first packets owe nothing to the old one)."""
        if restart:
            self._decoder.reset()
            self.counters.reanchors += 1
        self._anchor = packet[4]
        self._last_raw_ts = packet[2]
        self._last_ts = 0
        self._end_run()

    # -- audio ------------------------------------------------------------------------

    def _take(self, packet: TapPacket, capture: bool, frames: list[VoiceFrame]) -> None:
        _ssrc, _seq, raw_ts, payload, _arrival = packet
        delta = _signed(raw_ts - self._last_raw_ts, 32)
        if abs(delta) > _REANCHOR_TICKS:
            log.info("mic stream: RTP time jumped %.1f s, re-anchoring", delta / RTP_CLOCK)
            self._start_stream(packet, restart=True)
            delta = 0
        self._last_raw_ts = raw_ts
        self._last_ts += delta
        start = self._last_ts
        if len(payload) <= DTX_MAX_BYTES:
            self.counters.dtx += 1
            self._end_run()
            return
        try:
            pcm = self._decoder.decode(payload)
        except OpusError as exc:
            self.counters.undecodable += 1
            if not self._logged_undecodable:
                self._logged_undecodable = True
                log.warning("mic stream: undecodable packet (%s); counted as silence", exc)
            self._end_run()
            return
        if start != self._run_end:
            self._end_run()
            self._run_start = start
        self._pcm += pcm
        self._run_end = start + len(pcm) // 2 * _TICKS_PER_SAMPLE
        self._cut_frames(capture, frames)

    def _cut_frames(self, capture: bool, frames: list[VoiceFrame]) -> None:
        used = 0
        with memoryview(self._pcm) as view:
            while len(view) - used >= FRAME_BYTES:
                frame = view[used : used + FRAME_BYTES]
                frames.append(
                    VoiceFrame(
                        start=self._anchor + self._run_start / RTP_CLOCK,
                        voiced=self._vad.is_speech(frame, SAMPLE_RATE),
                        level_dbfs=level_dbfs(frame),
                        pcm=bytes(frame) if capture else None,
                    )
                )
                frame.release()
                used += FRAME_BYTES
                self._run_start += _FRAME_TICKS
        if used:
            del self._pcm[:used]

    def _end_run(self) -> None:
        """The audio stops being contiguous: drop the partial frame."""
        self._pcm.clear()
        self._run_end = None
