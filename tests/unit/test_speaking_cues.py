"""Fairness cues: found, sent on change, rate-limited, dismissible; who sees them."""

from __future__ import annotations

import pytest

from server.domain.errors import NotPermitted
from server.domain.roles import Role
from server.domain.speaking import (
    Cue,
    CueBoard,
    CueKind,
    SpeakingLedger,
    SpeakingSettings,
    find_cues,
    hand_order,
    may_see_cue,
    own_talk,
    render_cue,
    speaking_report,
)

from .speaking_helpers import MAIN, feed, group, talk

SETTINGS = SpeakingSettings(
    not_spoken_after_s=60.0,
    quiet_after_s=100.0,
    min_window_talk_s=10.0,
    monologue_s=10.0,
    cue_min_interval_s=30.0,
    dismiss_quiet_s=300.0,
)


def cues_at(ledger: SpeakingLedger, now: float) -> dict[tuple[CueKind, str | None], Cue]:
    ledger.advance(now)
    return {(c.kind, c.person_id): c for c in find_cues(ledger, speaking_report(ledger, now))}


def test_not_yet_spoken_appears_once_and_clears_when_they_speak() -> None:
    ledger = SpeakingLedger(SETTINGS)
    group(ledger, "a", "sam", facilitators=("t",))
    board = CueBoard(SETTINGS)
    assert not board.update(cues_at(ledger, 50.0).values(), 50.0)
    changes = board.update(cues_at(ledger, 61.0).values(), 61.0)
    sam = next(c for c in changes.appeared if c.person_id == "sam")
    assert sam.kind is CueKind.NOT_YET_SPOKEN and sam.room == MAIN
    assert render_cue(sam, "Sam") == "Sam has not spoken yet (here for 1 min)"
    # Still true a second later: nothing is sent again.
    assert not board.update(cues_at(ledger, 62.0).values(), 62.0)
    feed(ledger, "sam", talk(63.0, 64.5))
    feed(ledger, "a", talk(63.0, 64.5))
    changes = board.update(cues_at(ledger, 70.0).values(), 70.0)
    assert (CueKind.NOT_YET_SPOKEN, "sam", MAIN) in changes.cleared
    assert not changes.appeared


def test_facilitators_are_never_cued_as_silent_patients() -> None:
    ledger = SpeakingLedger(SETTINGS)
    group(ledger, "a", facilitators=("t",))
    assert (CueKind.NOT_YET_SPOKEN, "t") not in cues_at(ledger, 200.0)


def test_dominance_cue_and_its_text() -> None:
    ledger = SpeakingLedger(SETTINGS)
    group(ledger, "alex", "b", "c", facilitators=("t",))
    feed(ledger, "alex", talk(0.0, 12.0))
    feed(ledger, "b", talk(13.2, 15.0))
    feed(ledger, "c", talk(16.2, 17.4))
    found = cues_at(ledger, 30.0)
    cue = found[(CueKind.DOMINATING, "alex")]
    share = 12.0 / 15.0
    assert cue.numbers["share"] == pytest.approx(share)
    assert cue.numbers["dominance"] == pytest.approx(3 * share)
    assert render_cue(cue, "Alex") == (
        "Alex has spoken 80% of the patients' time in the last 10 min, about 2.4 times an equal"
        " share"
    )
    assert (CueKind.DOMINATING, "b") not in found
    low = found[(CueKind.LOW_BALANCE, None)]
    assert low.numbers["entropy"] < SETTINGS.low_balance_entropy
    assert render_cue(low, None).startswith("In the last 10 min a few people did most of")


def test_long_turn_quiet_for_long_and_facilitator_talk() -> None:
    ledger = SpeakingLedger(SETTINGS)
    group(ledger, "a", "b", facilitators=("t",))
    feed(ledger, "b", talk(0.0, 1.5))
    feed(ledger, "t", talk(2.1, 30.0))
    feed(ledger, "a", talk(102.0, 114.0))
    found = cues_at(ledger, 116.5)  # decisions lag `now` by up to 1.3 s
    assert found[(CueKind.LONG_TURN, "a")].numbers["turn_s"] == pytest.approx(12.0)
    quiet = found[(CueKind.QUIET_FOR_LONG, "b")]
    assert render_cue(quiet, "Bo") == "Bo has not spoken for 1 min"
    facilitators = found[(CueKind.FACILITATOR_TALK, None)]
    assert render_cue(facilitators, None) == "Facilitators spoke 67% of the time in the last 10 min"
    # A turn that ended long ago is no longer a monologue in progress.
    assert (CueKind.LONG_TURN, "a") not in cues_at(ledger, 130.0)


def cue(kind: CueKind = CueKind.DOMINATING, severity: float = 2.0, person: str = "a") -> Cue:
    return Cue(kind, person, MAIN, severity, {"share": 0.5, "dominance": severity, "window_s": 600})


def test_a_cue_that_clears_and_comes_back_is_rate_limited() -> None:
    board = CueBoard(SETTINGS)
    assert board.update([cue()], 0.0).appeared == (cue(),)
    assert board.update([], 5.0).cleared == (cue().key,)
    assert not board.update([cue()], 10.0)  # within 30 s of appearing: quiet
    assert board.shown() == []
    assert board.update([cue()], 31.0).appeared == (cue(),)
    # Another person's cue of the same kind is not held back.
    assert board.update([cue(), cue(person="b")], 32.0).appeared == (cue(person="b"),)


def test_a_dismissed_cue_stays_quiet_unless_clearly_worse() -> None:
    board = CueBoard(SETTINGS)
    board.update([cue(severity=2.0)], 0.0)
    assert board.dismiss(cue().key, 10.0).cleared == (cue().key,)
    assert board.dismiss(cue().key, 11.0).cleared == ()  # already down
    assert not board.update([cue(severity=2.2)], 100.0)  # a little worse: still quiet
    worse = cue(severity=2.6)  # 30% worse than dismissed
    assert board.update([worse], 120.0).appeared == (worse,)


def test_a_dismissed_cue_returns_after_the_quiet_time() -> None:
    board = CueBoard(SETTINGS)
    board.update([cue()], 0.0)
    board.dismiss(cue().key, 10.0)
    assert not board.update([cue()], 309.0)
    assert board.update([cue()], 311.0).appeared == (cue(),)


def test_audience_rules() -> None:
    in_b1 = Cue(CueKind.NOT_YET_SPOKEN, "a", "breakout-1", 1.0, {"present_s": 60.0})
    for role in (Role.THERAPIST, Role.CO_FACILITATOR):
        assert may_see_cue(in_b1, role, None, False)
    assert may_see_cue(in_b1, Role.PEER_LEADER, "breakout-1", True)
    assert not may_see_cue(in_b1, Role.PEER_LEADER, "breakout-1", False)
    assert not may_see_cue(in_b1, Role.PEER_LEADER, "breakout-2", True)
    assert not may_see_cue(in_b1, Role.PEER_LEADER, None, True)
    for role in (Role.PATIENT, Role.OBSERVER, Role.CAPTIONER):
        assert not may_see_cue(in_b1, role, "breakout-1", True)


def test_raised_hands_by_least_talk_ties_in_raising_order() -> None:
    talk_s = {"a": 30.0, "b": 5.0, "c": 5.0, "d": 0.0}
    assert hand_order(["a", "c", "b", "e", "d"], talk_s) == ["e", "d", "c", "b", "a"]


def test_a_patient_sees_only_their_own_talk_time() -> None:
    ledger = SpeakingLedger(SETTINGS)
    group(ledger, "a", "b", facilitators=("t",))
    feed(ledger, "a", talk(0.0, 3.0))
    ledger.advance(20.0)
    report = speaking_report(ledger, 20.0)
    mine = own_talk(report, "a", Role.PATIENT, "a")
    assert (mine.talk_s, mine.window_talk_s, mine.window_s) == pytest.approx((3.0, 3.0, 600.0))
    with pytest.raises(NotPermitted):
        own_talk(report, "a", Role.PATIENT, "b")
    with pytest.raises(NotPermitted):
        own_talk(report, "a", Role.PEER_LEADER, "b")
    assert own_talk(report, "t", Role.THERAPIST, "a").talk_s == pytest.approx(3.0)


@pytest.mark.parametrize(
    ("seconds", "words"),
    [(50, "50 s"), (59.9, "59 s"), (60, "1 min"), (119, "1 min"), (121, "2 min"),
     (3600, "1 h"), (3900, "1 h 5 min")],
)  # fmt: skip
def test_durations_in_cue_texts_never_round_down_to_nothing(seconds: float, words: str) -> None:
    quiet = Cue(CueKind.QUIET_FOR_LONG, "p_b", "main", 0.5, {"quiet_s": seconds})
    assert render_cue(quiet, "Bo") == f"Bo has not spoken for {words}"
