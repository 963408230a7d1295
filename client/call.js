// The call page: lobby (preview, devices), video grid, toolbar. Talks to the
// server only through protocol.js.

import { CallConnection, readToken } from "./protocol.js";

/** @typedef {import("./protocol.js").Participant} Participant */
/** @typedef {import("./protocol.js").Track} Track */

/**
 * @template {HTMLElement} T
 * @param {string} id
 * @returns {T}
 */
function $(id) {
  const el = document.getElementById(id);
  if (!el) throw new Error(`missing #${id}`);
  return /** @type {T} */ (el);
}

const REFUSALS = /** @type {Record<string, string>} */ ({
  token_missing: "This page needs a join link.",
  token_invalid: "This join link is not valid. Ask your therapist for a new one.",
  token_expired: "This join link has expired. Ask your therapist for a new one.",
  session_unknown: "This session does not exist.",
  session_ended: "This session has ended.",
  session_full: "This session is full.",
  protocol_unsupported: "Please reload the page.",
});

const LEFT_REASONS = /** @type {Record<string, string>} */ ({
  left: "You have left the session.",
  replaced: "You joined from another window or device.",
  ended: "The session has ended.",
  timeout: "You were disconnected for too long.",
  removed: "You were removed from the session.",
});

const token = new URLSearchParams(location.hash.slice(1)).get("t") ?? "";
// Keep the token out of the address bar (and out of screenshots and history).
history.replaceState(null, "", location.pathname);
const holder = readToken(token);

/** @type {MediaStream | null} */
let localStream = null;
/** @type {CallConnection | null} */
let connection = null;
/** @type {Map<string, Participant>} */
const participants = new Map();
/** @type {Map<string, Track>} */
const tracks = new Map();
/** @type {Map<string, MediaStreamTrack>} */
let remoteTracks = new Map();
let myId = "";

// -- lobby ---------------------------------------------------------------------

async function openLobby() {
  $("lobby").hidden = false;
  if (!holder) {
    showEnded("This page needs a valid join link.", "");
    return;
  }
  $("lobby-name").textContent = holder.name;
  $("lobby-role").textContent = `(${holder.role})`;
  await startPreview();
  await listDevices();
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

function joinCall() {
  $("lobby").hidden = true;
  $("call").hidden = false;
  const micOn = /** @type {HTMLInputElement} */ ($("lobby-mic")).checked;
  const cameraOn = /** @type {HTMLInputElement} */ ($("lobby-camera")).checked;
  const mic = localStream?.getAudioTracks()[0] ?? null;
  const camera = localStream?.getVideoTracks()[0] ?? null;
  if (camera) camera.enabled = true;
  const conn = new CallConnection(token);
  connection = conn;
  conn.sending = { mic: micOn, camera: cameraOn };
  conn.addEventListener("welcome", (e) => {
    const body = /** @type {import("./protocol.js").Welcome} */ (
      /** @type {CustomEvent} */ (e).detail
    );
    myId = body.you.id;
    $("session-title").textContent = body.session.title;
    participants.clear();
    tracks.clear();
    for (const p of body.participants) participants.set(p.id, p);
    for (const t of body.tracks) tracks.set(t.id, t);
    // Tell the others what our lobby choices were.
    conn.socket?.emit("media-state", { mic: micOn ? "live" : "off", camera: cameraOn ? "live" : "off" });
    render();
  });
  for (const name of ["participant-joined", "participant-updated"]) {
    conn.addEventListener(name, (e) => {
      const p = /** @type {Participant} */ (/** @type {CustomEvent} */ (e).detail);
      participants.set(p.id, p);
      render();
    });
  }
  conn.addEventListener("participant-left", (e) => {
    participants.delete(/** @type {CustomEvent} */ (e).detail.id);
    render();
  });
  conn.addEventListener("track-published", (e) => {
    const t = /** @type {Track} */ (/** @type {CustomEvent} */ (e).detail);
    tracks.set(t.id, t);
    render();
  });
  conn.addEventListener("track-unpublished", (e) => {
    tracks.delete(/** @type {CustomEvent} */ (e).detail.id);
    render();
  });
  conn.addEventListener("remote-tracks", (e) => {
    remoteTracks = /** @type {CustomEvent} */ (e).detail;
    render();
  });
  conn.addEventListener("state", (e) => showState(/** @type {CustomEvent} */ (e).detail));
  conn.addEventListener("refused", (e) => {
    const { code, message } = /** @type {CustomEvent} */ (e).detail;
    showEnded("Could not join", REFUSALS[code] ?? message);
  });
  conn.addEventListener("session-left", (e) => {
    const reason = /** @type {CustomEvent} */ (e).detail.reason;
    showEnded("You are no longer in the session", LEFT_REASONS[reason] ?? reason);
  });
  conn.addEventListener("session-ended", () => showEnded("The session has ended", ""));
  conn.addEventListener("protocol-error", (e) => {
    console.warn("server said", /** @type {CustomEvent} */ (e).detail);
  });
  conn.start({ mic, camera });
  updateToolbar();
}

/** @param {string} state */
function showState(state) {
  const el = $("status");
  el.dataset.state = state;
  el.textContent = {
    connecting: "Connecting…",
    connected: "Connected",
    reconnecting: "Reconnecting…",
    disconnected: "Disconnected",
  }[state] ?? state;
}

function updateToolbar() {
  if (!connection) return;
  const micOn = connection.sending.mic;
  const cameraOn = connection.sending.camera;
  const micButton = $("toggle-mic");
  micButton.textContent = micOn ? "Mute" : "Unmute";
  micButton.setAttribute("aria-pressed", String(!micOn));
  const cameraButton = $("toggle-camera");
  cameraButton.textContent = cameraOn ? "Stop video" : "Start video";
  cameraButton.setAttribute("aria-pressed", String(!cameraOn));
}

$("toggle-mic").addEventListener("click", async () => {
  if (!connection) return;
  await connection.setSending("mic", !connection.sending.mic);
  updateToolbar();
  render();
});
$("toggle-camera").addEventListener("click", async () => {
  if (!connection) return;
  await connection.setSending("camera", !connection.sending.camera);
  updateToolbar();
  render();
});
$("leave").addEventListener("click", () => {
  connection?.leave();
  showEnded("You have left the session", "You can close this tab.");
});

// -- grid ----------------------------------------------------------------------

/**
 * The tile of one participant, created on first use.
 * @param {string} id
 * @returns {HTMLElement}
 */
function tileFor(id) {
  let tile = /** @type {HTMLElement | null} */ (
    document.querySelector(`.tile[data-participant="${CSS.escape(id)}"]`)
  );
  if (!tile) {
    tile = document.createElement("div");
    tile.className = "tile";
    tile.dataset.participant = id;
    const video = document.createElement("video");
    video.autoplay = true;
    video.playsInline = true;
    video.muted = true; // sound plays through the <audio> element
    const audio = document.createElement("audio");
    audio.autoplay = true;
    const avatar = document.createElement("div");
    avatar.className = "avatar";
    const label = document.createElement("span");
    label.className = "label";
    tile.append(video, audio, avatar, label);
    $("grid").append(tile);
  }
  return tile;
}

/**
 * @param {HTMLMediaElement} element
 * @param {MediaStreamTrack | null} track
 */
function attach(element, track) {
  const current = /** @type {MediaStream | null} */ (element.srcObject);
  if ((current?.getTracks()[0] ?? null) === track) return;
  element.srcObject = track ? new MediaStream([track]) : null;
  if (track) element.play().catch(() => {});
}

function render() {
  const grid = $("grid");
  const present = new Set(participants.keys());
  for (const tile of Array.from(grid.querySelectorAll(".tile"))) {
    const id = /** @type {HTMLElement} */ (tile).dataset.participant ?? "";
    if (!present.has(id)) tile.remove();
  }
  for (const p of participants.values()) {
    const tile = tileFor(p.id);
    const self = p.id === myId;
    const video = /** @type {HTMLVideoElement} */ (tile.querySelector("video"));
    const audio = /** @type {HTMLAudioElement} */ (tile.querySelector("audio"));
    const label = /** @type {HTMLElement} */ (tile.querySelector(".label"));
    const avatar = /** @type {HTMLElement} */ (tile.querySelector(".avatar"));
    /** @type {MediaStreamTrack | null} */
    let cameraTrack = null;
    /** @type {MediaStreamTrack | null} */
    let micTrack = null;
    if (self) {
      cameraTrack = connection?.sending.camera ? (connection.local.camera ?? null) : null;
    } else {
      for (const t of tracks.values()) {
        if (t.participant !== p.id) continue;
        const remote = remoteTracks.get(t.id) ?? null;
        if (t.source === "camera") cameraTrack = remote;
        if (t.source === "mic") micTrack = remote;
      }
    }
    const cameraOn = self ? Boolean(connection?.sending.camera) : p.camera === "live";
    const micOn = self ? Boolean(connection?.sending.mic) : p.mic === "live";
    attach(video, cameraOn ? cameraTrack : null);
    attach(audio, micTrack);
    tile.dataset.video = cameraOn && cameraTrack ? "on" : "off";
    avatar.hidden = Boolean(cameraOn && cameraTrack);
    avatar.textContent = p.name.slice(0, 1).toUpperCase();
    label.textContent = self ? `${p.name} (you)` : p.name;
    label.classList.toggle("mic-off", !micOn);
    label.classList.toggle("reconnecting", p.connection === "reconnecting");
    tile.classList.toggle("self", self);
  }
}

/**
 * @param {string} title
 * @param {string} detail
 */
function showEnded(title, detail) {
  $("lobby").hidden = true;
  $("call").hidden = true;
  $("ended").hidden = false;
  $("ended-title").textContent = title;
  $("ended-detail").textContent = detail;
  localStream?.getTracks().forEach((t) => t.stop());
}

// For tests and troubleshooting: what this page is playing, without personal data.
/** @type {any} */ (window).peercircle = {
  /** @returns {Record<string, {video: string, frames: number, width: number}>} */
  tiles() {
    /** @type {Record<string, {video: string, frames: number, width: number}>} */
    const out = {};
    for (const tile of Array.from(document.querySelectorAll(".tile"))) {
      const el = /** @type {HTMLElement} */ (tile);
      const video = /** @type {HTMLVideoElement} */ (el.querySelector("video"));
      out[el.dataset.participant ?? ""] = {
        video: el.dataset.video ?? "off",
        frames: video.getVideoPlaybackQuality().totalVideoFrames,
        width: video.videoWidth,
      };
    }
    return out;
  },
  /** Inbound media per remote track id: packets, decoded video frames, audio samples. */
  async inbound() {
    /** @type {Record<string, Record<string, number>>} */
    const out = {};
    const pc = connection?.pc;
    if (!pc) return out;
    for (const t of pc.getTransceivers()) {
      const trackId = connection?.remoteTracks && [...connection.remoteTracks].find(
        ([, track]) => track === t.receiver.track,
      )?.[0];
      if (!trackId) continue;
      const report = await t.receiver.getStats();
      report.forEach((s) => {
        if (s.type === "inbound-rtp") {
          out[trackId] = {
            video: t.receiver.track.kind === "video" ? 1 : 0,
            packets: s.packetsReceived ?? 0,
            audioSamples: s.totalSamplesReceived ?? 0,
            framesDecoded: s.framesDecoded ?? 0,
            keyFramesDecoded: s.keyFramesDecoded ?? 0,
            pliCount: s.pliCount ?? 0,
          };
        }
      });
    }
    return out;
  },
  state: () => connection?.state ?? "lobby",
  me: () => myId,
};

openLobby();
