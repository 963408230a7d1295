"""The presenter's addressing: which sockets each event reaches. A hand-written fake
of the socket.io server keeps room membership and records, for every emit, the
sockets it reached at that moment; the connection registry and the session are real."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from server.domain.events import Event
from server.domain.model import MAIN_ROOM
from server.domain.roles import Role
from server.domain.session import Session
from server.signaling.connections import (
    Connection,
    ConnectionRegistry,
    call_room,
    facilitator_room,
    room_channel,
)
from server.signaling.presenter import Presenter
from server.signaling.protocol import SERVER_EVENT_NAMES
from server.tokens import JoinGrant

T0 = 1000.0
SID = "s_1"
CALL, STAFF = call_room(SID), facilitator_room(SID)
# Who is in the call, with their role; each has one socket, "sock_" + their id.
PEOPLE = {
    "p_t": Role.THERAPIST,
    "p_co": Role.CO_FACILITATOR,
    "p_a": Role.PATIENT,
    "p_b": Role.PATIENT,
    "p_c": Role.PATIENT,
}
FACILITATOR_SOCKETS = {"sock_p_t", "sock_p_co"}
EVERYONE = {"sock_" + pid for pid in PEOPLE}


@dataclass(frozen=True)
class Delivery:
    """One emit: the event, its body, its `to`, and the sockets it reached then."""

    event: str
    body: dict[str, Any]
    to: str
    reached: frozenset[str]


class FakeSocketServer:
    """What the presenter uses of `socketio.AsyncServer`, in memory: every socket is
    in a room named after its sid, as in python-socketio."""

    def __init__(self) -> None:
        self.members: dict[str, set[str]] = {}
        self.sent: list[Delivery] = []
        self.disconnected: list[str] = []
        self.closed: list[str] = []

    def connect(self, sid: str) -> None:
        self.members.setdefault(sid, set()).add(sid)

    async def emit(self, event: str, data: dict[str, Any], to: str) -> None:
        assert event in SERVER_EVENT_NAMES, f"{event!r} is not a server event"
        self.sent.append(Delivery(event, data, to, frozenset(self.members.get(to, set()))))

    async def enter_room(self, sid: str, room: str) -> None:
        self.members.setdefault(room, set()).add(sid)

    async def leave_room(self, sid: str, room: str) -> None:
        self.members.get(room, set()).discard(sid)

    def rooms(self, sid: str) -> list[str]:
        return [room for room, sids in self.members.items() if sid in sids]

    async def disconnect(self, sid: str) -> None:
        self.disconnected.append(sid)
        for sids in self.members.values():
            sids.discard(sid)

    async def close_room(self, room: str) -> None:
        self.closed.append(room)
        self.members.pop(room, None)

    # -- what the tests ask -------------------------------------------------------

    def of(self, event: str) -> list[Delivery]:
        return [d for d in self.sent if d.event == event]

    def reached_by(self, event: str) -> set[str]:
        """Every socket that received `event`, over all its emits."""
        return {sid for d in self.of(event) for sid in d.reached}

    def session_rooms_of(self, sid: str) -> list[str]:
        return [room for room in self.rooms(sid) if room.startswith(CALL)]


class Call:
    """A session with everyone in PEOPLE in it, each socket in the call's rooms, and a
    presenter over the fake server."""

    def __init__(self, waiting_room: bool = False) -> None:
        self.sio = FakeSocketServer()
        self.connections = ConnectionRegistry()
        self.entered: list[str] = []
        self.presenter = Presenter(self.sio, self.connections, self._enter_call)
        self.session = Session(SID, "Group", T0, waiting_room=False)
        for pid, role in PEOPLE.items():
            self.session.join(pid, pid.upper(), role, T0)
            self.connect(pid, role)
        # On only now, so that PEOPLE are in the call and newcomers wait.
        self.session.waiting_room = waiting_room

    def connect(self, pid: str, role: Role, sid: str | None = None) -> Connection:
        """A socket of `pid` bound to a grant, made current; in the call if `pid` is."""
        grant = JoinGrant(SID, pid, pid.upper(), role, T0 + 3600)
        conn = Connection(sid or "sock_" + pid, grant, joined=True)
        self.connections.add(conn)
        self.connections.make_current(conn)
        self.sio.connect(conn.sid)
        return conn

    async def enter(self, *pids: str) -> None:
        """Put the current sockets of `pids` in the call's rooms, as the namespace does."""
        for pid in pids:
            conn = self.connections.current(pid)
            assert conn is not None
            await self._enter_call(conn, self.session)
        self.sio.sent.clear()

    async def present(self, events: list[Event]) -> None:
        await self.presenter.present(self.session, events)
        await asyncio.sleep(0)  # let the background disconnects run

    async def _enter_call(self, conn: Connection, session: Session) -> None:
        # What `SignalingNamespace._enter_call` does with rooms (welcome and media aside).
        self.entered.append(conn.sid)
        conn.in_call = True
        await self.sio.enter_room(conn.sid, call_room(session.id))
        room = session.participant(conn.participant_id).room
        await self.sio.enter_room(conn.sid, room_channel(session.id, room))
        if conn.moderates:
            await self.sio.enter_room(conn.sid, facilitator_room(session.id))


async def in_call() -> Call:
    call = Call()
    await call.enter(*PEOPLE)
    return call


async def test_a_private_chat_reaches_the_facilitators_and_the_sender_only() -> None:
    call = await in_call()
    await call.present(call.session.post_chat("p_a", "facilitators", "can we talk?", T0))
    assert call.sio.reached_by("chat-message") == FACILITATOR_SOCKETS | {"sock_p_a"}
    assert {d.to for d in call.sio.of("chat-message")} == {STAFF, "sock_p_a"}
    assert all(d.body["text"] == "can we talk?" for d in call.sio.of("chat-message"))


async def test_a_facilitator_gets_their_own_private_chat_once() -> None:
    call = await in_call()
    await call.present(call.session.post_chat("p_co", "facilitators", "note", T0))
    [delivery] = call.sio.of("chat-message")
    assert delivery.to == STAFF and delivery.reached == FACILITATOR_SOCKETS


async def test_a_break_request_reaches_the_facilitators_only() -> None:
    call = await in_call()
    await call.present(call.session.signal_break("p_a", T0))
    delivery, signals = call.sio.sent
    assert delivery.event == "break-requested"
    assert delivery.to == STAFF and delivery.reached == FACILITATOR_SOCKETS
    assert delivery.body["participant"] == "p_a"
    # ...and it stays in the facilitators' signals until one of them handles it.
    assert signals.event == "signals" and signals.reached == FACILITATOR_SOCKETS
    [item] = signals.body["items"]
    assert (item["kind"], item["participant"], item["name"]) == ("break", "p_a", "P_A")
    await call.present(call.session.dismiss_signal("p_t", item["id"]))
    [cleared] = call.sio.of("signals")[1:]
    assert cleared.body == {"items": [], "count": 0}


async def test_the_hand_queue_reaches_the_facilitators_and_each_person_only_their_own() -> None:
    call = await in_call()
    await call.present(call.session.raise_hand("p_a"))
    [queue] = call.sio.of("hands")
    assert queue.to == STAFF and queue.reached == FACILITATOR_SOCKETS
    assert queue.body == {"queue": ["p_a"]}
    hands = call.sio.of("hand")
    assert all(len(d.reached) == 1 for d in hands)
    assert {d.to: d.body["raised"] for d in hands} == {sid: sid == "sock_p_a" for sid in EVERYONE}


async def test_a_room_chat_reaches_that_rooms_channel_only() -> None:
    call = await in_call()
    session = call.session
    session.set_breakout_rooms("p_t", ["Blue", "Green"])
    for pid, room in (("p_a", "r1"), ("p_b", "r1"), ("p_c", "r2")):
        session.assign_to_room("p_t", pid, room)
    # The moves take each socket from the main room's channel to its breakout room's.
    await call.present(session.open_breakouts("p_t", None, T0))
    call.sio.sent.clear()

    await call.present(session.post_chat("p_a", "room", "hello blue", T0))
    [blue] = call.sio.sent
    assert blue.event == "chat-message" and blue.body["room"] == "r1"
    assert blue.to == room_channel(SID, "r1") and blue.reached == {"sock_p_a", "sock_p_b"}

    call.sio.sent.clear()
    await call.present(session.post_chat("p_t", "room", "hello main", T0))
    [main] = call.sio.sent
    assert main.to == room_channel(SID, MAIN_ROOM) and main.reached == FACILITATOR_SOCKETS


async def test_the_waiting_room_reaches_the_facilitators_only() -> None:
    call = Call(waiting_room=True)
    await call.enter(*PEOPLE)
    call.connect("p_w", Role.PATIENT)
    await call.present(call.session.join("p_w", "Wren", Role.PATIENT, T0))
    [waiting] = call.sio.of("waiting")
    assert waiting.reached == {"sock_p_w"}
    [queue] = call.sio.of("waiting-room")
    assert queue.to == STAFF and queue.reached == FACILITATOR_SOCKETS
    assert [p["id"] for p in queue.body["waiting"]] == ["p_w"]
    # The waiting socket is in no room of the call: it hears nothing of it.
    assert call.entered == [f"sock_{pid}" for pid in PEOPLE]
    assert call.sio.session_rooms_of("sock_p_w") == []

    call.sio.sent.clear()
    await call.present(call.session.admit("p_t", "p_w"))
    [queue] = call.sio.of("waiting-room")
    assert queue.to == STAFF and queue.reached == FACILITATOR_SOCKETS
    assert queue.body == {"waiting": []}
    # Admitted: the socket enters the call and hears the call from now on.
    assert call.entered[-1] == "sock_p_w"
    call.sio.sent.clear()
    await call.present(call.session.set_locked("p_t", True))
    assert call.sio.reached_by("session-settings") == EVERYONE | {"sock_p_w"}


async def test_a_removal_tells_every_socket_of_the_person_and_takes_it_out_of_every_room() -> None:
    call = await in_call()
    session = call.session
    # p_a has a second socket (another tab) that joined the call's rooms before the
    # current one replaced it; and p_a is in a breakout room.
    old = call.connections.current("p_a")
    assert old is not None
    current = call.connect("p_a", Role.PATIENT, sid="sock_p_a_2")
    await call.enter("p_a")
    session.set_breakout_rooms("p_t", ["Blue"])
    session.assign_to_room("p_t", "p_a", "r1")
    await call.present(session.open_breakouts("p_t", None, T0))
    call.sio.sent.clear()

    await call.present(session.remove("p_t", "p_a"))

    left = call.sio.of("session-left")
    assert {d.to for d in left} == {old.sid, current.sid}
    assert all(d.body == {"reason": "removed", "by": "P_T"} for d in left)
    assert all(len(d.reached) == 1 for d in left)
    for sid in (old.sid, current.sid):
        assert call.sio.session_rooms_of(sid) == []
    assert sorted(call.sio.disconnected) == sorted([old.sid, current.sid])
    assert not old.in_call and not current.in_call
    [gone] = call.sio.of("participant-left")
    assert gone.to == CALL and gone.body == {"id": "p_a", "reason": "removed"}

    # What the call hears next does not reach the removed person.
    call.sio.sent.clear()
    await call.present(session.post_chat("p_t", "room", "welcome back", T0))
    await call.present(session.set_locked("p_t", True))
    assert call.sio.reached_by("session-settings") == EVERYONE - {"sock_p_a"}


async def test_a_plain_leave_releases_the_rooms_without_session_left() -> None:
    call = await in_call()
    await call.present(call.session.leave("p_b"))
    assert call.sio.of("session-left") == []
    assert call.sio.session_rooms_of("sock_p_b") == []
    assert call.sio.disconnected == []  # the leave handler closes its own socket


async def test_moderation_reaches_only_the_person_moderated() -> None:
    call = await in_call()
    session = call.session
    await call.present(session.mute("p_t", "p_a"))
    await call.present(session.ask_to_unmute("p_t", "p_a"))
    await call.present(session.stop_camera("p_t", "p_a"))
    for event in ("muted", "unmute-requested", "camera-stopped"):
        [delivery] = call.sio.of(event)
        assert delivery.reached == {"sock_p_a"} and delivery.body == {"by": "P_T"}
    assert call.sio.reached_by("participant-updated") == EVERYONE


async def test_the_end_of_the_session_tells_everyone_and_closes_its_rooms() -> None:
    call = await in_call()
    session = call.session
    session.set_breakout_rooms("p_t", ["Blue", "Green"])
    call.sio.sent.clear()

    await call.present(session.end("p_t"))

    assert {d.to for d in call.sio.of("session-ended")} == EVERYONE
    channels = [room_channel(SID, r) for r in (MAIN_ROOM, "r1", "r2")]
    assert set(call.sio.closed) == {CALL, STAFF, *channels}
    assert all(call.sio.session_rooms_of(sid) == [] for sid in EVERYONE)
    assert sorted(call.sio.disconnected) == sorted(EVERYONE)


async def test_every_event_the_presenter_sends_is_in_the_protocol() -> None:
    # The fake refuses a name outside the protocol at once; this walks many events.
    call = Call(waiting_room=True)
    await call.enter(*PEOPLE)
    session = call.session
    call.connect("p_w", Role.PATIENT)
    commands: list[Callable[[], list[Event]]] = [
        lambda: session.join("p_w", "Wren", Role.PATIENT, T0),
        lambda: session.deny("p_t", "p_w", "Thursday's group, please"),
        lambda: session.set_chat("p_t", False),
        lambda: session.raise_hand("p_b"),
        lambda: session.request_share("p_b"),
        lambda: session.answer_share("p_t", "p_b", True),
        lambda: session.set_breakout_rooms("p_t", ["Blue"]),
        lambda: session.assign_to_room("p_t", "p_c", "r1"),
        lambda: session.open_breakouts("p_t", 600.0, T0),
        lambda: session.broadcast("p_t", "Five minutes", T0),
        lambda: session.request_help("p_c", T0),
        lambda: session.close_breakouts("p_t"),
        lambda: session.set_captions("p_t", True, False),
        lambda: session.connect_captioner("p_cap", "Captions", Role.CAPTIONER, T0),
        lambda: session.drop("p_b", T0),
        lambda: session.end("p_t"),
    ]
    for command in commands:
        await call.present(command())
    assert {d.event for d in call.sio.sent} <= SERVER_EVENT_NAMES
    assert len({d.event for d in call.sio.sent}) >= 15
