// The facilitator's list of breakout rooms, as a keyed Preact view: rooms by id,
// people by id, so a change elsewhere never rebuilds a row (an open move menu, a
// focused button stay as they are).

import { render } from "preact";
import type { Participant } from "../protocol.js";
import { $, myRoom, roomName, state } from "../state.js";

/** The room each person is in now (open) or will go to (planned). */
export function roomOf(p: Participant): string {
  if (state.breakouts.open) return p.room;
  return state.breakoutConsole.planned[p.id] ?? "main";
}

function MoveSelect({ p }: { p: Participant }) {
  return (
    <select
      data-action="move"
      aria-label={`Room for ${p.name}`}
      value={roomOf(p)}
      onChange={(e) => state.connection?.moveTo(p.id, (e.target as HTMLSelectElement).value)}
    >
      {["main", ...state.breakouts.rooms.map((r) => r.id)].map((id) => (
        <option key={id} value={id}>
          {roomName(id)}
        </option>
      ))}
    </select>
  );
}

function PersonRow({ p, room }: { p: Participant; room: string }) {
  const conn = state.connection;
  const leader = state.breakouts.rooms.find((r) => r.id === room)?.leader === p.id;
  const help = state.breakoutConsole.help.some((h) => h.participant === p.id);
  return (
    <li data-participant={p.id}>
      <span class="who">
        {p.name + (p.visiting ? " (visiting)" : "") + (leader ? " (leader)" : "")}
      </span>
      {help && <span class="help-flag">asks for help</span>}
      {help && (
        <button type="button" data-action="clear-help" aria-label={`Done helping ${p.name}`} onClick={() => conn?.clearHelp(p.id)}>
          Done
        </button>
      )}
      {p.role === "peer-leader" && room !== "main" && (
        <button
          type="button"
          data-action={leader ? "unset-leader" : "set-leader"}
          aria-label={leader ? `${p.name} stops leading` : `Make ${p.name} the leader`}
          onClick={() => conn?.setLeader(room, leader ? null : p.id)}
        >
          {leader ? "Not leader" : "Make leader"}
        </button>
      )}
      {p.id !== state.myId && p.role !== "therapist" && p.role !== "co-facilitator" && (
        <MoveSelect p={p} />
      )}
    </li>
  );
}

function RoomItem({ id }: { id: string }) {
  const open = state.breakouts.open;
  const inRoom = [...state.participants.values()].filter(
    (p) => p.role !== "observer" && roomOf(p) === id,
  );
  const here = myRoom() === id;
  return (
    <li class="room" data-room={id}>
      <div class="room-head">
        <strong>{roomName(id)}</strong>
        <span class="count">{`(${inRoom.length})`}</span>
        {open && id !== "main" && !here && (
          <button type="button" data-action="visit" aria-label={`Visit ${roomName(id)}`} onClick={() => state.connection?.visit(id)}>
            Visit
          </button>
        )}
        {open && id === "main" && !here && (
          <button type="button" data-action="visit-main" onClick={() => state.connection?.visit("main")}>
            Back to main
          </button>
        )}
      </div>
      <ul class="people">
        {inRoom.map((p) => (
          <PersonRow key={p.id} p={p} room={id} />
        ))}
      </ul>
    </li>
  );
}

export function renderRoomList(): void {
  const rooms = state.breakouts.rooms;
  render(
    <>
      {rooms.length > 0 &&
        ["main", ...rooms.map((r) => r.id)].map((id) => <RoomItem key={id} id={id} />)}
    </>,
    $("room-list"),
  );
}
