"""Join links and captioner services in the session domain: recording, revoking
(used or not), the bound on what is kept, the store round trip and the audit. No I/O."""

from __future__ import annotations

import json

import pytest

from server.domain.audit import audit_entry
from server.domain.errors import NotFound, NotPermitted, UserError
from server.domain.events import (
    Actor,
    CaptionerConnected,
    CaptionerLeft,
    LinkMinted,
    LinkRevoked,
    ParticipantLeft,
)
from server.domain.links import MAX_LINKS, MAX_REVOKED, REVOCATION_HOLD_S
from server.domain.model import CaptionerView, LinkView, Presence
from server.domain.roles import Role
from server.domain.session import ENTRY_REFUSALS, Session

T0 = 1_000.0
DAY = 86400.0


def link(pid: str, role: Role = Role.PATIENT, ttl: float = DAY, at: float = T0) -> LinkView:
    return LinkView("l_" + pid, pid, pid.title(), role, False, at, at + ttl)


def session_with(*people: tuple[str, Role]) -> Session:
    """A session (waiting room off) whose links were minted at T0, everyone joined."""
    session = Session("s_1", "Group", created_at=T0, waiting_room=False)
    for pid, role in people:
        session.record_link(link(pid, role), T0)
        if role is Role.CAPTIONER:
            session.connect_captioner(pid, pid.title(), role, T0)
        else:
            session.join(pid, pid.title(), role, T0)
    return session


# -- recording -------------------------------------------------------------------------


def test_a_minted_link_is_recorded_and_audited_without_its_token() -> None:
    session = Session("s_1", "Group", created_at=T0)
    events = session.record_link(link("p_a"), T0)
    assert events == [LinkMinted(link("p_a"))]
    assert session.links() == [link("p_a")]
    entry = audit_entry(events[0])
    assert entry is not None and (entry.action, entry.target) == ("link-mint", "p_a")
    wire = session.links()[0].to_wire()
    assert wire["used"] is False and wire["revoked"] is False
    assert "token" not in json.dumps(wire)


def test_a_link_is_marked_used_when_its_holder_joins() -> None:
    session = Session("s_1", "Group", created_at=T0, waiting_room=False)
    session.record_link(link("p_a"), T0)
    session.join("p_a", "Alex", Role.PATIENT, T0 + 5)
    assert session.links()[0].used_at == T0 + 5
    session.record_link(link("p_c", Role.CAPTIONER), T0)
    session.connect_captioner("p_c", "STT", Role.CAPTIONER, T0 + 6)
    assert session.links()[1].used_at == T0 + 6


def test_links_kept_are_bounded_and_expired_ones_are_forgotten_first() -> None:
    session = Session("s_1", "Group", created_at=T0)
    for i in range(MAX_LINKS - 1):
        session.record_link(link(f"p_{i}", ttl=60), T0)
    session.record_link(link("p_long"), T0)
    with pytest.raises(UserError):
        session.record_link(link("p_more"), T0 + 1)
    # Once the short links have expired, there is room again.
    session.record_link(link("p_more", at=T0 + 61), T0 + 61)
    assert [v.participant_id for v in session.links()] == ["p_long", "p_more"]


def test_no_link_is_recorded_for_an_ended_session() -> None:
    session = Session("s_1", "Group", created_at=T0)
    session.end()
    with pytest.raises(UserError):
        session.record_link(link("p_a"), T0)


# -- revoking --------------------------------------------------------------------------


def test_a_link_never_used_is_revoked_and_its_holder_refused() -> None:
    session = session_with(("p_t", Role.THERAPIST))
    session.record_link(link("p_a"), T0)
    events = session.revoke_link("p_t", "p_a", T0 + 10)
    assert events == [LinkRevoked("p_a", Actor("p_t", "P_T"))]
    assert session.entry_refusal("p_a") == "link_revoked"
    assert "link_revoked" in ENTRY_REFUSALS
    assert session.links()[-1].revoked_at == T0 + 10
    with pytest.raises(NotPermitted):
        session.join("p_a", "Alex", Role.PATIENT, T0 + 11)
    entry = audit_entry(events[0])
    assert entry is not None
    assert (entry.action, entry.actor, entry.target) == ("link-revoke", "p_t", "p_a")


def test_revoking_the_link_of_someone_in_the_call_removes_them() -> None:
    session = session_with(("p_t", Role.THERAPIST), ("p_a", Role.PATIENT))
    events = session.revoke_link("p_t", "p_a", T0 + 10)
    by = Actor("p_t", "P_T")
    assert events == [ParticipantLeft("p_a", "removed", by), LinkRevoked("p_a", by)]
    assert [p.id for p in session.participants()] == ["p_t"]
    assert session.entry_refusal("p_a") == "link_revoked"


def test_revoking_the_link_of_someone_waiting_removes_them_from_the_waiting_room() -> None:
    session = session_with(("p_t", Role.THERAPIST))
    session.waiting_room = True
    session.record_link(link("p_a"), T0)
    session.join("p_a", "Alex", Role.PATIENT, T0)
    assert session.participant("p_a").presence is Presence.WAITING
    events = session.revoke_link("p_t", "p_a", T0 + 10)
    assert isinstance(events[0], ParticipantLeft) and session.waiting() == []


def test_revoking_a_captioner_link_disconnects_the_service() -> None:
    session = session_with(("p_t", Role.THERAPIST), ("p_c", Role.CAPTIONER))
    assert session.captioners() == [CaptionerView("p_c", "P_C", T0)]
    assert session.captioner_connected("p_c")
    events = session.revoke_link("p_t", "p_c", T0 + 10)
    by = Actor("p_t", "P_T")
    assert events == [CaptionerLeft("p_c", "revoked", by), LinkRevoked("p_c", by)]
    assert not session.captioner_connected("p_c") and session.captioners() == []
    with pytest.raises(NotPermitted):
        session.connect_captioner("p_c", "STT", Role.CAPTIONER, T0 + 11)


def test_the_admin_api_may_revoke_any_link_even_one_it_never_minted() -> None:
    session = session_with(("p_t", Role.THERAPIST))
    by_admin = session.revoke_link(None, "p_t", T0 + 1)
    assert [type(e) for e in by_admin] == [ParticipantLeft, LinkRevoked]
    assert session.revoke_link(None, "p_elsewhere", T0 + 2) == [LinkRevoked("p_elsewhere")]
    assert session.entry_refusal("p_elsewhere") == "link_revoked"


def test_revoking_twice_changes_nothing() -> None:
    session = session_with(("p_t", Role.THERAPIST))
    session.record_link(link("p_a"), T0)
    session.revoke_link("p_t", "p_a", T0)
    before = session.snapshot()
    assert session.revoke_link("p_t", "p_a", T0 + 1) == []
    assert session.snapshot() == before


@pytest.mark.parametrize("role", [Role.PATIENT, Role.PEER_LEADER, Role.OBSERVER])
def test_only_facilitators_revoke_links(role: Role) -> None:
    session = session_with(("p_t", Role.THERAPIST), ("p_x", role), ("p_a", Role.PATIENT))
    before = session.snapshot()
    with pytest.raises(NotPermitted):
        session.revoke_link("p_x", "p_a", T0)
    assert session.snapshot() == before
    assert session.entry_refusal("p_a") is None


def test_a_co_facilitator_revokes_but_not_the_therapist_nor_themself() -> None:
    session = session_with(
        ("p_t", Role.THERAPIST), ("p_co", Role.CO_FACILITATOR), ("p_a", Role.PATIENT)
    )
    before = session.snapshot()
    with pytest.raises(NotPermitted):
        session.revoke_link("p_co", "p_t", T0)
    with pytest.raises(UserError):
        session.revoke_link("p_co", "p_co", T0)
    assert session.snapshot() == before
    session.revoke_link("p_co", "p_a", T0)
    assert session.entry_refusal("p_a") == "link_revoked"


def test_a_facilitator_names_only_links_the_session_knows() -> None:
    session = session_with(("p_t", Role.THERAPIST))
    with pytest.raises(NotFound):
        session.revoke_link("p_t", "p_unknown", T0)


def test_revocations_are_bounded_and_forgotten_once_no_link_can_be_valid() -> None:
    session = session_with(("p_t", Role.THERAPIST))
    for i in range(MAX_REVOKED):
        session.revoke_link(None, f"p_{i}", T0)
    with pytest.raises(UserError):
        session.revoke_link(None, "p_more", T0 + 1)
    later = T0 + REVOCATION_HOLD_S
    session.revoke_link(None, "p_more", later)
    assert session.entry_refusal("p_0") is None  # every link of it has expired by now
    assert session.entry_refusal("p_more") == "link_revoked"


def test_no_revoking_after_the_session_ended() -> None:
    session = session_with(("p_t", Role.THERAPIST))
    session.end()
    with pytest.raises(UserError):
        session.revoke_link(None, "p_t", T0)


# -- captioner services ------------------------------------------------------------------


def test_a_captioner_connects_once_and_leaves_with_its_last_socket() -> None:
    session = Session("s_1", "Group", created_at=T0)
    events = session.connect_captioner("p_c", "STT", Role.CAPTIONER, T0)
    assert events == [CaptionerConnected(CaptionerView("p_c", "STT", T0))]
    assert session.connect_captioner("p_c", "STT", Role.CAPTIONER, T0 + 1) == []
    assert session.disconnect_captioner("p_c") == [CaptionerLeft("p_c", "left")]
    assert session.disconnect_captioner("p_c") == []
    for event in events:
        entry = audit_entry(event)
        assert entry is not None and entry.action == "captioner-connect"


def test_only_a_captioner_token_connects_as_a_captioner() -> None:
    session = Session("s_1", "Group", created_at=T0)
    with pytest.raises(NotPermitted):
        session.connect_captioner("p_a", "Alex", Role.PATIENT, T0)


def test_no_captioner_is_listed_once_the_session_ended() -> None:
    session = session_with(("p_c", Role.CAPTIONER))
    session.end()
    assert session.captioners() == [] and not session.captioner_connected("p_c")


# -- storage -----------------------------------------------------------------------------


def test_links_and_revocations_survive_the_store_but_connections_do_not() -> None:
    session = session_with(("p_t", Role.THERAPIST), ("p_c", Role.CAPTIONER))
    session.record_link(link("p_a"), T0)
    session.record_link(link("p_b"), T0)
    session.revoke_link("p_t", "p_a", T0 + 5)
    record = json.loads(json.dumps(session.to_record()))
    again = Session.from_record(record)
    assert again.links() == session.links()
    assert again.entry_refusal("p_a") == "link_revoked"
    assert again.entry_refusal("p_b") is None
    # A captioner is a connection: it connects again to whichever node owns the session.
    assert again.captioners() == []
    assert "token" not in json.dumps(record["links"])


def test_a_record_from_before_links_loads() -> None:
    record = Session("s_1", "Group", created_at=T0).to_record()
    del record["links"], record["revoked"]
    assert Session.from_record(record).links() == []
