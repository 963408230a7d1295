"""The audit log: which events are recorded, and the hash chain that makes it tamper-evident."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from .events import (
    BreakoutBroadcast,
    BreakoutsChanged,
    BreakoutsClosed,
    BreakoutsOpened,
    CameraStopped,
    CaptionConsentChanged,
    CaptionerConnected,
    CaptionerLeft,
    CaptionsChanged,
    ChatSettingChanged,
    Event,
    LinkMinted,
    LinkRevoked,
    LockChanged,
    Muted,
    ParticipantAdmitted,
    ParticipantDenied,
    ParticipantJoined,
    ParticipantLeft,
    ParticipantMoved,
    ParticipantWaiting,
    ReactionsSettingChanged,
    RoundEnded,
    RoundStarted,
    SegmentStarted,
    SessionEnded,
    ShareAnswered,
    ShareEnded,
    SharePolicyChanged,
    SpotlightChanged,
    UnmuteRequested,
)

GENESIS = "0" * 64


@dataclass(frozen=True)
class AuditEntry:
    """What happened, by whom, to whom: opaque ids only, never names or content."""

    action: str
    actor: str | None
    target: str | None
    detail: str = ""


def audit_entry(event: Event) -> AuditEntry | None:
    """The audit entry an event makes, or None if it is not audited."""
    match event:
        case ParticipantJoined(participant=p):
            return AuditEntry("join", p.id, p.id, p.role.value)
        case ParticipantWaiting(participant=p):
            return AuditEntry("wait", p.id, p.id, p.role.value)
        case ParticipantAdmitted(participant_id=pid, by=by):
            return AuditEntry("admit", by.id, pid)
        case ParticipantDenied(participant_id=pid, by=by):
            return AuditEntry("deny", by.id, pid)
        case ParticipantLeft(participant_id=pid, reason=reason, by=by):
            return AuditEntry("leave", by.id if by else pid, pid, reason)
        case LockChanged(locked=locked, by=by):
            return AuditEntry("lock" if locked else "unlock", by.id, None)
        case Muted(participant_id=pid, by=by):
            return AuditEntry("mute", by.id, pid)
        case UnmuteRequested(participant_id=pid, by=by):
            return AuditEntry("ask-unmute", by.id, pid)
        case CameraStopped(participant_id=pid, by=by):
            return AuditEntry("stop-camera", by.id, pid)
        case ChatSettingChanged(enabled=enabled, by=by):
            return AuditEntry("chat-on" if enabled else "chat-off", by.id, None)
        case ShareAnswered(participant_id=pid, granted=granted, by=by):
            return AuditEntry("share-approve" if granted else "share-decline", by.id, pid)
        case ShareEnded(participant_id=pid, reason=reason, by=by) if reason == "revoked":
            return AuditEntry("share-revoke", by.id if by else None, pid)
        case SharePolicyChanged(policy=policy, by=by):
            return AuditEntry("share-policy", by.id, None, policy)
        case SessionEnded(by=by):
            return AuditEntry("end-session", by.id if by else None, None)
        case ParticipantMoved(participant=p, by=by) if by is not None:
            return AuditEntry("move", by.id, p.id, p.room)
        case BreakoutBroadcast(sender=sender):
            return AuditEntry("broadcast", sender.id, None)
        case BreakoutsChanged(by=by) if by is not None:
            return AuditEntry("breakouts-change", by.id, None)
        case BreakoutsOpened(by=by):
            return AuditEntry("breakouts-open", by.id, None)
        case CaptionsChanged(enabled=enabled, transcript=transcript, by=by):
            detail = "transcript" if transcript else ""
            return AuditEntry("captions-on" if enabled else "captions-off", by.id, None, detail)
        case CaptionConsentChanged(participant_id=pid, declined=declined):
            return AuditEntry("captions-declined" if declined else "captions-accepted", pid, pid)
        case ReactionsSettingChanged(enabled=enabled, by=by):
            return AuditEntry("reactions-on" if enabled else "reactions-off", by.id, None)
        case SegmentStarted(index=index, by=by):
            return AuditEntry("segment-start", by.id, None, str(index))
        case SpotlightChanged(participant_id=pid, by=by):
            return AuditEntry("spotlight", by.id, pid)
        case RoundStarted(room=room, by=by):
            return AuditEntry("round-start", by.id, None, room)
        case RoundEnded(room=room, by=by):
            return AuditEntry("round-end", by.id if by else None, None, room)
        case BreakoutsClosed(reason=reason, by=by):
            return AuditEntry("breakouts-close", by.id if by else None, None, reason)
        case LinkMinted(link=link):
            return AuditEntry("link-mint", None, link.participant_id, link.role.value)
        case LinkRevoked(participant_id=pid, by=by):
            return AuditEntry("link-revoke", by.id if by else None, pid)
        case CaptionerConnected(captioner=c):
            return AuditEntry("captioner-connect", c.id, c.id)
        case CaptionerLeft(participant_id=pid, reason=reason, by=by):
            return AuditEntry("captioner-leave", by.id if by else pid, pid, reason)
    return None


# A knock repeated within this many seconds of the last recorded one is counted, not
# recorded again (a link looping connect-join-disconnect must not fill the log).
KNOCK_COALESCE_S = 600.0


class KnockCoalescer:
    """Coalesces repeated knocks of one link: the first knock of a stay in the waiting
    room is recorded; repeats within KNOCK_COALESCE_S (and their departures from the
    waiting room) are counted and the count rides on the next knock recorded."""

    def __init__(self, window_s: float = KNOCK_COALESCE_S) -> None:
        self._window_s = window_s
        # target -> (time of the last recorded knock, repeats counted since then)
        self._last: dict[str, tuple[float, int]] = {}
        # targets whose current stay in the waiting room was not recorded
        self._unrecorded_stay: set[str] = set()

    def filter(self, entry: AuditEntry, now: float) -> AuditEntry | None:
        """The entry to record (perhaps with a repeat count), or None to skip it."""
        target = entry.target
        if target is None:
            return entry
        if entry.action == "wait":
            last = self._last.get(target)
            if last is not None and now - last[0] < self._window_s:
                self._last[target] = (last[0], last[1] + 1)
                self._unrecorded_stay.add(target)
                return None
            self._unrecorded_stay.discard(target)
            self._last[target] = (now, 0)
            if last is not None and last[1]:
                detail = f"{entry.detail}; {last[1]} repeated knocks before this one"
                return AuditEntry(entry.action, entry.actor, target, detail.lstrip("; "))
            return entry
        if entry.action == "leave" and target in self._unrecorded_stay:
            self._unrecorded_stay.discard(target)
            return None  # the departure of a knock that was not recorded
        if entry.action in ("join", "admit", "deny"):
            self._last.pop(target, None)
            self._unrecorded_stay.discard(target)
        return entry


def chain_record(
    previous_hash: str, seq: int, session_id: str, at: float, entry: AuditEntry
) -> dict[str, Any]:
    """A record linked to the one before it: its hash covers its content and that hash."""
    record: dict[str, Any] = {
        "seq": seq,
        "session": session_id,
        "at": round(at, 3),
        "action": entry.action,
        "actor": entry.actor,
        "target": entry.target,
        "detail": entry.detail,
        "prev": previous_hash,
    }
    record["hash"] = record_hash(record)
    return record


def record_hash(record: dict[str, Any]) -> str:
    """SHA-256 of the record's canonical JSON, without its own hash."""
    body = {k: v for k, v in record.items() if k != "hash"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def verify_chain(records: list[dict[str, Any]]) -> int | None:
    """The seq of the first record that breaks the chain, or None if it holds.

    The first record may follow records purged by retention: its `prev` is trusted.
    """
    previous: str | None = None
    for record in records:
        if record_hash(record) != record.get("hash"):
            return int(record.get("seq", -1))
        if previous is not None and record.get("prev") != previous:
            return int(record.get("seq", -1))
        previous = record["hash"]
    return None
