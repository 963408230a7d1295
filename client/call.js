// The call page: lobby (preview, devices), waiting room, call. Talks to the
// server only through protocol.js; renders through grid.js and panel.js.

import { describeScreen, describeTiles, renderGrid } from "./grid.js";
import { notify, renderPanel, setUpPanel } from "./panel.js";
import { renderRooms, setUpRooms, takeBreakouts } from "./rooms.js";
import { renderSpeaking, setUpSpeaking } from "./speaking.js";
import {
  captionLog,
  captionState,
  renderCaptions,
  setUpCaptions,
  takeCaptionSettings,
} from "./captions.js";
import { CallConnection, readToken } from "./protocol.js";
import { $, state } from "./state.js";

/** @typedef {import("./protocol.js").Participant} Participant */
/** @typedef {import("./protocol.js").Track} Track */

const REFUSALS = /** @type {Record<string, string>} */ ({
  token_missing: "This page needs a join link.",
  token_invalid: "This join link is not valid. Ask your therapist for a new one.",
  token_expired: "This join link has expired. Ask your therapist for a new one.",
  session_unknown: "This session does not exist.",
  session_ended: "This session has ended.",
  session_full: "This session is full.",
  session_locked: "The session is locked: nobody new can join right now.",
  removed: "You were removed from this session.",
  link_revoked: "This join link was withdrawn. Ask your therapist for a new one.",
  protocol_unsupported: "Please reload the page.",
});

const LEFT_REASONS = /** @type {Record<string, string>} */ ({
  left: "You have left the session.",
  replaced: "You joined from another window or device.",
  ended: "The session has ended.",
  timeout: "You were disconnected for too long.",
  removed: "You were removed from the session.",
  denied: "The therapist could not let you in.",
  revoked: "Your join link was withdrawn.",
});

const token = new URLSearchParams(location.hash.slice(1)).get("t") ?? "";
// Keep the token out of the address bar (and out of screenshots and history).
history.replaceState(null, "", location.pathname);
const holder = readToken(token);

/** @type {MediaStream | null} */
let localStream = null;

function render() {
  renderGrid();
  renderPanel();
  renderRooms();
  renderSpeaking();
  renderCaptions();
}

// -- lobby ---------------------------------------------------------------------

async function openLobby() {
  $("lobby").hidden = false;
  // Before anything else, so a choice the person makes right away is never overwritten.
  /** @type {HTMLInputElement} */ ($("lobby-captions")).checked =
    localStorage.getItem("pc.captions.mine") !== "off";
  if (!holder) {
    showEnded("This page needs a valid join link.", "");
    return;
  }
  $("lobby-name").textContent = holder.name;
  $("lobby-role").textContent = `(${holder.role})`;
  if (holder.role === "observer") {
    // An observer publishes nothing: no camera or microphone is opened.
    for (const sel of [".preview", ".devices", ".toggles"]) {
      document.querySelector(sel)?.setAttribute("hidden", "");
    }
    /** @type {HTMLInputElement} */ ($("lobby-mic")).checked = false;
    /** @type {HTMLInputElement} */ ($("lobby-camera")).checked = false;
  } else {
    await startPreview();
    await listDevices();
  }
  $("mic-select").addEventListener("change", () => startPreview());
  $("camera-select").addEventListener("change", () => startPreview());
  $("lobby-camera").addEventListener("change", () => {
    const on = /** @type {HTMLInputElement} */ ($("lobby-camera")).checked;
    $("preview-off").hidden = on;
    localStream?.getVideoTracks().forEach((t) => (t.enabled = on));
  });
  $("join").addEventListener("click", joinCall);
  // Enabled only now, so a click never joins before the preview has settled.
  /** @type {HTMLButtonElement} */ ($("join")).disabled = false;
}

async function startPreview() {
  const micId = /** @type {HTMLSelectElement} */ ($("mic-select")).value;
  const cameraId = /** @type {HTMLSelectElement} */ ($("camera-select")).value;
  localStream?.getTracks().forEach((t) => t.stop());
  try {
    localStream = await navigator.mediaDevices.getUserMedia({
      audio: micId ? { deviceId: { exact: micId } } : true,
      video: cameraId
        ? { deviceId: { exact: cameraId }, width: 640, height: 360 }
        : { width: 640, height: 360 },
    });
    $("lobby-error").hidden = true;
  } catch (err) {
    localStream = null;
    $("lobby-error").textContent =
      "Camera or microphone unavailable. You can still join and listen. " + String(err);
    $("lobby-error").hidden = false;
  }
  /** @type {HTMLVideoElement} */ ($("preview")).srcObject = localStream;
}

async function listDevices() {
  const devices = await navigator.mediaDevices.enumerateDevices();
  for (const [kind, selectId] of [
    ["audioinput", "mic-select"],
    ["videoinput", "camera-select"],
  ]) {
    const select = /** @type {HTMLSelectElement} */ ($(selectId));
    select.replaceChildren();
    for (const device of devices.filter((d) => d.kind === kind)) {
      const option = document.createElement("option");
      option.value = device.deviceId;
      option.textContent = device.label || `${kind === "audioinput" ? "Microphone" : "Camera"}`;
      select.append(option);
    }
  }
}

// -- call ----------------------------------------------------------------------

/**
 * @param {CallConnection} conn
 * @param {string} name
 * @param {(detail: any) => void} handler
 */
function on(conn, name, handler) {
  conn.addEventListener(name, (e) => {
    handler(/** @type {CustomEvent} */ (e).detail);
    render();
  });
}

function joinCall() {
  $("lobby").hidden = true;
  const micOn = /** @type {HTMLInputElement} */ ($("lobby-mic")).checked;
  const cameraOn = /** @type {HTMLInputElement} */ ($("lobby-camera")).checked;
  const mic = localStream?.getAudioTracks()[0] ?? null;
  const camera = localStream?.getVideoTracks()[0] ?? null;
  if (camera) camera.enabled = true;
  const conn = new CallConnection(token);
  state.connection = conn;
  const captioned = /** @type {HTMLInputElement} */ ($("lobby-captions")).checked;
  localStorage.setItem("pc.captions.mine", captioned ? "on" : "off");
  conn.captionsDeclined = !captioned;
  captionState.declined = !captioned;
  conn.sending = { mic: micOn, camera: cameraOn, screen: true };
  on(conn, "waiting", (body) => {
    $("waiting").hidden = false;
    $("call").hidden = true;
    $("waiting-title").textContent = body.session.title;
  });
  on(conn, "welcome", (/** @type {import("./protocol.js").Welcome} */ body) => {
    $("waiting").hidden = true;
    $("call").hidden = false;
    state.myId = body.you.id;
    state.myRole = body.you.role;
    $("session-title").textContent = body.session.title;
    state.locked = body.session.locked;
    state.chatEnabled = body.session.chatEnabled;
    state.sharePolicy = body.session.sharePolicy;
    state.participants = new Map(body.participants.map((p) => [p.id, p]));
    state.tracks = new Map(body.tracks.map((t) => [t.id, t]));
    state.waiting = body.waiting ?? [];
    state.hands = body.hands ?? [];
    state.handRaised = body.hand;
    state.mayShare = body.mayShare;
    state.shareRequests = body.shareRequests ?? [];
    takeBreakouts(body.breakouts);
    captionState.declined = Boolean(body.captionsDeclined);
    takeCaptionSettings(body.session);
    state.breakoutConsole = body.breakoutConsole ?? { planned: {}, help: [] };
    state.captioners = body.captioners ?? [];
    // Tell the others what our lobby choices were.
    if (body.you.role !== "observer") conn.send("media-state", {
      mic: conn.sending.mic ? "live" : "off",
      camera: conn.sending.camera ? "live" : "off",
    });
  });
  on(conn, "participant-joined", (/** @type {Participant} */ p) => state.participants.set(p.id, p));
  on(conn, "participant-updated", (/** @type {Participant} */ p) => state.participants.set(p.id, p));
  on(conn, "participant-left", (body) => state.participants.delete(body.id));
  on(conn, "track-published", (/** @type {Track} */ t) => state.tracks.set(t.id, t));
  on(conn, "track-unpublished", (body) => state.tracks.delete(body.id));
  on(conn, "remote-tracks", (tracks) => (state.remoteTracks = tracks));
  on(conn, "waiting-room", (body) => (state.waiting = body.waiting));
  on(conn, "captioners", (body) => (state.captioners = body.captioners));
  on(conn, "session-settings", (body) => {
    state.locked = body.locked;
    state.chatEnabled = body.chatEnabled;
    state.sharePolicy = body.sharePolicy;
    takeCaptionSettings(body);
  });
  on(conn, "hands", (body) => (state.hands = body.queue));
  on(conn, "hand", (body) => (state.handRaised = body.raised));
  on(conn, "chat-message", (message) => {
    state.chat.push(message);
    state.chat = state.chat.slice(-200);
  });
  on(conn, "muted", (body) => {
    updateToolbar();
    notify(`${body.by} muted your microphone.`, undefined, "muted");
  });
  on(conn, "camera-stopped", (body) => {
    updateToolbar();
    notify(`${body.by} turned your camera off.`, undefined, "camera-stopped");
  });
  on(conn, "unmute-requested", (body) =>
    notify(
      `${body.by} asks you to unmute.`,
      { label: "Unmute", run: () => setSending("mic", true) },
      "unmute-requested",
    ),
  );
  on(conn, "share-requests", (body) => (state.shareRequests = body.pending));
  on(conn, "share-answer", (body) => {
    state.mayShare = body.granted;
    notify(
      body.granted
        ? `${body.by} approved: you can present now (press Present).`
        : `${body.by} declined your request to present.`,
      undefined,
      "share-answer",
    );
  });
  on(conn, "share-ended", (body) => {
    if (body.reason === "revoked") state.mayShare = false;
    const by = body.by ? ` by ${body.by}` : "";
    notify(`Your screen share was stopped${by}.`, undefined, "share-ended");
  });
  on(conn, "local-share", () => {});
  on(conn, "media-quality", (body) =>
    notify(
      body.video === "paused"
        ? "Your connection is struggling: the others' video is paused, their audio goes on."
        : "Your connection has recovered: video is back.",
      undefined,
      "media-quality",
    ),
  );
  on(conn, "break-requested", (body) =>
    notify(`${body.name} needs a break.`, undefined, "break-requested"),
  );
  on(conn, "denied", (body) =>
    showEnded("You were not let in", body.message || LEFT_REASONS.denied),
  );
  setUpRooms((name, handler) => on(conn, name, handler));
  setUpSpeaking((name, handler) => on(conn, name, handler));
  setUpCaptions((name, handler) => on(conn, name, handler));
  conn.addEventListener("state", (e) => showState(/** @type {CustomEvent} */ (e).detail));
  conn.addEventListener("refused", (e) => {
    const { code, message } = /** @type {CustomEvent} */ (e).detail;
    showEnded("Could not join", REFUSALS[code] ?? message);
  });
  conn.addEventListener("session-left", (e) => {
    const { reason, by } = /** @type {CustomEvent} */ (e).detail;
    const detail = LEFT_REASONS[reason] ?? reason;
    showEnded("You are no longer in the session", by ? `${detail} (${by})` : detail);
  });
  conn.addEventListener("session-ended", () => showEnded("The session has ended", ""));
  conn.addEventListener("protocol-error", (e) => {
    const body = /** @type {CustomEvent} */ (e).detail;
    if (body.code === "not_permitted" || body.code === "rate_limited") {
      notify(body.message, undefined, "error");
    }
  });
  conn.start({ mic, camera });
  updateToolbar();
}

/**
 * @param {"mic" | "camera"} source
 * @param {boolean} on
 */
async function setSending(source, on) {
  await state.connection?.setSending(source, on);
  updateToolbar();
  render();
}

/** @param {string} connectionState */
function showState(connectionState) {
  const el = $("status");
  el.dataset.state = connectionState;
  el.textContent =
    {
      connecting: "Connecting…",
      connected: "Connected",
      reconnecting: "Reconnecting…",
      disconnected: "Disconnected",
    }[connectionState] ?? connectionState;
}

function updateToolbar() {
  const connection = state.connection;
  if (!connection) return;
  const micOn = connection.sending.mic;
  const cameraOn = connection.sending.camera;
  $("toggle-mic").textContent = micOn ? "Mute" : "Unmute";
  $("toggle-mic").setAttribute("aria-pressed", String(!micOn));
  $("toggle-camera").textContent = cameraOn ? "Stop video" : "Start video";
  $("toggle-camera").setAttribute("aria-pressed", String(!cameraOn));
}

$("toggle-mic").addEventListener("click", () =>
  setSending("mic", !state.connection?.sending.mic),
);
$("toggle-camera").addEventListener("click", () =>
  setSending("camera", !state.connection?.sending.camera),
);
for (const id of ["leave", "waiting-leave"]) {
  $(id).addEventListener("click", () => {
    state.connection?.leave();
    showEnded("You have left the session", "You can close this tab.");
  });
}

/**
 * @param {string} title
 * @param {string} detail
 */
function showEnded(title, detail) {
  for (const id of ["lobby", "call", "waiting"]) $(id).hidden = true;
  $("ended").hidden = false;
  $("ended-title").textContent = title;
  $("ended-detail").textContent = detail;
  localStream?.getTracks().forEach((t) => t.stop());
}

// For tests and troubleshooting: what this page plays, without personal data.
/** @type {any} */ (window).peercircle = {
  tiles: describeTiles,
  screen: describeScreen,
  /** Inbound media per remote track id: packets, bytes, decoded frames, audio samples. */
  async inbound() {
    /** @type {Record<string, Record<string, number>>} */
    const out = {};
    const connection = state.connection;
    const pc = connection?.pc;
    if (!pc || !connection) return out;
    for (const t of pc.getTransceivers()) {
      const trackId = [...connection.remoteTracks].find(
        ([, track]) => track === t.receiver.track,
      )?.[0];
      if (!trackId) continue;
      const report = await t.receiver.getStats();
      report.forEach((s) => {
        if (s.type === "inbound-rtp") {
          out[trackId] = {
            video: t.receiver.track.kind === "video" ? 1 : 0,
            packets: s.packetsReceived ?? 0,
            bytes: s.bytesReceived ?? 0,
            audioSamples: s.totalSamplesReceived ?? 0,
            framesDecoded: s.framesDecoded ?? 0,
            keyFramesDecoded: s.keyFramesDecoded ?? 0,
            pliCount: s.pliCount ?? 0,
            nackCount: s.nackCount ?? 0,
            packetsLost: s.packetsLost ?? 0,
            freezeCount: s.freezeCount ?? 0,
            totalFreezesDuration: s.totalFreezesDuration ?? 0,
          };
        }
      });
    }
    return out;
  },
  /** The MediaStream id each remote track (by track id) arrived in. */
  streams() {
    /** @type {Record<string, string>} */
    const out = {};
    const connection = state.connection;
    if (!connection) return out;
    for (const [trackId, track] of connection.remoteTracks) {
      out[trackId] = connection.streamOf.get(track) ?? "";
    }
    return out;
  },
  state: () => state.connection?.state ?? "lobby",
  captions: () => captionLog.map((c) => ({ speaker: c.speaker, text: c.text, final: c.final })),
  me: () => state.myId,
};

setUpPanel();
openLobby();
