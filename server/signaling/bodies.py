"""The bodies of the server's events, built from the session: one function per body,
shared by the welcome, the presenter and the handlers (docs/PROTOCOL.md)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from ..config import IceServer
from ..domain.roles import Action, may
from ..domain.session import Session
from ..tokens import JoinGrant
from .inbound import PROTOCOL_VERSION


def session_settings(session: Session) -> dict[str, Any]:
    """The protocol's `session-settings` body."""
    return {
        "locked": session.locked,
        "chatEnabled": session.chat_enabled,
        "reactions": session.reactions_enabled,
        "sharePolicy": session.share_policy,
        "captions": session.captions_on,
        "transcript": session.transcript_on,
    }


def breakouts(session: Session) -> dict[str, Any]:
    """The protocol's `breakouts` body: rooms, open or not, timer (everyone in the call)."""
    b = session.breakouts
    return {
        "open": b.open,
        "rooms": [r.to_wire() for r in b.rooms.values()],
        "endsAt": b.ends_at,
        "serverTime": round(time.time(), 3),
        "selfChoice": b.self_choice,
    }


def breakout_console(session: Session) -> dict[str, Any]:
    """The protocol's `breakout-console` body: the plan and help requests (facilitators)."""
    b = session.breakouts
    names = {p.id: p.name for p in session.participants()}
    return {
        "planned": dict(b.planned),
        "help": [
            {
                "participant": h.participant_id,
                "name": names.get(h.participant_id, ""),
                "room": h.room,
                "roomName": b.name_of(h.room),
                "at": h.at,
            }
            for h in b.help
        ],
    }


def waiting_room(session: Session) -> dict[str, Any]:
    """The protocol's `waiting-room` body (facilitators only)."""
    return {"waiting": [p.to_wire() for p in session.waiting()]}


def captioners(session: Session) -> dict[str, Any]:
    """The protocol's `captioners` body: captioner services connected (facilitators)."""
    return {"captioners": [c.to_wire() for c in session.captioners()]}


def share_requests(session: Session) -> dict[str, Any]:
    """The protocol's `share-requests` body (facilitators only)."""
    pending = []
    for pid in session.share_requests():
        view = session.participant(pid)
        pending.append({"id": view.id, "name": view.name})
    return {"pending": pending}


def signals(session: Session) -> dict[str, Any]:
    """The protocol's `signals` body (facilitators): every open signal with who, when
    and where, oldest first."""
    names = {p.id: p.name for p in session.participants()}
    names |= {p.id: p.name for p in session.waiting()}
    items = []
    for item in session.open_signals():
        entry = dict(item)
        entry["name"] = names.get(item["participant"], "")
        if "room" in entry:
            entry["roomName"] = session.breakouts.name_of(entry["room"])
        items.append(entry)
    return {"items": items, "count": len(items)}


def plan(session: Session) -> dict[str, Any]:
    """The protocol's `plan` body (everyone in the call): the segments, which one is
    running and until when, the whole length and the breaks planned, the spotlight."""
    names = {p.id: p.name for p in session.participants()}
    the_plan = session.plan
    segments = [
        {
            "title": s.title,
            "kind": s.kind,
            "plannedS": s.planned_s + s.extended_s,
            "topic": s.topic,
            "leaders": [{"id": pid, "name": names.get(pid, "")} for pid in s.leaders],
            "state": s.state,
        }
        for s in the_plan.segments
    ]
    running = the_plan.running
    return {
        "segments": segments,
        "current": the_plan.current,
        "startedAt": None if running is None else running.started_at,
        "endsAt": None if running is None else running.ends_at,
        "totalPlannedS": sum(s.planned_s + s.extended_s for s in the_plan.segments),
        "breaksPlannedS": sum(s.planned_s for s in the_plan.segments if s.kind == "break"),
        "leadersMayAdvance": the_plan.leaders_may_advance,
        "spotlight": the_plan.spotlight,
        "serverTime": round(time.time(), 3),
    }


def go_round(session: Session, room: str, console: bool = False) -> dict[str, Any]:
    """The protocol's `round` body (everyone in the room) or, with `console`, the
    `round-console` body (facilitators: exact states and how long each held the floor).
    In `round`, a pass reads as a finished turn: passing is nobody's business."""
    go = session.round_in(room)
    if go is None:
        return {"room": room, "active": False}
    names = {p.id: p.name for p in session.participants()}
    turns = []
    for turn in go.turns:
        entry: dict[str, Any] = {"participant": turn.participant_id}
        entry["name"] = names.get(turn.participant_id, "")
        if console:
            entry |= {"state": turn.state, "heldS": round(turn.held_s, 1), "passes": turn.passes}
        else:
            entry["state"] = {"passed": "done", "gone": "done"}.get(turn.state, turn.state)
        turns.append(entry)
    speaking = go.turns[go.current] if go.current is not None else None
    ends_at = None
    if speaking is not None and speaking.started_at is not None and go.per_person_s:
        ends_at = round(speaking.started_at + go.per_person_s, 3)
    body: dict[str, Any] = {
        "room": room,
        "active": True,
        "over": go.current is None,
        "speaker": go.speaker,
        "turns": turns,
        "perPersonS": go.per_person_s,
        "turnEndsAt": ends_at,
        "othersMuted": go.others_muted,
        "serverTime": round(time.time(), 3),
    }
    if console:
        body["startedBy"] = go.started_by
    return body


def welcome(session: Session, grant: JoinGrant, ice_servers: Sequence[IceServer]) -> dict[str, Any]:
    """The protocol's `welcome` body for the person `grant` names."""
    body: dict[str, Any] = {
        "protocol": PROTOCOL_VERSION,
        "you": {
            "id": grant.participant_id,
            "name": grant.name,
            "role": grant.role.value,
        },
        "session": {"id": session.id, "title": session.title, **session_settings(session)},
        "participants": [p.to_wire() for p in session.participants()],
        "tracks": [t.to_wire() for t in session.tracks()],
        "iceServers": [
            {"urls": list(s.urls), "username": s.username, "credential": s.credential}
            for s in ice_servers
        ],
        "hand": grant.participant_id in session.hands(),
        "mayShare": session.may_share(grant.participant_id),
        "captionsDeclined": session.declined_captions(grant.participant_id),
        "breakouts": breakouts(session),
        "rounds": [go_round(session, room) for room in session.rounds.by_room],
        "plan": plan(session),
        # What this person may do, as the Action names of server/domain/roles.py: the
        # page shows controls from this, never from role names.
        "permissions": sorted(action.value for action in Action if may(grant.role, action)),
    }
    if may(grant.role, Action.SEE_WAITING_ROOM):
        body["hands"] = list(session.hands())
        body.update(waiting_room(session))
        body["shareRequests"] = share_requests(session)["pending"]
        body["breakoutConsole"] = breakout_console(session)
        body["captioners"] = captioners(session)["captioners"]
        body["signals"] = signals(session)
    return body
