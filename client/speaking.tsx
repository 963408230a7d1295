// Speaking time: the facilitator's live dashboard (talk-share bars, balance gauge,
// cues with Dismiss, a roll-up per breakout room, raised hands by least talk) and a
// patient's own talk time in the toolbar. The server decides who gets what. Keyed
// Preact views: a stats update changes the numbers, not the rows (a focused Dismiss
// button stays focused).

import { render } from "preact";
import { ACTIONS, type Cue, type On, type SpeakingGroup, type SpeakingPerson, type SpeakingStats } from "./protocol.js";
import { $, may, roomName, state } from "./state.js";

export const speaking = {
  stats: null as SpeakingStats | null,
  // Server clock minus ours, from the latest stats.
  skew: 0,
  cues: new Map<string, Cue>(),
  myTalkS: null as number | null,
  handsOrder: null as { queue: string[]; talkS: Record<string, number> } | null,
  leadersSeeRoom: false,
};

export function clockText(s: number | null): string {
  const total = Math.max(0, Math.round(s ?? 0));
  const m = Math.floor(total / 60);
  return `${m}:${String(total % 60).padStart(2, "0")}`;
}

function nameOf(id: string): string {
  return state.participants.get(id)?.name ?? speaking.stats?.names[id] ?? "Someone";
}

/** One bar: name, a filled track, and the numbers. `scale`: seconds that fill it. */
function Bar({ p, scale }: { p: SpeakingPerson; scale: number }) {
  const width = scale > 0 ? Math.min(100, (100 * (p.talkS ?? 0)) / scale) : 0;
  const share = p.share === null ? "" : ` · ${Math.round(p.share * 100)}%`;
  let quiet = " · not yet spoken";
  if (p.lastSpokeAt !== null) {
    const since = Date.now() / 1000 + speaking.skew - p.lastSpokeAt;
    quiet = since >= 60 ? ` · quiet ${clockText(since)}` : "";
  }
  const numbers = `${clockText(p.talkS)}${share}${quiet}`;
  return (
    <li class="talk-row" data-participant={p.id} data-talk={String(p.talkS ?? 0)}>
      <span class="who">{nameOf(p.id)}</span>
      <span class="talk-track" aria-hidden="true">
        <span class={`talk-fill ${p.group}`} style={{ width: `${width}%` }} />
      </span>
      <span class="talk-numbers">{numbers}</span>
    </li>
  );
}

function Bars({ people }: { people: SpeakingPerson[] }) {
  const scale = Math.max(1, ...people.map((p) => p.talkS ?? 0));
  return (
    <>
      {people.map((p) => (
        <Bar key={p.id} p={p} scale={scale} />
      ))}
    </>
  );
}

/** A balance gauge: normalised entropy of the patients' talk (1 = even). */
function Gauge({ group, label }: { group: SpeakingGroup | null; label: string }) {
  const entropy = group?.entropy ?? null;
  const text =
    entropy === null
      ? `${label}: not enough talk yet`
      : `${label}: ${entropy.toFixed(2)} of 1 (Gini ${(group?.gini ?? 0).toFixed(2)})`;
  return (
    <div class="balance">
      <meter min={0} max={1} low={0.6} optimum={1} value={entropy ?? 0} aria-label={text} />
      <span>{text}</span>
    </div>
  );
}

function Cues() {
  return (
    <>
      {[...speaking.cues.values()].map((cue) => (
        <li
          key={cue.key}
          class="cue"
          data-kind={cue.kind}
          data-key={cue.key}
          data-participant={cue.person ?? undefined}
        >
          <span class="who">{cue.text}</span>
          {may(ACTIONS.seeSpeakingStats) && (
            <button
              type="button"
              data-action="dismiss-cue"
              aria-label={`Dismiss: ${cue.text}`}
              onClick={() => state.connection?.send("cue-dismiss", { key: cue.key })}
            >
              Dismiss
            </button>
          )}
        </li>
      ))}
    </>
  );
}

function RoomRollup({ stats }: { stats: SpeakingStats | null }) {
  const rooms = (stats?.rooms ?? []).filter((r) => r.whole !== null);
  return (
    <>
      {rooms.map((r) => (
        <li key={r.room} class="room" data-room={r.room}>
          <div class="room-head">
            <strong>{roomName(r.room)}</strong>
            <span class="count">{`talk ${clockText(r.whole?.talkS ?? 0)}`}</span>
          </div>
          <Gauge group={r.window} label="Balance, last 10 min" />
          <ul class="people">
            <Bars people={r.whole?.people ?? []} />
          </ul>
        </li>
      ))}
    </>
  );
}

function HandsOrder() {
  return (
    <>
      {(speaking.handsOrder?.queue ?? []).map((id) => (
        <li key={id} data-participant={id}>
          {`${nameOf(id)} (${clockText(speaking.handsOrder?.talkS[id] ?? 0)})`}
        </li>
      ))}
    </>
  );
}

function renderDashboard(): void {
  const section = $("speaking-console");
  section.hidden = !may(ACTIONS.seeSpeakingStats);
  if (section.hidden) return;
  const stats = speaking.stats;
  ($("leaders-see-room") as HTMLInputElement).checked = speaking.leadersSeeRoom;
  $("leaders-see-room").parentElement?.toggleAttribute(
    "hidden",
    !may(ACTIONS.setSpeakingOptions),
  );
  const whole = stats?.session.whole ?? null;
  const people = whole?.people ?? [];
  const scale = Math.max(1, ...people.map((p) => p.talkS ?? 0));
  render(
    <>
      {people
        .filter((p) => p.group === "patient")
        .map((p) => (
          <Bar key={p.id} p={p} scale={scale} />
        ))}
    </>,
    $("talk-bars"),
  );
  render(
    <>
      {people
        .filter((p) => p.group === "facilitator")
        .map((p) => (
          <Bar key={p.id} p={p} scale={scale} />
        ))}
    </>,
    $("facilitator-bars"),
  );
  const share = whole?.facilitatorShare;
  $("facilitator-share").textContent =
    share === null || share === undefined ? "" : `(${Math.round(share * 100)}% of all talk)`;
  render(
    <>
      <Gauge group={stats?.session.window ?? null} label="Balance, last 10 min" />
      <Gauge group={whole} label="Balance, whole session" />
    </>,
    $("balance-gauges"),
  );
  $("room-rollup").hidden = (stats?.rooms ?? []).filter((r) => r.whole !== null).length < 2;
  render(<RoomRollup stats={stats} />, $("room-rollup"));
  render(<HandsOrder />, $("hands-order"));
}

function renderMine(): void {
  const mine = $("my-talk");
  mine.hidden = speaking.myTalkS === null || may(ACTIONS.seeSpeakingStats);
  mine.textContent =
    speaking.myTalkS === null ? "" : `You have spoken ${clockText(speaking.myTalkS)}`;
}

export function renderSpeaking(): void {
  renderDashboard();
  $("speaking-cues").hidden = speaking.cues.size === 0;
  render(<Cues />, $("cue-list"));
  renderMine();
}

/** Wire the speaking controls once; `on(name, handler)` subscribes to protocol events. */
export function setUpSpeaking(on: On): void {
  on("speaking-stats", (body) => {
    speaking.stats = body;
    speaking.skew = body.at - Date.now() / 1000;
  });
  on("cue", (cue) => speaking.cues.set(cue.key, cue));
  on("cue-cleared", (body) => speaking.cues.delete(body.key));
  on("my-speaking", (body) => (speaking.myTalkS = body.talkS));
  on("hands-order", (body) => (speaking.handsOrder = body));
  on("speaking-options", (body) => {
    speaking.leadersSeeRoom = body.leadersSeeRoom;
  });
  $("order-hands").addEventListener("click", () => state.connection?.send("hands-by-talk", {}));
  $("leaders-see-room").addEventListener("change", (e) => {
    const checked = (e.target as HTMLInputElement).checked;
    state.connection?.send("speaking-options", { leadersSeeRoom: checked });
  });
  // "Quiet for" ticks on between server updates.
  setInterval(renderDashboard, 5000);
}
