// The facilitators' signals (`signals`, docs/PROTOCOL.md): one persistent item per
// thing a facilitator must not miss, at the top of the panel, with who, what and
// when; a count badge in the top bar and in the tab title. The server's list is the
// only truth: an item goes when the server's list no longer has it, so every
// facilitator's console agrees.

import { render } from "preact";
import { ACTIONS, type Signal } from "../protocol.js";
import { $, may, state } from "../state.js";

// Kinds a facilitator dismisses; the others leave when they are handled.
const DISMISSED = new Set<Signal["kind"]>(["break", "private-message", "tech-help"]);
// When this page first saw a signal without a time of its own (waiting, hands...).
const firstSeen = new Map<string, number>();
// The tab's title without the count (set from `welcome`).
let baseTitle = document.title;

/** The tab title the count is put in front of. */
export function setBaseTitle(title: string): void {
  baseTitle = title;
}

/** What a signal says, in plain words. */
export function describeSignal(s: Signal): string {
  const name = s.name || "Someone";
  switch (s.kind) {
    case "break":
      return `${name} needs a break`;
    case "private-message":
      return `${name} wrote to the facilitators`;
    case "tech-help":
      return `${name} has a technical problem`;
    case "waiting":
      return `${name} is waiting`;
    case "share-request":
      return `${name} asks to present`;
    case "hand":
      return `${name} raised a hand`;
    case "help":
      return `Help requested in ${s.roomName || "a breakout room"} by ${name}`;
  }
}

/** "just now", "3 min ago", "1 h 5 min ago" (times are the server's, epoch seconds). */
export function ago(at: number, now = Date.now() / 1000 + state.clockSkew): string {
  const s = Math.max(0, Math.round(now - at));
  if (s < 45) return "just now";
  const min = Math.round(s / 60);
  if (min < 60) return `${min} min ago`;
  return `${Math.floor(min / 60)} h ${min % 60} min ago`;
}

function whenOf(s: Signal): number {
  if (s.at !== null) return s.at;
  let seen = firstSeen.get(s.id);
  if (seen === undefined) {
    seen = Date.now() / 1000 + state.clockSkew;
    firstSeen.set(s.id, seen);
  }
  return seen;
}

function SignalItem({ s }: { s: Signal }) {
  const what = describeSignal(s);
  const at = whenOf(s);
  return (
    <li data-signal={s.id} data-kind={s.kind} data-participant={s.participant}>
      <span class="who">{what}</span>
      <time class="state" dateTime={new Date(at * 1000).toISOString()}>
        {ago(at)}
      </time>
      {DISMISSED.has(s.kind) && (
        <button
          type="button"
          data-action="dismiss-signal"
          aria-label={`Dismiss: ${what}`}
          onClick={() => state.connection?.dismissSignal(s.id)}
        >
          Dismiss
        </button>
      )}
    </li>
  );
}

function SignalRows() {
  return (
    <>
      {state.signals.map((s) => (
        <SignalItem key={s.id} s={s} />
      ))}
    </>
  );
}

export function renderSignals(): void {
  const shown = may(ACTIONS.handleSignals);
  const list = $("signal-list");
  $("signals").hidden = !shown;
  const count = shown ? state.signals.length : 0;
  // An item that goes while its button has focus hands focus on, never to the page.
  const focused = document.activeElement;
  const from = focused instanceof HTMLElement && list.contains(focused)
    ? focused.closest<HTMLElement>("li[data-signal]")
    : null;
  const index = from ? [...list.children].indexOf(from) : -1;
  render(<SignalRows />, list);
  if (from && !from.isConnected) {
    const next = list.children[Math.min(index, list.children.length - 1)];
    const target = next?.querySelector<HTMLElement>("button") ?? $("signals-heading");
    target.focus();
  }
  for (const id of firstSeen.keys()) {
    if (!state.signals.some((s) => s.id === id)) firstSeen.delete(id);
  }
  $("signals-empty").hidden = count > 0;
  $("signals-count").textContent = count ? `(${count})` : "";
  const badge = $("signals-badge");
  badge.hidden = count === 0;
  badge.textContent = count === 1 ? "1 signal" : `${count} signals`;
  const title = count ? `(${count}) ${baseTitle}` : baseTitle;
  if (document.title !== title) document.title = title;
}

/** Keep "3 min ago" true while nothing else changes. */
export function tickSignals(): void {
  setInterval(() => {
    if (state.signals.length) renderSignals();
  }, 20_000);
}
