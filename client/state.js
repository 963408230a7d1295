// What the page knows of the session; the UI modules render from it.

/** @typedef {import("./protocol.js").Participant} Participant */
/** @typedef {import("./protocol.js").Track} Track */
/** @typedef {import("./protocol.js").ChatMessage} ChatMessage */

export const state = {
  /** @type {import("./protocol.js").CallConnection | null} */
  connection: null,
  myId: "",
  myRole: "",
  /** @type {Map<string, Participant>} */
  participants: new Map(),
  /** @type {Map<string, Track>} */
  tracks: new Map(),
  /** @type {Map<string, MediaStreamTrack>} */
  remoteTracks: new Map(),
  /** @type {Participant[]} */
  waiting: [],
  /** @type {string[]} */
  hands: [],
  handRaised: false,
  locked: false,
  chatEnabled: true,
  /** @type {ChatMessage[]} */
  chat: [],
  mayShare: false,
  sharePolicy: "replace",
  /** @type {{id: string, name: string}[]} */
  shareRequests: [],
  /** @type {import("./protocol.js").Breakouts} */
  breakouts: { open: false, rooms: [], endsAt: null, serverTime: 0, selfChoice: false },
  // Server clock minus ours (seconds), for the breakout countdown.
  clockSkew: 0,
  /** @type {import("./protocol.js").BreakoutConsole} */
  breakoutConsole: { planned: {}, help: [] },
  // Captioner services connected to the session (facilitators are told).
  /** @type {import("./protocol.js").Captioner[]} */
  captioners: [],
  // The actions this person holds (protocol.js permissionsOf, from `welcome`).
  /** @type {Set<string>} */
  permissions: new Set(),
  // Who is talking now (participant ids), from audio levels.
  /** @type {Set<string>} */
  speaking: new Set(),
  // Link quality per participant as the page measures its own ("good" | "poor").
  quality: "good",
  // The server paused the others' video to this page (its link is struggling).
  videoPaused: false,
};

/**
 * Whether this person holds an action (protocol.js ACTIONS); the page shows only
 * what the server says they may do.
 * @param {string} action
 */
export function may(action) {
  return state.permissions.has(action);
}

/** The room this page is in ("main" or a breakout room's id). */
export function myRoom() {
  return state.participants.get(state.myId)?.room ?? "main";
}

/**
 * The display name of a room.
 * @param {string} id
 */
export function roomName(id) {
  if (id === "main") return "Main room";
  return state.breakouts.rooms.find((r) => r.id === id)?.name ?? id;
}


/**
 * @template {HTMLElement} T
 * @param {string} id
 * @returns {T}
 */
export function $(id) {
  const el = document.getElementById(id);
  if (!el) throw new Error(`missing #${id}`);
  return /** @type {T} */ (el);
}

/**
 * A button element.
 * @param {string} label
 * @param {() => void} onClick
 * @param {string} [action] data-action, for tests and styling
 */
export function button(label, onClick, action) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = label;
  if (action) b.dataset.action = action;
  b.addEventListener("click", onClick);
  return b;
}
