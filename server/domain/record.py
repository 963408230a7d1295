"""A session as a JSON-ready record (what must outlive a connection: the store keeps
it) and back; tracks and connected captioners are connection state and not in it."""

from __future__ import annotations

from typing import Any

from .breakouts import Breakouts
from .goround import RoundBook
from .model import LinkView
from .participant import Participant
from .plan import SessionPlan
from .state import SessionState


def session_record(session: SessionState) -> dict[str, Any]:
    """The record of `session`."""
    return {
        "id": session.id,
        "title": session.title,
        "created_at": session.created_at,
        "ended": session.ended,
        "ended_at": session.ended_at,
        "locked": session.locked,
        "waiting_room": session.waiting_room,
        "chat_enabled": session.chat_enabled,
        "reactions_enabled": session.reactions_enabled,
        "share_policy": session.share_policy,
        "removed": sorted(session._removed),
        "hands": list(session._hands),
        "chat_seq": session._chat_seq,
        "share_requests": list(session._share_requests),
        "share_rights": sorted(session._share_rights),
        "presented_s": dict(session._presented_s),
        "breakouts": session.breakouts.to_record(),
        "captions_on": session.captions_on,
        "transcript_on": session.transcript_on,
        "caption_declined": sorted(session._caption_declined),
        "leaders_see_room": session.leaders_see_room,
        "participants": [p.to_record() for p in session._participants.values()],
        "links": [link.to_record() for link in session._links.values()],
        "revoked": dict(session._revoked),
        "rounds": session.rounds.to_record(),
        "plan": session.plan.to_record(),
    }


def restore_session(session: SessionState, record: dict[str, Any]) -> None:
    """Fill a new session (id, title and creation time set) from its record."""
    session.ended = bool(record["ended"])
    ended_at = record.get("ended_at")
    session.ended_at = None if ended_at is None else float(ended_at)
    session.locked = bool(record.get("locked", False))
    session.waiting_room = bool(record.get("waiting_room", True))
    session.chat_enabled = bool(record.get("chat_enabled", True))
    session.reactions_enabled = bool(record.get("reactions_enabled", True))
    session.share_policy = str(record.get("share_policy", "replace"))
    session._removed = set(record.get("removed", []))
    session._hands = list(record.get("hands", []))
    session._chat_seq = int(record.get("chat_seq", 0))
    session._share_requests = list(record.get("share_requests", []))
    session._share_rights = set(record.get("share_rights", []))
    session._presented_s = dict(record.get("presented_s", {}))
    session.breakouts = Breakouts.from_record(record.get("breakouts"))
    session.captions_on = bool(record.get("captions_on", False))
    session.transcript_on = bool(record.get("transcript_on", False))
    session._caption_declined = set(record.get("caption_declined", []))
    session.leaders_see_room = bool(record.get("leaders_see_room", False))
    for p in record["participants"]:
        session._participants[p["id"]] = Participant.from_record(p)
    for raw in record.get("links", []):
        link = LinkView.from_record(raw)
        session._links[link.link_id] = link
    session._revoked = {str(k): float(v) for k, v in record.get("revoked", {}).items()}
    session.rounds = RoundBook.from_record(record.get("rounds", []))
    session.plan = SessionPlan.from_record(record.get("plan"))
