"""The slow-consumer guard: pause after sustained loss, probe later, back off."""

from __future__ import annotations

from media.congestion import CongestionGuard, CongestionSettings, VideoState


def run(guard: CongestionGuard, start: float, seconds: int, sent: int, lost: int) -> float:
    for t in range(seconds):
        guard.update(start + t, sent, lost)
    return start + seconds


def test_short_loss_is_tolerated_and_sustained_loss_pauses_video() -> None:
    guard = CongestionGuard("p1")
    t = run(guard, 0, 3, sent=300, lost=90)
    t = run(guard, t, 1, sent=300, lost=0)
    assert guard.state is VideoState.FLOWING
    t = run(guard, t, 3, sent=300, lost=45)  # 15%: tolerated
    assert guard.state is VideoState.FLOWING
    run(guard, t, 4, sent=300, lost=75)
    assert guard.video_paused


def test_quiet_seconds_say_nothing() -> None:
    guard = CongestionGuard("p1")
    run(guard, 0, 10, sent=10, lost=10)
    assert guard.state is VideoState.FLOWING


def test_a_good_probe_restores_and_a_bad_one_backs_off() -> None:
    settings = CongestionSettings(hold_s=8, probe_s=10)
    guard = CongestionGuard("p1", settings)
    t = run(guard, 0, 4, sent=300, lost=100)
    assert guard.video_paused
    t = run(guard, t, 8, sent=0, lost=0)  # paused: nothing is sent
    assert guard.state is VideoState.PROBING
    t = run(guard, t, 1, sent=300, lost=90)  # still lossy: paused again, longer
    assert guard.video_paused
    t = run(guard, t, 15, sent=0, lost=0)
    assert guard.video_paused  # the hold doubled to 16 s
    t = run(guard, t, 2, sent=0, lost=0)
    assert guard.state is VideoState.PROBING
    run(guard, t, 11, sent=300, lost=3)
    assert guard.state.value == "flowing"
