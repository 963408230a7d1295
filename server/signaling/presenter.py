"""Turns session events into socket.io messages, each to the people allowed to see it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import socketio

from ..domain.events import (
    BreakoutBroadcast,
    BreakoutsChanged,
    BreakoutsClosed,
    BreakoutsOpened,
    BreakoutWarning,
    BreakRequested,
    CameraStopped,
    CaptionConsentChanged,
    CaptionerConnected,
    CaptionerLeft,
    CaptionsChanged,
    ChatPosted,
    ChatSettingChanged,
    Event,
    FeedbackSent,
    HandsChanged,
    HelpRequested,
    LinkRevoked,
    LockChanged,
    Muted,
    ParticipantAdmitted,
    ParticipantDenied,
    ParticipantJoined,
    ParticipantLeft,
    ParticipantMoved,
    ParticipantRejoined,
    ParticipantUpdated,
    ParticipantWaiting,
    PlanChanged,
    Reacted,
    ReactionsSettingChanged,
    RoundChanged,
    RoundEnded,
    RoundStarted,
    SegmentStarted,
    SessionEnded,
    ShareAnswered,
    ShareEnded,
    SharePolicyChanged,
    ShareRequested,
    SpotlightChanged,
    TrackPublished,
    TrackUnpublished,
    UnmuteRequested,
    WaitingRoomMessage,
)
from ..domain.model import MAIN_ROOM, Presence
from ..domain.session import Session
from .bodies import (
    breakout_console,
    breakouts,
    captioners,
    go_round,
    plan,
    session_settings,
    share_requests,
    signals,
    waiting_room,
)
from .connections import Connection, ConnectionRegistry, call_room, facilitator_room, room_channel

EnterCall = Callable[[Connection, Session], Awaitable[None]]


class Presenter:
    """Host listener: tells each person what changed, if they may know it."""

    def __init__(
        self, sio: socketio.AsyncServer, connections: ConnectionRegistry, enter_call: EnterCall
    ) -> None:
        self._sio = sio
        self._connections = connections
        self._enter_call = enter_call
        self._tasks: set[asyncio.Future[Any]] = set()
        # The last `signals` body sent to each session's facilitators.
        self._signals_sent: dict[str, dict[str, Any]] = {}

    async def present(self, session: Session, events: list[Event]) -> None:
        """Emit what `events` mean, in order."""
        room, staff = call_room(session.id), facilitator_room(session.id)
        waiting_changed = False
        rounds_changed: list[str] = []
        plan_changed = False
        breakouts_changed = False
        for event in events:
            match event:
                case ParticipantJoined(participant=p):
                    await self._emit("participant-joined", p.to_wire(), room)
                    await self._bring_in(p.id, session)
                    waiting_changed = True
                case ParticipantWaiting(participant=p):
                    await self._to(p.id, "waiting", {"session": {"title": session.title}})
                    waiting_changed = True
                case ParticipantAdmitted():
                    waiting_changed = True
                case ParticipantDenied(participant_id=pid, message=message):
                    await self._to(pid, "denied", {"message": message})
                    waiting_changed = True
                case ParticipantUpdated(participant=p):
                    await self._emit("participant-updated", p.to_wire(), room)
                    if p.presence is Presence.PRESENT:
                        await self._bring_in(p.id, session)  # back within the grace period
                case ParticipantRejoined(participant=p):
                    await self._bring_in(p.id, session)
                case ParticipantLeft(participant_id=pid, reason=reason, by=by):
                    await self._emit("participant-left", {"id": pid, "reason": reason}, room)
                    await self._release(pid, reason, by.name if by else None, room, staff)
                    waiting_changed = True
                case TrackPublished(track=t):
                    await self._emit("track-published", t.to_wire(), room)
                case TrackUnpublished(track_id=tid):
                    await self._emit("track-unpublished", {"id": tid}, room)
                case CaptionConsentChanged(participant_id=pid, declined=declined):
                    await self._to(pid, "caption-consent", {"declined": declined})
                case (
                    LockChanged()
                    | ChatSettingChanged()
                    | SharePolicyChanged()
                    | CaptionsChanged()
                    | ReactionsSettingChanged()
                ):
                    await self._emit("session-settings", session_settings(session), room)
                case Muted(participant_id=pid, by=by):
                    await self._to(pid, "muted", {"by": by.name})
                case UnmuteRequested(participant_id=pid, by=by):
                    await self._to(pid, "unmute-requested", {"by": by.name})
                case CameraStopped(participant_id=pid, by=by):
                    await self._to(pid, "camera-stopped", {"by": by.name})
                case HandsChanged(queue=queue):
                    await self._emit("hands", {"queue": list(queue)}, staff)
                    for conn in self._connections.in_session(session.id):
                        if conn.in_call:
                            raised = conn.participant_id in queue
                            await self._emit("hand", {"raised": raised}, conn.sid)
                case ChatPosted(
                    message_id=mid, sender=sender, to=to, text=text, at=at, room=chat_room
                ):
                    body = {
                        "id": mid,
                        "from": sender.id,
                        "fromName": sender.name,
                        "to": to,
                        "text": text,
                        "at": at,
                    }
                    if to == "room":
                        body["room"] = chat_room
                        await self._emit("chat-message", body, room_channel(session.id, chat_room))
                    elif to == "participant" and event.recipient is not None:
                        # A facilitator to one person: them, and every facilitator.
                        body["participant"] = event.recipient
                        await self._emit("chat-message", body, staff)
                        await self._to_unless_staff(event.recipient, "chat-message", body)
                    else:
                        await self._emit("chat-message", body, staff)
                        await self._to_unless_staff(sender.id, "chat-message", body)
                case BreakRequested(participant=who, at=at):
                    await self._emit(
                        "break-requested",
                        {"participant": who.id, "name": who.name, "at": at},
                        staff,
                    )
                case ShareRequested() | ShareAnswered():
                    await self._emit("share-requests", share_requests(session), staff)
                    if isinstance(event, ShareAnswered):
                        body = {"granted": event.granted, "by": event.by.name}
                        await self._to(event.participant_id, "share-answer", body)
                case ShareEnded(participant_id=pid, reason=reason, by=by):
                    ended: dict[str, Any] = {"reason": reason}
                    if by is not None:
                        ended["by"] = by.name
                    await self._to(pid, "share-ended", ended)
                case ParticipantMoved(participant=p, from_room=old, by=by):
                    await self._emit("participant-updated", p.to_wire(), room)
                    await self._switch_channel(session.id, p.id, old, p.room)
                    moved: dict[str, Any] = {
                        "room": p.room,
                        "roomName": session.breakouts.name_of(p.room),
                    }
                    if by is not None:
                        moved["by"] = by.name
                    await self._to(p.id, "moved", moved)
                case FeedbackSent(segment=index, leaders=leaders, sender=sender):
                    body = {
                        "segment": index,
                        "title": session.plan.segments[index].title,
                        "from": sender.id,
                        "fromName": sender.name,
                        "kind": event.kind,
                        "text": event.text,
                        "at": event.at,
                        "leaders": list(leaders),
                    }
                    # The leaders and the facilitators, never the group; once each.
                    await self._emit("feedback", body, staff)
                    for leader in leaders:
                        await self._to_unless_staff(leader, "feedback", body)
                case WaitingRoomMessage(text=text, by=by, at=at):
                    body = {"text": text, "fromName": by.name, "at": at}
                    for waiting in session.waiting():
                        await self._to(waiting.id, "waiting-message", body)
                case Reacted(participant_id=pid, room=where, reaction=reaction):
                    body = {"participant": pid, "reaction": reaction}
                    await self._emit("reaction", body, room_channel(session.id, where))
                case PlanChanged() | SegmentStarted() | SpotlightChanged():
                    plan_changed = True
                case RoundStarted(room=r) | RoundChanged(room=r) | RoundEnded(room=r):
                    rounds_changed.append(r)
                case BreakoutsChanged():
                    breakouts_changed = True
                case BreakoutsOpened():
                    pass  # the moves and `breakouts` tell it
                case BreakoutsClosed(reason=reason, by=by):
                    closed: dict[str, Any] = {"reason": reason}
                    if by is not None:
                        closed["by"] = by.name
                    await self._emit("breakouts-closed", closed, room)
                case BreakoutWarning(seconds_left=left):
                    await self._emit("breakout-warning", {"secondsLeft": left}, room)
                case BreakoutBroadcast(sender=sender, text=text, at=at):
                    body = {"from": sender.id, "fromName": sender.name, "text": text, "at": at}
                    await self._emit("broadcast", body, room)
                case HelpRequested(participant=who, room=help_room, room_name=name, at=at):
                    body = {
                        "participant": who.id,
                        "name": who.name,
                        "room": help_room,
                        "roomName": name,
                        "at": at,
                    }
                    await self._emit("help-requested", body, staff)
                case SessionEnded():
                    for conn in self._connections.in_session(session.id):
                        await self._emit("session-ended", {}, conn.sid)
                        self.background(self._sio.disconnect(conn.sid))
                    # Whatever socket is still in a room of the session hears no more.
                    rooms = [MAIN_ROOM, *session.breakouts.rooms]
                    for channel in (room, staff, *(room_channel(session.id, r) for r in rooms)):
                        await self._sio.close_room(channel)
                case CaptionerConnected():
                    await self._emit("captioners", captioners(session), staff)
                case CaptionerLeft(participant_id=pid, reason=reason, by=by):
                    await self._emit("captioners", captioners(session), staff)
                    if reason != "left":
                        await self._close_sockets(pid, reason, by.name if by else None)
                case LinkRevoked(participant_id=pid, by=by):
                    # A holder in the session was released by the events before this one;
                    # what is left is a socket that connected and never joined.
                    if not any(
                        isinstance(e, ParticipantLeft | CaptionerLeft) and e.participant_id == pid
                        for e in events
                    ):
                        await self._close_sockets(pid, "revoked", by.name if by else None)
        # The facilitators' signals: pushed when the list changed, not with every event.
        open_now = signals(session)
        if session.ended:
            self._signals_sent.pop(session.id, None)
        elif open_now != self._signals_sent.get(session.id):
            self._signals_sent[session.id] = open_now
            await self._emit("signals", open_now, staff)
        if plan_changed:
            await self._emit("plan", plan(session), room)
        for r in dict.fromkeys(rounds_changed):
            await self._emit("round", go_round(session, r), room_channel(session.id, r))
            await self._emit("round-console", go_round(session, r, console=True), staff)
        if waiting_changed:
            await self._emit("waiting-room", waiting_room(session), staff)
        if breakouts_changed:
            await self._emit("breakouts", breakouts(session), room)
            await self._emit("breakout-console", breakout_console(session), staff)

    async def _bring_in(self, participant_id: str, session: Session) -> None:
        """The person's current connection enters the call (rooms, welcome) unless it
        already has."""
        conn = self._connections.current(participant_id)
        if conn is not None and not conn.in_call:
            await self._enter_call(conn, session)

    async def _switch_channel(self, session_id: str, pid: str, old: str, new: str) -> None:
        """Room-scoped messages (chat) follow the person to their new room."""
        conn = self._connections.current(pid)
        if conn is not None and conn.in_call:
            await self._sio.leave_room(conn.sid, room_channel(session_id, old))
            await self._sio.enter_room(conn.sid, room_channel(session_id, new))

    async def _release(self, pid: str, reason: str, by: str | None, room: str, staff: str) -> None:
        """The participant is out of the session: their socket is done (but not on a
        plain leave, which the leave handler closes itself)."""
        current = self._connections.release(pid)
        # Every socket of theirs leaves every room of the session, so nothing more
        # reaches it; all but a plain leave's own socket are closed here.
        others = [c for c in self._connections.of_participant(pid) if c is not current]
        for conn in ([current] if current is not None else []) + others:
            conn.in_call = False
            await self._sio.leave_room(conn.sid, room)
            await self._sio.leave_room(conn.sid, staff)
            for channel in self._sio.rooms(conn.sid):
                if channel.startswith(f"{room}:room:"):
                    await self._sio.leave_room(conn.sid, channel)
        if reason in ("left", "ended"):
            return
        body: dict[str, Any] = {"reason": reason}
        if by is not None:
            body["by"] = by
        for conn in ([current] if current is not None else []) + others:
            await self._emit("session-left", body, conn.sid)
            self.background(self._sio.disconnect(conn.sid))

    async def _close_sockets(self, pid: str, reason: str, by: str | None) -> None:
        """Every socket bound to this participant's link gets `session-left` and is
        closed (a captioner's sockets, or ones that never joined, are in no room)."""
        body: dict[str, Any] = {"reason": reason}
        if by is not None:
            body["by"] = by
        for conn in self._connections.of_participant(pid):
            await self._emit("session-left", body, conn.sid)
            self.background(self._sio.disconnect(conn.sid))

    async def _to(self, participant_id: str, event: str, body: dict[str, Any]) -> None:
        conn = self._connections.current(participant_id)
        if conn is not None:
            await self._emit(event, body, conn.sid)

    async def _to_unless_staff(self, participant_id: str, event: str, body: dict[str, Any]) -> None:
        """To the person, unless they are a facilitator (who has it from the facilitators'
        room already): something private reaches them once."""
        conn = self._connections.current(participant_id)
        if conn is not None and not conn.moderates:
            await self._emit(event, body, conn.sid)

    async def _emit(self, event: str, body: dict[str, Any], to: str) -> None:
        await self._sio.emit(event, body, to=to)

    async def settled(self) -> None:
        """Wait for what runs in the background now (e.g. sockets being sent away)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def background(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run `coro` on its own, keeping a reference until it is done."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
