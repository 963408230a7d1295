"""The audit chain: every moderator action recorded, tamper-evident, no personal details."""

from __future__ import annotations

from typing import Any

from server.domain.audit import (
    GENESIS,
    AuditEntry,
    KnockCoalescer,
    audit_entry,
    chain_record,
    verify_chain,
)
from server.domain.roles import Role
from server.domain.session import Session

T0 = 1000.0


def audited_session() -> list[dict[str, Any]]:
    session = Session("s_1", "Group", T0)
    events = session.join("p_t", "Dr. Rivera", Role.THERAPIST, T0)
    events += session.join("p_a", "Alex", Role.PATIENT, T0)
    events += session.admit("p_t", "p_a")
    events += session.join("p_b", "Sam", Role.PATIENT, T0)
    events += session.deny("p_t", "p_b", "not today")
    events += session.mute("p_t", "p_a")
    events += session.ask_to_unmute("p_t", "p_a")
    events += session.stop_camera("p_t", "p_a")
    events += session.set_locked("p_t", True)
    events += session.set_chat("p_t", False)
    events += session.remove("p_t", "p_a")
    events += session.end("p_t")
    records, previous = [], GENESIS
    for seq, entry in enumerate(filter(None, map(audit_entry, events)), start=1):
        record = chain_record(previous, seq, "s_1", T0 + seq, entry)
        records.append(record)
        previous = record["hash"]
    return records


def test_every_moderator_action_join_and_leave_is_recorded() -> None:
    actions = [r["action"] for r in audited_session()]
    for expected in (
        "join", "wait", "admit", "deny", "mute", "ask-unmute", "stop-camera",
        "lock", "chat-off", "leave", "end-session",
    ):  # fmt: skip
        assert expected in actions, expected


def test_records_name_people_by_opaque_id_only() -> None:
    text = str(audited_session())
    for personal in ("Dr. Rivera", "Alex", "Sam", "not today"):
        assert personal not in text


def test_the_chain_holds_and_any_edit_breaks_it() -> None:
    records = audited_session()
    assert verify_chain(records) is None
    edited = [dict(r) for r in records]
    edited[3]["actor"] = "p_someone_else"
    assert verify_chain(edited) == edited[3]["seq"]
    dropped = records[:2] + records[3:]
    assert verify_chain(dropped) == records[3]["seq"]


def test_a_log_trimmed_by_retention_still_verifies() -> None:
    records = audited_session()
    assert verify_chain(records[4:]) is None


def test_repeated_knocks_are_coalesced_and_counted() -> None:
    knocks = KnockCoalescer(window_s=600)
    wait = AuditEntry("wait", "p_k", "p_k", "patient")
    leave = AuditEntry("leave", "p_k", "p_k", "left")
    assert knocks.filter(wait, 0) == wait
    assert knocks.filter(leave, 1) == leave  # a recorded stay's departure is recorded
    # A loop of knock and go within the window: nothing recorded.
    for t in range(2, 40, 2):
        assert knocks.filter(wait, t) is None
        assert knocks.filter(leave, t + 1) is None
    # After the window, the next knock is recorded with the count.
    again = knocks.filter(wait, 700)
    assert again is not None and again.detail == "patient; 19 repeated knocks before this one"
    # Someone else's knock is their own.
    other = AuditEntry("wait", "p_o", "p_o", "patient")
    assert knocks.filter(other, 701) == other


def test_a_decision_starts_a_new_stay() -> None:
    knocks = KnockCoalescer(window_s=600)
    wait = AuditEntry("wait", "p_k", "p_k", "patient")
    assert knocks.filter(wait, 0) == wait
    deny = AuditEntry("deny", "p_t", "p_k")
    assert knocks.filter(deny, 1) == deny
    assert knocks.filter(wait, 2) == wait  # knocking after a denial is recorded
