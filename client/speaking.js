// Speaking time: the facilitator's live dashboard (talk-share bars, balance gauge,
// cues with Dismiss, a roll-up per breakout room, raised hands by least talk) and a
// patient's own talk time in the toolbar. The server decides who gets what.

import { ACTIONS } from "./protocol.js";
import { $, button, may, roomName, state } from "./state.js";

/**
 * @typedef {{id: string, group: "patient" | "facilitator", talkS: number | null,
 *   share: number | null, dominance: number | null, turns: number,
 *   lastSpokeAt: number | null, spoken: boolean, presentS: number | null}} SpeakingPerson
 */
/**
 * @typedef {{groupSize: number, talkS: number | null, patientTalkS: number | null,
 *   facilitatorTalkS: number | null, facilitatorShare: number | null,
 *   gini: number | null, entropy: number | null, people: SpeakingPerson[]}} SpeakingGroup
 */
/**
 * @typedef {{at: number, windowS: number, names: Record<string, string>,
 *   session: {whole: SpeakingGroup, window: SpeakingGroup},
 *   rooms: {room: string, whole: SpeakingGroup | null, window: SpeakingGroup | null}[]}} SpeakingStats
 */
/** @typedef {{key: string, kind: string, person: string | null, room: string, text: string}} Cue */

export const speaking = {
  /** @type {SpeakingStats | null} */
  stats: null,
  // Server clock minus ours, from the latest stats.
  skew: 0,
  /** @type {Map<string, Cue>} */
  cues: new Map(),
  /** @type {number | null} */
  myTalkS: null,
  /** @type {{queue: string[], talkS: Record<string, number>} | null} */
  handsOrder: null,
  leadersSeeRoom: false,
};

/** @param {number | null} s */
export function clockText(s) {
  const total = Math.max(0, Math.round(s ?? 0));
  const m = Math.floor(total / 60);
  return `${m}:${String(total % 60).padStart(2, "0")}`;
}

/** @param {string} id */
function nameOf(id) {
  return state.participants.get(id)?.name ?? speaking.stats?.names[id] ?? "Someone";
}

/**
 * One bar: name, a filled track, and the numbers.
 * @param {SpeakingPerson} p
 * @param {number} scale seconds that fill the bar
 */
function bar(p, scale) {
  const li = document.createElement("li");
  li.className = "talk-row";
  li.dataset.participant = p.id;
  li.dataset.talk = String(p.talkS ?? 0);
  const who = document.createElement("span");
  who.className = "who";
  who.textContent = nameOf(p.id);
  const track = document.createElement("span");
  track.className = "talk-track";
  const fill = document.createElement("span");
  fill.className = `talk-fill ${p.group}`;
  fill.style.width = `${scale > 0 ? Math.min(100, (100 * (p.talkS ?? 0)) / scale) : 0}%`;
  track.append(fill);
  const numbers = document.createElement("span");
  numbers.className = "talk-numbers";
  const share = p.share === null ? "" : ` · ${Math.round(p.share * 100)}%`;
  let quiet = " · not yet spoken";
  if (p.lastSpokeAt !== null) {
    const since = Date.now() / 1000 + speaking.skew - p.lastSpokeAt;
    quiet = since >= 60 ? ` · quiet ${clockText(since)}` : "";
  }
  numbers.textContent = `${clockText(p.talkS)}${share}${quiet}`;
  li.append(who, track, numbers);
  return li;
}

/**
 * A balance gauge: normalised entropy of the patients' talk (1 = even).
 * @param {SpeakingGroup | null} group
 * @param {string} label
 */
function gauge(group, label) {
  const wrap = document.createElement("div");
  wrap.className = "balance";
  const meter = document.createElement("meter");
  meter.min = 0;
  meter.max = 1;
  meter.low = 0.6;
  meter.optimum = 1;
  meter.value = group?.entropy ?? 0;
  const text = document.createElement("span");
  text.textContent =
    group?.entropy === null || group?.entropy === undefined
      ? `${label}: not enough talk yet`
      : `${label}: ${group.entropy.toFixed(2)} of 1 (Gini ${(group.gini ?? 0).toFixed(2)})`;
  wrap.append(meter, text);
  return wrap;
}

function renderCues() {
  const section = $("speaking-cues");
  section.hidden = speaking.cues.size === 0;
  const list = $("cue-list");
  list.replaceChildren();
  for (const cue of speaking.cues.values()) {
    const li = document.createElement("li");
    li.className = "cue";
    li.dataset.kind = cue.kind;
    li.dataset.key = cue.key;
    if (cue.person) li.dataset.participant = cue.person;
    const text = document.createElement("span");
    text.className = "who";
    text.textContent = cue.text;
    li.append(text);
    if (may(ACTIONS.seeSpeakingStats)) {
      li.append(
        button("Dismiss", () => state.connection?.send("cue-dismiss", { key: cue.key }), "dismiss-cue"),
      );
    }
    list.append(li);
  }
}

function renderDashboard() {
  const section = $("speaking-console");
  section.hidden = !may(ACTIONS.seeSpeakingStats);
  if (section.hidden) return;
  const stats = speaking.stats;
  /** @type {HTMLInputElement} */ ($("leaders-see-room")).checked = speaking.leadersSeeRoom;
  const whole = stats?.session.whole ?? null;
  const people = whole?.people ?? [];
  const patients = people.filter((p) => p.group === "patient");
  const staff = people.filter((p) => p.group === "facilitator");
  const scale = Math.max(1, ...people.map((p) => p.talkS ?? 0));
  $("talk-bars").replaceChildren(...patients.map((p) => bar(p, scale)));
  $("facilitator-bars").replaceChildren(...staff.map((p) => bar(p, scale)));
  const share = whole?.facilitatorShare;
  $("facilitator-share").textContent =
    share === null || share === undefined ? "" : `(${Math.round(share * 100)}% of all talk)`;
  $("balance-gauges").replaceChildren(
    gauge(stats?.session.window ?? null, "Balance, last 10 min"),
    gauge(whole, "Balance, whole session"),
  );
  const rooms = (stats?.rooms ?? []).filter((r) => r.whole !== null);
  const rollup = $("room-rollup");
  rollup.hidden = rooms.length < 2;
  rollup.replaceChildren(
    ...rooms.map((r) => {
      const li = document.createElement("li");
      li.className = "room";
      li.dataset.room = r.room;
      const head = document.createElement("div");
      head.className = "room-head";
      const title = document.createElement("strong");
      title.textContent = roomName(r.room);
      const total = document.createElement("span");
      total.className = "count";
      total.textContent = `talk ${clockText(r.whole?.talkS ?? 0)}`;
      head.append(title, total);
      const list = document.createElement("ul");
      list.className = "people";
      const inRoom = r.whole?.people ?? [];
      const roomScale = Math.max(1, ...inRoom.map((p) => p.talkS ?? 0));
      list.append(...inRoom.map((p) => bar(p, roomScale)));
      li.append(head, gauge(r.window, "Balance, last 10 min"), list);
      return li;
    }),
  );
  const order = $("hands-order");
  order.replaceChildren(
    ...(speaking.handsOrder?.queue ?? []).map((id) => {
      const li = document.createElement("li");
      li.dataset.participant = id;
      li.textContent = `${nameOf(id)} (${clockText(speaking.handsOrder?.talkS[id] ?? 0)})`;
      return li;
    }),
  );
}

function renderMine() {
  const mine = $("my-talk");
  mine.hidden = speaking.myTalkS === null || may(ACTIONS.seeSpeakingStats);
  mine.textContent = speaking.myTalkS === null ? "" : `You have spoken ${clockText(speaking.myTalkS)}`;
}

export function renderSpeaking() {
  renderDashboard();
  renderCues();
  renderMine();
}

/**
 * Wire the speaking controls once; `on(name, handler)` subscribes to protocol events.
 * @param {(name: string, handler: (detail: any) => void) => void} on
 */
export function setUpSpeaking(on) {
  on("speaking-stats", (/** @type {SpeakingStats} */ body) => {
    speaking.stats = body;
    speaking.skew = body.at - Date.now() / 1000;
  });
  on("cue", (/** @type {Cue} */ cue) => speaking.cues.set(cue.key, cue));
  on("cue-cleared", (body) => speaking.cues.delete(body.key));
  on("my-speaking", (body) => (speaking.myTalkS = body.talkS));
  on("hands-order", (body) => (speaking.handsOrder = body));
  on("speaking-options", (body) => (speaking.leadersSeeRoom = body.leadersSeeRoom));
  $("order-hands").addEventListener("click", () => state.connection?.send("hands-by-talk", {}));
  $("leaders-see-room").addEventListener("change", (e) => {
    const checked = /** @type {HTMLInputElement} */ (e.target).checked;
    state.connection?.send("speaking-options", { leadersSeeRoom: checked });
  });
  // "Quiet for" ticks on between server updates.
  setInterval(renderDashboard, 5000);
}
