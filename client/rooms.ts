// Breakout rooms: the facilitator's room console (create, assign, open with a timer,
// move, visit, broadcast, close, help requests), and for everyone the room badge,
// countdown, help button and self-chosen room.

import { notify } from "./panel.js";
import { ACTIONS, type Breakouts, type On } from "./protocol.js";
import { $, may, myRoom, roomName, state } from "./state.js";
import { renderRoomList } from "./ui/roomlist.js";


/** Seconds left on the breakout timer, or null. */
function secondsLeft() {
  const { open, endsAt } = state.breakouts;
  if (!open || endsAt === null) return null;
  return Math.max(0, Math.round(endsAt - (Date.now() / 1000 + state.clockSkew)));
}

function clock(s: number): string {
  const m = Math.floor(s / 60);
  return `${m}:${String(s % 60).padStart(2, "0")}`;
}

/** Keep a multi-select listing the people an assignment spreads (selection kept). */
function fillPeople(select: HTMLSelectElement): void {
  const people = [...state.participants.values()].filter(
    (p) => p.role === "patient" || p.role === "peer-leader",
  );
  const key = people.map((p) => p.id).join(",");
  if (select.dataset.people === key) return;
  const chosen = new Set(Array.from(select.selectedOptions, (o) => o.value));
  select.replaceChildren();
  for (const p of people) {
    const option = document.createElement("option");
    option.value = p.id;
    option.textContent = p.name;
    option.selected = chosen.has(p.id);
    select.append(option);
  }
  select.dataset.people = key;
}

/** The selected ids of a multi-select, as a group (none if fewer than two). */
function group(id: string): string[][] {
  const ids = Array.from($<HTMLSelectElement>(id).selectedOptions, (o) => o.value);
  return ids.length >= 2 ? [ids] : [];
}

function renderRoomConsole() {
  const section = $("rooms-console");
  section.hidden = !may(ACTIONS.manageBreakouts);
  if (section.hidden) return;
  const { open, rooms } = state.breakouts;
  $("rooms-setup").hidden = open;
  $("rooms-running").hidden = !open;
  $<HTMLButtonElement>("rooms-open").disabled = rooms.length === 0;
  $<HTMLButtonElement>("rooms-assign").disabled = rooms.length === 0;
  $<HTMLInputElement>("rooms-self-choice").checked = state.breakouts.selfChoice;
  for (const id of ["rooms-together", "rooms-apart"]) fillPeople($<HTMLSelectElement>(id));
  renderRoomList();
}

function renderRoomBadge() {
  const room = myRoom();
  const badge = $("room-badge");
  badge.hidden = room === "main";
  const me = state.participants.get(state.myId);
  badge.textContent = room === "main" ? "" : `${roomName(room)}${me?.visiting ? " (visiting)" : ""}`;
  const left = secondsLeft();
  const timer = $("room-timer");
  timer.hidden = left === null;
  timer.textContent = left === null ? "" : `${clock(left)} left`;
  $("ask-help").hidden = room === "main" || !may(ACTIONS.askForHelp);
  const choose = $<HTMLSelectElement>("choose-room");
  const mayChoose =
    state.breakouts.open && state.breakouts.selfChoice && may(ACTIONS.chooseOwnRoom);
  choose.hidden = !mayChoose;
  if (mayChoose && choose.options.length !== state.breakouts.rooms.length + 1) {
    choose.replaceChildren();
    for (const id of ["main", ...state.breakouts.rooms.map((r) => r.id)]) {
      const option = document.createElement("option");
      option.value = id;
      option.textContent = roomName(id);
      choose.append(option);
    }
  }
  if (mayChoose) choose.value = room;
}

export function renderRooms() {
  renderRoomConsole();
  renderRoomBadge();
}

export function takeBreakouts(body: Breakouts): void {
  state.breakouts = body;
  state.clockSkew = body.serverTime - Date.now() / 1000;
}

/** Wire the room controls once; `on(name, handler)` subscribes to protocol events. */
export function setUpRooms(on: On): void {
  on("breakouts", takeBreakouts);
  on("breakout-console", (body) => (state.breakoutConsole = body));
  on("moved", (body) => {
    const by = body.by ? ` (moved by ${body.by})` : "";
    notify(`You are now in ${body.roomName}${by}.`, undefined, "moved");
  });
  on("breakouts-closed", (body) =>
    notify(
      body.reason === "timer"
        ? "Time is up: everyone is back in the main room."
        : "The breakout rooms are closed: everyone is back in the main room.",
      undefined,
      "breakouts-closed",
    ),
  );
  on("breakout-warning", (body) =>
    notify(`The breakout rooms close in ${body.secondsLeft} seconds.`, undefined, "breakout-warning"),
  );
  on("broadcast", (body) =>
    notify(`${body.fromName} to all rooms: ${body.text}`, undefined, "broadcast"),
  );
  on("help-requested", (body) =>
    notify(
      `${body.name} asks for help in ${body.roomName}.`,
      { label: "Visit", run: () => state.connection?.visit(body.room) },
      "help-requested",
    ),
  );
  $("rooms-create").addEventListener("click", () => {
    const raw = $<HTMLInputElement>("rooms-names").value;
    const count = Number($<HTMLInputElement>("rooms-count").value) || 2;
    const names = raw.trim()
      ? raw.split(",").map((n) => n.trim()).filter(Boolean)
      : Array.from({ length: count }, (_, i) => `Room ${i + 1}`);
    state.connection?.createRooms(names);
  });
  $("rooms-assign").addEventListener("click", () => {
    const mode = $<HTMLSelectElement>("rooms-mode").value;
    state.connection?.assignRooms(
      mode === "balanced" ? "balanced" : "random",
      group("rooms-together"),
      group("rooms-apart"),
    );
  });
  $("rooms-open").addEventListener("click", () => {
    const minutes = Number($<HTMLInputElement>("rooms-minutes").value);
    state.connection?.openRooms(minutes > 0 ? Math.round(minutes * 60) : null);
  });
  $("rooms-self-choice").addEventListener("change", (e) => {
    state.connection?.setSelfChoice((e.target as HTMLInputElement).checked);
  });
  for (const [id, delta] of ([
    ["rooms-extend", 300],
    ["rooms-shorten", -300],
  ] as const)) {
    $(id).addEventListener("click", () => {
      const left = secondsLeft() ?? 0;
      state.connection?.setRoomTimer(Math.max(10, left + delta));
    });
  }
  $("rooms-close").addEventListener("click", () => state.connection?.closeRooms());
  $("rooms-broadcast").addEventListener("submit", (e) => {
    e.preventDefault();
    const input = $<HTMLInputElement>("rooms-broadcast-text");
    if (input.value.trim()) state.connection?.broadcast(input.value.trim());
    input.value = "";
  });
  $("ask-help").addEventListener("click", () => {
    state.connection?.askForHelp();
    notify("The facilitators know you would like help in this room.", undefined, "help-sent");
  });
  $("choose-room").addEventListener("change", (e) => {
    state.connection?.chooseRoom((e.target as HTMLSelectElement).value);
  });
  // The countdown ticks on its own between server updates.
  setInterval(renderRoomBadge, 1000);
}
