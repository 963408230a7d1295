"""Speaking-time payloads, settings from the environment, and the report formats."""

from __future__ import annotations

import csv
import io
from typing import Any
from xml.etree import ElementTree

import pytest

from server.config import load_settings
from server.domain.errors import ProtocolError
from server.domain.speaking import CueKind, SpeakingLedger
from server.signaling.inbound_speaking import parse_cue_dismiss, parse_speaking_options
from server.speaking.report import ReportContext, report_csv, report_json, talk_chart_svg
from server.speaking.wire import change_key, cue_key_text
from tests.unit.speaking_helpers import feed, group, talk


def test_cue_keys_round_trip() -> None:
    for key in ((CueKind.NOT_YET_SPOKEN, "p_1", "main"), (CueKind.LOW_BALANCE, None, "r2")):
        assert parse_cue_dismiss({"key": cue_key_text(key)}) == key


@pytest.mark.parametrize(
    "payload",
    [
        None,
        [],
        {"key": 3},
        {"key": ""},
        {"key": "a:b"},
        {"key": "loud:p_1:main"},
        {"key": "not-yet-spoken::main"},
        {"key": "x" * 200},
        {"key": "dominating:p:main", "x": 1},
    ],
)
def test_bad_cue_dismiss_payloads(payload: Any) -> None:
    with pytest.raises(ProtocolError):
        parse_cue_dismiss(payload)


def test_speaking_options_payload() -> None:
    assert parse_speaking_options({"leadersSeeRoom": True}) is True
    for bad in ({}, {"leadersSeeRoom": 1}, {"leadersSeeRoom": True, "more": 1}):
        with pytest.raises(ProtocolError):
            parse_speaking_options(bad)


def test_settings_from_the_environment() -> None:
    env = {
        "PEERCIRCLE_SPEAKING_NOT_SPOKEN_AFTER_S": "20",
        "PEERCIRCLE_SPEAKING_MIN_GROUP_SIZE": "4",
    }
    settings = load_settings(env).speaking
    assert settings.not_spoken_after_s == 20.0 and settings.min_group_size == 4
    assert load_settings({}).speaking.not_spoken_after_s == 300.0


def test_stats_change_only_when_talk_moves_a_second_or_a_share_a_percent() -> None:
    body = {"at": 1.0, "people": [{"talkS": 10.2, "share": 0.501, "sinceLastSpokeS": 3.0}]}
    same = {"at": 9.0, "people": [{"talkS": 10.4, "share": 0.503, "sinceLastSpokeS": 9.0}]}
    moved = {"at": 9.0, "people": [{"talkS": 11.0, "share": 0.503, "sinceLastSpokeS": 9.0}]}
    assert change_key(body) == change_key(same)
    assert change_key(body) != change_key(moved)


def ledger_with_talk() -> SpeakingLedger:
    ledger = SpeakingLedger()
    group(ledger, "p_a", "p_b", facilitators=("p_t",))
    feed(ledger, "p_a", talk(0.0, 3.0))
    feed(ledger, "p_b", talk(5.0, 6.5))
    feed(ledger, "p_t", talk(8.0, 9.2))
    ledger.advance(20.0)
    return ledger


def test_report_csv_has_a_row_per_person_and_scope() -> None:
    ledger = ledger_with_talk()
    body = report_json("s_1", ledger, 20.0, {"p_a": "Ada", "p_b": "Ben", "p_t": "Dr. T"})
    rows = list(csv.DictReader(io.StringIO(report_csv(body))))
    whole = {r["person"]: r for r in rows if r["span"] == "whole" and r["room"] == "session"}
    assert float(whole["p_a"]["talkS"]) == pytest.approx(3.0, abs=0.05)
    assert whole["p_a"]["name"] == "Ada"
    assert whole["p_t"]["group"] == "facilitator" and whole["p_t"]["share"] == ""
    assert float(whole["*"]["facilitatorTalkS"]) == pytest.approx(1.2, abs=0.05)
    assert {r["room"] for r in rows} == {"session", "main"}


def test_the_chart_is_svg_with_a_line_per_person() -> None:
    ledger = ledger_with_talk()
    svg = talk_chart_svg(ledger, 20.0, {"p_a": "Ada <A>"})
    root = ElementTree.fromstring(svg)
    lines = root.findall("{http://www.w3.org/2000/svg}polyline")
    assert len(lines) == 3
    assert "Ada &lt;A&gt;" in svg


def test_the_report_reads_as_a_clinician_expects() -> None:
    ledger = ledger_with_talk()
    context = ReportContext(
        "Tuesday group", 1_764_000_000.0, {"p_a": "Ada", "p_b": "Ben"}, {"main": "Main room"}
    )
    body = report_json("s_1", ledger, 20.0, context.names, context)
    assert body["title"] == "Tuesday group" and body["date"] == "2025-11-24"
    assert body["startedAt"] == "2025-11-24T16:00:00Z"
    assert [r["roomName"] for r in body["rooms"]] == ["Main room"]
    rows = list(csv.DictReader(io.StringIO(report_csv(body))))
    assert {r["roomName"] for r in rows} == {"Whole session", "Main room"}
    assert {r["session"] for r in rows} == {"Tuesday group"}
    svg = talk_chart_svg(ledger, 20.0, context.names, context)
    root = ElementTree.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    assert root.get("role") == "img"
    title = root.find(f"{ns}title")
    desc = root.find(f"{ns}desc")
    assert title is not None and "Tuesday group" in (title.text or "")
    # The text alternative names each person with their talk and share.
    assert (
        desc is not None and "Ada 3 s" in (desc.text or "") and "% of all talk" in (desc.text or "")
    )
