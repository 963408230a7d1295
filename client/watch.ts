// What the page measures for itself: who is talking (audio levels of the tracks it
// plays and of its own mic), its link quality, and the lobby's level meter.

import { devices, micLevel } from "./devices.js";
import { $, state } from "./state.js";

const LOUD = 0.03; // RTP audio level (0..1) above which a remote voice counts
const OWN_LOUD = 0.12; // our analyser's scaled RMS above which our own voice counts
const HOLD_MS = 700; // a highlight stays this long after the voice stops: calm, no flicker

// participant -> when last heard (performance.now())
const heard = new Map<string, number>();
let lastCounts: { lost: number; received: number } | null = null;

/** Audio levels (0..1) of the tracks this page receives, by MediaStreamTrack id. */
async function receivedLevels(): Promise<Map<string, number>> {
  const levels = new Map<string, number>();
  const pc = state.connection?.pc;
  if (!pc) return levels;
  // The RTP audio-level extension when the SFU forwards it, else the decoder's level.
  for (const receiver of pc.getReceivers()) {
    const level = receiver.getSynchronizationSources()[0]?.audioLevel;
    if (receiver.track.kind === "audio" && level !== undefined) levels.set(receiver.track.id, level);
  }
  const report = await pc.getStats();
  report.forEach((s) => {
    if (s.type === "inbound-rtp" && s.kind === "audio" && s.trackIdentifier) {
      const level = s.audioLevel ?? 0;
      levels.set(s.trackIdentifier, Math.max(level, levels.get(s.trackIdentifier) ?? 0));
    }
  });
  return levels;
}

async function sampleSpeaking(): Promise<boolean> {
  const now = performance.now();
  const connection = state.connection;
  if (connection) {
    const levels = await receivedLevels();
    for (const [trackId, track] of connection.remoteTracks) {
      if (track.kind !== "audio") continue;
      const owner = state.tracks.get(trackId)?.participant;
      const p = owner ? state.participants.get(owner) : undefined;
      if (owner && p?.mic === "live" && (levels.get(track.id) ?? 0) > LOUD) heard.set(owner, now);
    }
    if (connection.sending.mic && micLevel() > OWN_LOUD) heard.set(state.myId, now);
  }
  const speaking = new Set([...heard].filter(([, at]) => now - at < HOLD_MS).map(([id]) => id));
  const changed =
    speaking.size !== state.speaking.size || [...speaking].some((id) => !state.speaking.has(id));
  state.speaking = speaking;
  return changed;
}

async function sampleQuality(): Promise<boolean> {
  const pc = state.connection?.pc;
  if (!pc) return false;
  let lost = 0;
  let received = 0;
  let rtt = 0;
  const report = await pc.getStats();
  report.forEach((s) => {
    if (s.type === "inbound-rtp") {
      lost += s.packetsLost ?? 0;
      received += s.packetsReceived ?? 0;
    }
    if (s.type === "candidate-pair" && s.nominated && s.currentRoundTripTime) {
      rtt = s.currentRoundTripTime;
    }
  });
  let loss = 0;
  if (lastCounts) {
    const dl = lost - lastCounts.lost;
    const dr = received - lastCounts.received;
    loss = dl + dr > 0 ? dl / (dl + dr) : 0;
  }
  lastCounts = { lost, received };
  const poor = state.videoPaused || loss > 0.05 || rtt > 0.5;
  const quality = poor ? "poor" : "good";
  const el = $("quality");
  el.hidden = false;
  el.dataset.quality = quality;
  el.textContent = poor
    ? "Your connection is weak: turn your video off to keep the sound clear"
    : "Your connection: good";
  const changed = quality !== state.quality;
  state.quality = quality;
  // The facilitators see everyone's link (the server relays it to them only).
  if (changed) state.connection?.send("link-quality", { quality });
  return changed;
}

/** Start the measuring loops; `render` runs when what they found changes the page. */
export function watchMedia(render: () => void): void {
  setInterval(() => {
    if (!$("lobby").hidden) {
      ($("mic-level") as HTMLMeterElement).value = devices.source ? micLevel() : 0;
    }
  }, 150);
  let sampling = false;
  setInterval(() => {
    if ($("call").hidden || sampling) return;
    sampling = true;
    sampleSpeaking()
      .then((changed) => changed && render())
      .catch(() => {})
      .finally(() => (sampling = false));
  }, 250);
  setInterval(() => {
    if (!$("call").hidden) sampleQuality().then((changed) => changed && render()).catch(() => {});
  }, 2000);
}
