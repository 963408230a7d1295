"""Speaking metrics against hand-computed values, whole session and rolling window."""

from __future__ import annotations

import math

import pytest

from server.domain.speaking import (
    SpeakingLedger,
    SpeakingSettings,
    TalkGroup,
    entropy,
    gini,
    speaking_report,
)

from .speaking_helpers import MAIN, feed, group, talk

NOW = 30.0


def session(settings: SpeakingSettings | None = None) -> SpeakingLedger:
    """Therapist t; patients a, b, c (c silent). All at the same level, so overlaps
    count for both. t [0,3); a [5,14) and a backchannel [20,20.6); b [13,16) cuts in on
    a (who stops within 2 s), b again [19,25)."""
    ledger = SpeakingLedger(settings)
    group(ledger, "a", "b", "c", facilitators=("t",))
    feed(ledger, "t", talk(0.0, 3.0))
    feed(ledger, "a", talk(5.0, 14.0), talk(20.0, 20.6))
    feed(ledger, "b", talk(13.0, 16.0), talk(19.0, 25.0))
    ledger.advance(NOW)
    ledger.advance(NOW + 10)
    return ledger


def test_whole_session_metrics_per_person() -> None:
    report = speaking_report(session(), NOW)
    people = report.whole.session.people
    a, b, c, t = people["a"], people["b"], people["c"], people["t"]
    assert (a.talk_s, b.talk_s, c.talk_s, t.talk_s) == pytest.approx((9.6, 9.0, 0.0, 3.0))
    assert t.facilitator_talk_s == pytest.approx(3.0) and t.share is None
    assert a.share == pytest.approx(9.6 / 18.6) and b.share == pytest.approx(9.0 / 18.6)
    assert c.share == 0.0
    assert a.dominance == pytest.approx(3 * 9.6 / 18.6)
    # a: one 9 s turn and one 0.6 s backchannel; b: turns of 3 s and 6 s.
    assert (a.turns, a.backchannels, a.mean_turn_s, a.longest_turn_s) == pytest.approx(
        (1, 1, 9.0, 9.0)
    )
    assert (b.turns, b.backchannels, b.mean_turn_s, b.longest_turn_s) == pytest.approx(
        (2, 0, 4.5, 6.0)
    )
    assert c.turns == 0 and c.mean_turn_s is None and c.longest_turn_s == 0.0
    assert (a.since_last_spoke_s, b.since_last_spoke_s) == pytest.approx((9.4, 5.0))
    assert c.since_last_spoke_s is None and not c.spoken and a.spoken
    # Overlaps: [13,14) and a's backchannel inside b's turn [20,20.6).
    assert (a.overlap_s, b.overlap_s, c.overlap_s) == pytest.approx((1.6, 1.6, 0.0))
    # b cut in on a, who yielded within 2 s; a backchannel interrupts nobody.
    assert (b.interruptions_made, a.interruptions_received) == (1, 1)
    assert (a.interruptions_made, b.interruptions_received) == (0, 0)
    assert (a.present_s, c.present_s) == pytest.approx((NOW, NOW))


def test_whole_session_group_metrics_and_balance() -> None:
    whole = speaking_report(session(), NOW).whole
    g = whole.session
    assert g.group_size == 3
    assert (g.talk_s, g.patient_talk_s, g.facilitator_talk_s) == pytest.approx((21.6, 18.6, 3.0))
    assert g.facilitator_share == pytest.approx(3.0 / 21.6)
    assert g.overlap_s == pytest.approx(1.6) and g.interruptions == 1
    # Gini by its pairwise definition over (9.6, 9, 0), normalised by N - 1.
    pairs = 2 * (abs(9.6 - 9.0) + 9.6 + 9.0)
    assert g.gini == pytest.approx(pairs / (2 * 2 * 18.6))
    shares = [9.6 / 18.6, 9.0 / 18.6]
    assert g.entropy == pytest.approx(-sum(s * math.log(s) for s in shares) / math.log(3))
    # One room only: the room's figures are the session's.
    assert whole.rooms[MAIN] == g.__class__(**{**g.__dict__, "room": MAIN})


def test_rolling_window_counts_only_the_last_minutes() -> None:
    report = speaking_report(session(SpeakingSettings(window_s=10.0)), NOW)
    w = report.window.session
    assert (w.start, w.end) == (20.0, NOW)
    a, b, t = w.people["a"], w.people["b"], w.people["t"]
    assert (a.talk_s, b.talk_s, t.talk_s) == pytest.approx((0.6, 5.0, 0.0))
    assert a.share == pytest.approx(0.6 / 5.6)
    # b's turn [19,25) is cut to [20,25) by the window.
    assert (b.turns, b.longest_turn_s, a.turns, a.backchannels) == pytest.approx((1, 5.0, 0, 1))
    assert a.present_s == pytest.approx(10.0)
    assert w.interruptions == 0 and w.overlap_s == pytest.approx(0.6)
    # Time since last spoke looks at all history, not just the window.
    assert a.since_last_spoke_s == pytest.approx(9.4)


def test_rooms_are_apart_and_the_session_adds_them_up() -> None:
    ledger = SpeakingLedger()
    group(ledger, "a", "b", "c", "d")
    for person in ("c", "d"):
        ledger.moved(person, 0.0, "breakout-1")
    feed(ledger, "a", talk(0.0, 3.0))
    feed(ledger, "c", talk(1.5, 4.5))  # same time as a, other room: no overlap with a
    feed(ledger, "d", talk(3.0, 6.0))  # overlaps c by [3, 4.5)
    ledger.advance(20.0)
    report = speaking_report(ledger, 20.0).whole
    main, b1 = report.rooms[MAIN], report.rooms["breakout-1"]
    assert set(main.people) == {"a", "b"} and set(b1.people) == {"c", "d"}
    assert main.overlap_s == 0.0 and b1.overlap_s == pytest.approx(1.5)
    assert report.session.overlap_s == pytest.approx(1.5)
    assert main.group_size == 2 and report.session.group_size == 4
    assert main.people["a"].share == pytest.approx(1.0)
    assert report.session.people["a"].share == pytest.approx(3.0 / 9.0)
    assert report.session.people["d"].overlap_s == pytest.approx(1.5)


def test_presenter_talk_is_left_out_of_the_patients_baseline() -> None:
    ledger = SpeakingLedger()
    group(ledger, "a", "b")
    ledger.set_presenting("a", 0.0, True)
    feed(ledger, "a", talk(0.0, 6.0))
    feed(ledger, "b", talk(7.5, 9.0))
    ledger.advance(20.0)
    g = speaking_report(ledger, 20.0).whole.session
    assert g.presenter_talk_s == pytest.approx(6.0) and g.patient_talk_s == pytest.approx(1.5)
    assert g.people["b"].share == pytest.approx(1.0) and g.people["a"].share == 0.0
    assert g.people["a"].talk_s == pytest.approx(6.0)


def test_a_person_with_a_changed_role_counts_in_the_group_of_the_time() -> None:
    ledger = SpeakingLedger()
    group(ledger, "a", "b")
    ledger.set_group("a", 5.0, TalkGroup.FACILITATOR)
    feed(ledger, "a", talk(0.0, 3.0), talk(6.0, 9.0))
    ledger.advance(20.0)
    m = speaking_report(ledger, 20.0).whole.session.people["a"]
    assert (m.patient_talk_s, m.facilitator_talk_s) == pytest.approx((3.0, 3.0))


def test_balance_indices_edge_cases() -> None:
    assert gini([]) is None and entropy([]) is None
    assert gini([5.0]) is None and entropy([5.0]) is None
    assert gini([0.0, 0.0]) is None and entropy([0.0, 0.0]) is None
    assert gini([3.0, 0.0]) == pytest.approx(1.0) and entropy([3.0, 0.0]) == 0.0
    assert gini([4.0, 0.0, 0.0, 0.0]) == pytest.approx(1.0)
    assert gini([2.0, 2.0, 2.0]) == 0.0 and entropy([2.0, 2.0, 2.0]) == pytest.approx(1.0)
    # (3, 1): pairwise |3-1| twice = 4; 4 / (2 * 1 * 4) = 0.5.
    assert gini([3.0, 1.0]) == pytest.approx(0.5)
    h = -(0.75 * math.log(0.75) + 0.25 * math.log(0.25)) / math.log(2)
    assert entropy([3.0, 1.0]) == pytest.approx(h)


def test_nobody_has_spoken_yet() -> None:
    ledger = SpeakingLedger()
    group(ledger, "a")
    ledger.advance(10.0)
    g = speaking_report(ledger, 10.0).whole.session
    assert g.talk_s == 0.0 and g.gini is None and g.entropy is None
    assert g.facilitator_share is None and g.people["a"].share is None
    assert g.group_size == 1


@pytest.mark.parametrize(
    ("a_turn", "b_turn", "interrupted"),
    [
        ((0.0, 3.0), (2.1, 6.0), True),  # a stops 0.9 s after b cut in: a yielded
        ((0.0, 6.0), (1.5, 3.0), False),  # a talks on over b: an overlap, not a takeover
        ((0.0, 3.0), (0.6, 6.0), False),  # a stops 2.4 s after b started: over the 2 s yield
    ],
)
def test_an_interruption_needs_the_other_to_yield(
    a_turn: tuple[float, float], b_turn: tuple[float, float], interrupted: bool
) -> None:
    ledger = SpeakingLedger()
    group(ledger, "a", "b")
    feed(ledger, "a", talk(*a_turn))
    feed(ledger, "b", talk(*b_turn))
    ledger.advance(20.0)
    g = speaking_report(ledger, 20.0).whole.session
    assert g.people["b"].interruptions_made == int(interrupted)
    assert g.people["a"].interruptions_received == int(interrupted)
    assert g.people["a"].interruptions_made == 0


def test_a_stray_burst_or_a_lone_mm_is_not_having_spoken() -> None:
    ledger = SpeakingLedger()
    group(ledger, "a", "b")
    feed(ledger, "a", talk(5.0, 5.6))  # "mm"
    feed(ledger, "b", talk(5.0, 7.1))
    ledger.advance(NOW)
    ledger.advance(NOW + 10)
    people = speaking_report(ledger, NOW).whole.session.people
    assert people["a"].talk_s == pytest.approx(0.6)
    assert not people["a"].spoken and people["b"].spoken
