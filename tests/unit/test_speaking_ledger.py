"""The speaking ledger: smoothing, echo attribution, mute, moves, record."""

from __future__ import annotations

import json

import pytest

from server.domain.speaking import Category, SpeakingLedger, SpeakingSettings, TalkGroup
from server.domain.speaking.metrics import speaking_report

from .speaking_helpers import MAIN, feed, group, spans, talk, total


def decided(ledger: SpeakingLedger, now: float = 100.0) -> SpeakingLedger:
    ledger.advance(now)
    return ledger


def test_gaps_up_to_the_hangover_are_bridged_longer_ones_are_not() -> None:
    ledger = SpeakingLedger()
    group(ledger, "a", "b")
    feed(ledger, "a", talk(0.0, 0.6), talk(0.9, 1.5), talk(2.1, 2.7), talk(3.03, 3.6))
    decided(ledger)
    # 0.3 s gap bridged; 0.6 s gap not; 0.33 s gap (just over the hangover) not.
    assert spans(ledger, "a") == [(0.0, 1.5), (2.1, 2.7), (3.03, 3.6)]
    assert total(ledger, "a") == pytest.approx(1.5 + 0.6 + 0.57)


def test_short_bursts_are_dropped_by_voiced_content() -> None:
    ledger = SpeakingLedger()
    group(ledger, "a", "b")
    # 90 ms alone: dropped; 120 ms: kept; two 30 ms clicks 0.27 s apart bridge to a
    # 0.33 s span but hold only 60 ms of voice: dropped.
    feed(ledger, "a", talk(0.0, 0.09), talk(5.0, 5.12), talk(10.0, 10.03), talk(10.3, 10.33))
    decided(ledger)
    assert spans(ledger, "a") == [(5.0, 5.12)]


def test_unvoiced_frames_and_missing_frames_are_silence() -> None:
    ledger = SpeakingLedger()
    group(ledger, "a", "b")
    # Unvoiced frames at a quiet room's level (they also teach the mic's noise level).
    feed(ledger, "a", talk(0.0, 1.2), talk(1.2, 3.0, -60.0, voiced=False), talk(4.2, 5.4))
    decided(ledger)
    assert spans(ledger, "a") == [(0.0, 1.2), (4.2, 5.4)]


def test_voiced_frames_at_the_mics_noise_level_are_silence() -> None:
    ledger = SpeakingLedger()
    group(ledger, "a", "b")
    # A noisy mic (-33 dBFS between words): webrtcvad calls some noise voiced; the
    # owner's speech is well above it.
    feed(
        ledger,
        "a",
        talk(0.0, 3.0, -33.0, voiced=False),
        talk(3.0, 6.0, -32.0),
        talk(6.0, 9.0, -33.0, voiced=False),
        talk(9.0, 11.1, -22.0),
    )
    decided(ledger)
    assert spans(ledger, "a") == [(9.0, 11.1)]
    assert ledger.echo_frames("a") == 0


def test_without_a_noise_margin_vad_noise_counts_as_talk() -> None:
    ledger = SpeakingLedger(SpeakingSettings(noise_margin_db=0.0))
    group(ledger, "a", "b")
    feed(ledger, "a", talk(0.0, 3.0, -33.0, voiced=False), talk(3.0, 6.0, -32.0))
    decided(ledger)
    assert spans(ledger, "a") == [(3.0, 6.0)]


def tail_after_speech(settings: SpeakingSettings) -> SpeakingLedger:
    ledger = SpeakingLedger(settings)
    group(ledger, "a", "b")
    # 3 s of speech teaches a's level (-25) ...
    feed(ledger, "a", talk(0.0, 3.0, -25.0))
    ledger.advance(4.5)
    # ... then webrtcvad's hangover marks near-silence (-80) voiced after an utterance.
    feed(ledger, "a", talk(3.0, 3.15, -80.0), talk(5.0, 6.2, -25.0), talk(6.2, 6.35, -80.0))
    return decided(ledger)


def test_voiced_frames_far_below_the_owners_speech_are_silence() -> None:
    assert spans(tail_after_speech(SpeakingSettings()), "a") == [(0.0, 3.0), (5.0, 6.2)]


def test_without_a_voice_floor_the_vad_hangover_counts_as_talk() -> None:
    ledger = tail_after_speech(SpeakingSettings(voice_floor_db=0.0))
    assert spans(ledger, "a") == [(0.0, 3.15), (5.0, 6.35)]


def test_echo_of_a_louder_mic_is_not_credited() -> None:
    ledger = SpeakingLedger()
    group(ledger, "a", "b")
    feed(ledger, "a", talk(0.0, 3.0, -20.0))
    # b's speakers play a's voice into b's mic 120 ms later, 25 dB down.
    feed(ledger, "b", talk(0.12, 3.12, -45.0))
    decided(ledger)
    assert total(ledger, "a") == pytest.approx(3.0)
    assert total(ledger, "b") == 0.0
    assert ledger.echo_frames("b") == 100


def test_a_real_overlap_at_comparable_levels_is_credited_to_both() -> None:
    ledger = SpeakingLedger()
    group(ledger, "a", "b")
    feed(ledger, "a", talk(0.0, 3.0, -20.0))
    feed(ledger, "b", talk(1.5, 2.4, -24.0))
    decided(ledger)
    assert total(ledger, "a") == pytest.approx(3.0)
    assert spans(ledger, "b") == [(1.5, 2.4)]


def test_a_quiet_speaker_alone_is_credited() -> None:
    ledger = SpeakingLedger()
    group(ledger, "a", "q")
    feed(ledger, "a", talk(0.0, 2.1, -20.0), talk(6.0, 8.1, -20.0))
    feed(ledger, "q", talk(3.0, 5.4, -55.0))
    decided(ledger)
    assert spans(ledger, "q") == [(3.0, 5.4)]


def quiet_overlap(weight: float) -> SpeakingLedger:
    ledger = SpeakingLedger(SpeakingSettings(normalise_weight=weight))
    group(ledger, "loud", "q")
    # Each speaks alone long enough for their typical level to be learned ...
    feed(ledger, "loud", talk(0.0, 4.5, -20.0), talk(10.0, 12.1, -20.0))
    # ... then the quiet one (a mic 22 dB lower) talks over the loud one.
    feed(ledger, "q", talk(5.0, 9.5, -42.0), talk(10.5, 11.7, -42.0))
    return decided(ledger)


def test_normalising_by_typical_level_keeps_a_quiet_speakers_overlap() -> None:
    ledger = quiet_overlap(weight=1.0)
    typical = ledger.typical_level("q")
    assert typical is not None and typical.dbfs == pytest.approx(-42.0)
    assert spans(ledger, "q") == [(5.0, 9.5), (10.5, 11.7)]


def test_without_normalisation_a_quiet_speakers_overlap_counts_as_echo() -> None:
    ledger = quiet_overlap(weight=0.0)
    assert spans(ledger, "q") == [(5.0, 9.5)]


def test_a_silent_mic_never_learns_echo_as_its_own_level() -> None:
    ledger = SpeakingLedger()
    group(ledger, "a", "silent")
    feed(ledger, "a", talk(0.0, 30.0, -20.0))
    feed(ledger, "silent", talk(0.09, 30.09, -38.0))
    decided(ledger)
    assert total(ledger, "silent") == 0.0
    typical = ledger.typical_level("silent")
    assert typical is None or typical.frames == 0


def test_other_rooms_never_explain_a_frame() -> None:
    ledger = SpeakingLedger()
    group(ledger, "a", "b")
    ledger.moved("b", 0.0, "breakout-1")
    feed(ledger, "a", talk(0.0, 3.0, -20.0))
    feed(ledger, "b", talk(0.12, 3.12, -45.0))
    decided(ledger)
    assert total(ledger, "b") == pytest.approx(3.0)


def test_frames_wait_until_every_mic_has_passed_them() -> None:
    ledger = SpeakingLedger()
    group(ledger, "a", "b")
    # a's echo arrives first; b's own (louder) speech comes in a later batch.
    feed(ledger, "a", talk(0.12, 2.22, -45.0))
    ledger.advance(1.0)
    assert ledger.horizon < 0.0
    feed(ledger, "b", talk(0.0, 2.1, -20.0))
    decided(ledger)
    assert total(ledger, "a") == 0.0
    assert total(ledger, "b") == pytest.approx(2.1)


def test_a_mic_that_stays_silent_holds_decisions_back_only_until_the_lag_timeout() -> None:
    ledger = SpeakingLedger()
    group(ledger, "a", "b")
    feed(ledger, "a", talk(0.0, 5.1))
    ledger.advance(4.0)
    assert ledger.horizon == pytest.approx(4.0 - 1.0 - 0.3)


def test_a_muted_mic_accrues_nothing() -> None:
    ledger = SpeakingLedger()
    group(ledger, "a", "b")
    ledger.set_muted("a", 1.2, True)
    ledger.set_muted("a", 2.4, False)
    feed(ledger, "a", talk(0.0, 3.6))
    decided(ledger)
    assert spans(ledger, "a") == [(0.0, 1.2), (2.4, 3.6)]


def test_reconnect_and_room_move_keep_the_persons_totals() -> None:
    ledger = SpeakingLedger()
    group(ledger, "a", "b")
    feed(ledger, "a", talk(0.0, 2.1))
    ledger.left("a", 2.5)
    feed(ledger, "a", talk(3.0, 4.5))  # frames while away (a stale stream): not counted
    ledger.joined("a", 5.0, MAIN, TalkGroup.PATIENT)
    feed(ledger, "a", talk(6.0, 8.1))
    ledger.moved("a", 10.0, "breakout-1")
    feed(ledger, "a", talk(11.0, 13.1))
    decided(ledger)
    by_room = {room: sum(sp.talk for sp in xs) for (room, _), xs in ledger.spans("a").items()}
    assert by_room == pytest.approx({MAIN: 4.2, "breakout-1": 2.1})
    report = speaking_report(ledger, 20.0)
    assert report.whole.session.people["a"].talk_s == pytest.approx(6.3)
    assert report.whole.rooms["breakout-1"].people["a"].talk_s == pytest.approx(2.1)
    assert report.whole.session.people["a"].present_s == pytest.approx(2.5 + 15.0)


def test_presenter_and_facilitator_talk_are_kept_apart() -> None:
    ledger = SpeakingLedger()
    group(ledger, "a", facilitators=("t",))
    ledger.set_presenting("a", 3.0, True)
    feed(ledger, "a", talk(0.0, 1.5), talk(3.0, 6.0))
    feed(ledger, "t", talk(8.0, 9.5))
    decided(ledger)
    keys = {key: sum(sp.talk for sp in xs) for key, xs in ledger.spans("a").items()}
    assert keys == pytest.approx({(MAIN, Category.PATIENT): 1.5, (MAIN, Category.PRESENTER): 3.0})
    assert list(ledger.spans("t")) == [(MAIN, Category.FACILITATOR)]


def scripted(settings: SpeakingSettings) -> SpeakingLedger:
    ledger = SpeakingLedger(settings)
    group(ledger, "a", "b", facilitators=("t",))
    feed(ledger, "t", talk(0.0, 3.0))
    # 40 short sentences, 0.3 s apart: merged when old, never changing turns or talk.
    feed(ledger, "a", *(talk(10.0 + 1.5 * k, 10.0 + 1.5 * k + 1.2) for k in range(40)))
    ledger.advance(60.0)
    feed(ledger, "b", talk(70.0, 75.1))
    ledger.advance(200.0)
    return ledger


def test_record_round_trip_and_folding_keep_totals_exact() -> None:
    plain = scripted(SpeakingSettings())
    folded = scripted(SpeakingSettings(fold_after_s=30.0))
    record = json.loads(json.dumps(folded.to_record()))
    assert len(record["people"]["a"]["sp"][MAIN]["patient"]) == 3  # one merged span
    restored = SpeakingLedger.from_record(record, SpeakingSettings(fold_after_s=30.0))
    for ledger in (folded, restored):
        a = speaking_report(ledger, 200.0).whole.session.people["a"]
        b = speaking_report(plain, 200.0).whole.session.people["a"]
        assert (a.talk_s, a.turns, a.longest_turn_s) == pytest.approx(
            (b.talk_s, b.turns, b.longest_turn_s)
        )
    assert speaking_report(restored, 200.0) == speaking_report(folded, 200.0)
    # The restored ledger goes on counting.
    feed(restored, "b", talk(205.0, 207.4))
    restored.advance(300.0)
    assert total(restored, "b") == pytest.approx(7.5)


def test_an_unknown_record_version_is_refused() -> None:
    with pytest.raises(ValueError, match="version"):
        SpeakingLedger.from_record({"v": 99, "horizon": 0.0, "people": {}})
