// Breakout rooms: the facilitator's room console (create, assign, open with a timer,
// move, visit, broadcast, close, help requests), and for everyone the room badge,
// countdown, help button and self-chosen room.

import { notify } from "./panel.js";
import { ACTIONS } from "./protocol.js";
import { $, button, may, myRoom, roomName, state } from "./state.js";

/** @typedef {import("./protocol.js").Participant} Participant */

/** Seconds left on the breakout timer, or null. */
function secondsLeft() {
  const { open, endsAt } = state.breakouts;
  if (!open || endsAt === null) return null;
  return Math.max(0, Math.round(endsAt - (Date.now() / 1000 + state.clockSkew)));
}

/** @param {number} s */
function clock(s) {
  const m = Math.floor(s / 60);
  return `${m}:${String(s % 60).padStart(2, "0")}`;
}

/** The room each person is in now (open) or will go to (planned). */
function roomOf(/** @type {Participant} */ p) {
  if (state.breakouts.open) return p.room;
  return state.breakoutConsole.planned[p.id] ?? "main";
}

/** A select that moves `p` to the chosen room. */
function moveSelect(/** @type {Participant} */ p) {
  const select = document.createElement("select");
  select.dataset.action = "move";
  select.setAttribute("aria-label", `Room for ${p.name}`);
  for (const id of ["main", ...state.breakouts.rooms.map((r) => r.id)]) {
    const option = document.createElement("option");
    option.value = id;
    option.textContent = roomName(id);
    select.append(option);
  }
  select.value = roomOf(p);
  select.addEventListener("change", () => state.connection?.moveTo(p.id, select.value));
  return select;
}

/** Keep a multi-select listing the people an assignment spreads (selection kept). */
function fillPeople(/** @type {HTMLSelectElement} */ select) {
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
function group(/** @type {string} */ id) {
  const ids = Array.from(/** @type {HTMLSelectElement} */ ($(id)).selectedOptions, (o) => o.value);
  return ids.length >= 2 ? [ids] : [];
}

function renderRoomConsole() {
  const section = $("rooms-console");
  section.hidden = !may(ACTIONS.manageBreakouts);
  if (section.hidden) return;
  const { open, rooms } = state.breakouts;
  $("rooms-setup").hidden = open;
  $("rooms-running").hidden = !open;
  /** @type {HTMLButtonElement} */ ($("rooms-open")).disabled = rooms.length === 0;
  /** @type {HTMLButtonElement} */ ($("rooms-assign")).disabled = rooms.length === 0;
  /** @type {HTMLInputElement} */ ($("rooms-self-choice")).checked = state.breakouts.selfChoice;
  for (const id of ["rooms-together", "rooms-apart"]) fillPeople(/** @type {HTMLSelectElement} */ ($(id)));
  const list = $("room-list");
  // Rebuilt only when what it shows changed: every event renders the page, and a
  // list rebuilt under the cursor would close a move menu the therapist has open.
  const shown = JSON.stringify([
    open,
    rooms,
    state.breakoutConsole.help,
    myRoom(),
    [...state.participants.values()].map((p) => [p.id, p.name, p.role, roomOf(p), p.visiting]),
  ]);
  if (list.dataset.shown === shown) return;
  list.dataset.shown = shown;
  list.replaceChildren();
  if (rooms.length === 0) return;
  const help = new Map(state.breakoutConsole.help.map((h) => [h.participant, h]));
  for (const id of ["main", ...rooms.map((r) => r.id)]) {
    const li = document.createElement("li");
    li.className = "room";
    li.dataset.room = id;
    const head = document.createElement("div");
    head.className = "room-head";
    const title = document.createElement("strong");
    title.textContent = roomName(id);
    head.append(title);
    const inRoom = [...state.participants.values()].filter(
      (p) => p.role !== "observer" && roomOf(p) === id,
    );
    const count = document.createElement("span");
    count.className = "count";
    count.textContent = `(${inRoom.length})`;
    head.append(count);
    if (open && id !== "main" && myRoom() !== id) {
      head.append(button("Visit", () => state.connection?.visit(id), "visit"));
    }
    if (open && id === "main" && myRoom() !== "main") {
      head.append(button("Back to main", () => state.connection?.visit("main"), "visit-main"));
    }
    li.append(head);
    const people = document.createElement("ul");
    people.className = "people";
    for (const p of inRoom) {
      const row = document.createElement("li");
      row.dataset.participant = p.id;
      const who = document.createElement("span");
      who.className = "who";
      const leader = state.breakouts.rooms.find((r) => r.id === id)?.leader === p.id;
      who.textContent = p.name + (p.visiting ? " (visiting)" : "") + (leader ? " (leader)" : "");
      row.append(who);
      const request = help.get(p.id);
      if (request) {
        const flag = document.createElement("span");
        flag.className = "help-flag";
        flag.textContent = "asks for help";
        row.append(flag, button("Done", () => state.connection?.clearHelp(p.id), "clear-help"));
      }
      if (p.role === "peer-leader" && id !== "main") {
        row.append(
          leader
            ? button("Not leader", () => state.connection?.setLeader(id, null), "unset-leader")
            : button("Make leader", () => state.connection?.setLeader(id, p.id), "set-leader"),
        );
      }
      if (p.id !== state.myId && p.role !== "therapist" && p.role !== "co-facilitator") {
        row.append(moveSelect(p));
      }
      people.append(row);
    }
    li.append(people);
    list.append(li);
  }
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
  const choose = /** @type {HTMLSelectElement} */ ($("choose-room"));
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

/** @param {import("./protocol.js").Breakouts} body */
export function takeBreakouts(body) {
  state.breakouts = body;
  state.clockSkew = body.serverTime - Date.now() / 1000;
}

/**
 * Wire the room controls once; `on(name, handler)` subscribes to protocol events.
 * @param {import("./protocol.js").On} on
 */
export function setUpRooms(on) {
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
    const raw = /** @type {HTMLInputElement} */ ($("rooms-names")).value;
    const count = Number(/** @type {HTMLInputElement} */ ($("rooms-count")).value) || 2;
    const names = raw.trim()
      ? raw.split(",").map((n) => n.trim()).filter(Boolean)
      : Array.from({ length: count }, (_, i) => `Room ${i + 1}`);
    state.connection?.createRooms(names);
  });
  $("rooms-assign").addEventListener("click", () => {
    const mode = /** @type {HTMLSelectElement} */ ($("rooms-mode")).value;
    state.connection?.assignRooms(
      mode === "balanced" ? "balanced" : "random",
      group("rooms-together"),
      group("rooms-apart"),
    );
  });
  $("rooms-open").addEventListener("click", () => {
    const minutes = Number(/** @type {HTMLInputElement} */ ($("rooms-minutes")).value);
    state.connection?.openRooms(minutes > 0 ? Math.round(minutes * 60) : null);
  });
  $("rooms-self-choice").addEventListener("change", (e) => {
    state.connection?.setSelfChoice(/** @type {HTMLInputElement} */ (e.target).checked);
  });
  for (const [id, delta] of /** @type {const} */ ([
    ["rooms-extend", 300],
    ["rooms-shorten", -300],
  ])) {
    $(id).addEventListener("click", () => {
      const left = secondsLeft() ?? 0;
      state.connection?.setRoomTimer(Math.max(10, left + delta));
    });
  }
  $("rooms-close").addEventListener("click", () => state.connection?.closeRooms());
  $("rooms-broadcast").addEventListener("submit", (e) => {
    e.preventDefault();
    const input = /** @type {HTMLInputElement} */ ($("rooms-broadcast-text"));
    if (input.value.trim()) state.connection?.broadcast(input.value.trim());
    input.value = "";
  });
  $("ask-help").addEventListener("click", () => {
    state.connection?.askForHelp();
    notify("The facilitators know you would like help in this room.", undefined, "help-sent");
  });
  $("choose-room").addEventListener("change", (e) => {
    state.connection?.chooseRoom(/** @type {HTMLSelectElement} */ (e.target).value);
  });
  // The countdown ticks on its own between server updates.
  setInterval(renderRoomBadge, 1000);
}
