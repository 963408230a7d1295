"""Every tunable of speaking measurement, metrics and cues, in one frozen object."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SpeakingSettings:
    """Defaults are the documented tuning (docs/SPEAKING.md); all times in seconds."""

    # -- frames and smoothing (per stream) --
    frame_s: float = 0.030
    # Gaps up to this long between voiced frames are bridged into one interval.
    hangover_s: float = 0.300
    # A bridged burst with less voiced content than this is dropped (clicks, coughs).
    min_burst_s: float = 0.120

    # A voiced frame must be this far above its mic's noise level (learned from the
    # frames the VAD calls unvoiced) to count: webrtcvad fires on noise. 0: off.
    noise_margin_db: float = 3.0
    # The noise level becomes an exponential average over about this many frames.
    noise_memory_frames: int = 300
    # A voiced frame this far below its mic's typical speech level is not speech (the
    # VAD's own hangover on near-silence); 0: off. Applies once the typical level is
    # trusted (`typical_full_frames`).
    voice_floor_db: float = 25.0

    # -- cross-stream attribution (echo and crosstalk) --
    # Another stream voiced within this much of a frame may explain it as echo.
    echo_window_s: float = 0.300
    # The other stream must be louder by at least this (after normalisation) to win.
    echo_margin_db: float = 10.0
    # 0 compares raw dBFS; 1 compares each stream against its own typical speech level.
    normalise_weight: float = 1.0
    # Normalisation never moves a comparison by more than this.
    normalise_max_db: float = 20.0
    # Solo voiced frames needed before a stream's typical level is fully trusted.
    typical_full_frames: int = 100
    # The typical level becomes an exponential average over about this many frames.
    typical_memory_frames: int = 1000
    # Frames are decided once every stream has passed them, or this long after `now`.
    lag_timeout_s: float = 1.0

    # -- ledger record --
    # Intervals that ended this long ago are merged at turn gaps (totals stay exact).
    fold_after_s: float = 1800.0

    # -- metrics --
    window_s: float = 600.0
    # Runs of talk separated by up to this much silence form one run ...
    turn_gap_s: float = 0.5
    # ... and a run at least this long is a turn; shorter runs are backchannels.
    min_turn_s: float = 1.0
    # A turn that starts while another's turn goes on, which then ends within this
    # long, is an interruption (the other yielded the floor).
    interruption_yield_s: float = 2.0

    # -- cues --
    not_spoken_after_s: float = 300.0
    # Someone has "spoken" once their talk adds up to this much: a stray noise burst
    # or a lone "mm" does not take them off the not-yet-spoken list.
    spoken_min_s: float = 1.0
    quiet_after_s: float = 900.0
    dominance_min_ratio: float = 2.0
    dominance_min_share: float = 0.25
    # Patient talk in the window below this is too little to judge dominance or balance.
    min_window_talk_s: float = 60.0
    min_group_size: int = 3
    monologue_s: float = 180.0
    # A turn still counts as going on if it ended at most this long before `now`.
    turn_recent_s: float = 5.0
    low_balance_entropy: float = 0.6
    facilitator_share_max: float = 0.6
    # After a cue appeared, the same person and kind stay quiet for this long.
    cue_min_interval_s: float = 120.0
    # A dismissed cue stays quiet this long ...
    dismiss_quiet_s: float = 600.0
    # ... unless its severity grows by this fraction over what was dismissed.
    dismiss_worse_ratio: float = 0.25
