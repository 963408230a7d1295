// What the page knows of the session; the UI modules render from it.

import type {
  BreakoutConsole,
  Breakouts,
  CallConnection,
  Captioner,
  ChatMessage,
  Participant,
  Signal,
  Track,
} from "./protocol.js";

export const state = {
  connection: null as CallConnection | null,
  myId: "",
  myRole: "",
  participants: new Map<string, Participant>(),
  tracks: new Map<string, Track>(),
  remoteTracks: new Map<string, MediaStreamTrack>(),
  waiting: [] as Participant[],
  hands: [] as string[],
  // How each person's page finds its link (facilitators only get these).
  linkQuality: new Map<string, "good" | "poor">(),
  handRaised: false,
  locked: false,
  chatEnabled: true,
  chat: [] as ChatMessage[],
  mayShare: false,
  sharePolicy: "replace",
  shareRequests: [] as { id: string; name: string }[],
  breakouts: {
    open: false,
    rooms: [],
    endsAt: null,
    serverTime: 0,
    selfChoice: false,
  } as Breakouts,
  // Server clock minus ours (seconds), for the breakout countdown.
  clockSkew: 0,
  breakoutConsole: { planned: {}, help: [] } as BreakoutConsole,
  // The facilitators' open signals (`signals`), oldest first.
  signals: [] as Signal[],
  // The person a facilitator is writing to privately (chat form), or null.
  privateTo: null as string | null,
  // Captioner services connected to the session (facilitators are told).
  captioners: [] as Captioner[],
  // The actions this person holds (protocol.ts permissionsOf, from `welcome`).
  permissions: new Set<string>(),
  // Who is talking now (participant ids), from audio levels.
  speaking: new Set<string>(),
  // This page's own link quality, as it measures it.
  quality: "good" as "good" | "poor",
  // The server paused the others' video to this page (its link is struggling).
  videoPaused: false,
};

/**
 * Whether this person holds an action (protocol.ts ACTIONS); the page shows only
 * what the server says they may do.
 */
export function may(action: string): boolean {
  return state.permissions.has(action);
}

/** The room this page is in ("main" or a breakout room's id). */
export function myRoom(): string {
  return state.participants.get(state.myId)?.room ?? "main";
}

/** The display name of a room. */
export function roomName(id: string): string {
  if (id === "main") return "Main room";
  return state.breakouts.rooms.find((r) => r.id === id)?.name ?? id;
}

/** The element with this id (the page's markup has it: a missing one is a bug). */
export function $<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`missing #${id}`);
  return el as T;
}

/** A button element; `action` becomes data-action, for tests and styling. */
export function button(label: string, onClick: () => void, action?: string): HTMLButtonElement {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = label;
  if (action) b.dataset.action = action;
  b.addEventListener("click", onClick);
  return b;
}
