// The video grid: one tile per participant in the call.

import { $, myRoom, state } from "./state.js";

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

/** The shared screen, large, with the presenter's name (one per room). */
function renderScreen() {
  const connection = state.connection;
  const stage = $("screen-stage");
  const video = /** @type {HTMLVideoElement} */ ($("screen-video"));
  // One share per room: the one of someone in this room.
  const room = myRoom();
  const share = [...state.tracks.values()].find(
    (t) => t.source === "screen" && state.participants.get(t.participant)?.room === room,
  );
  /** @type {MediaStreamTrack | null} */
  let track = null;
  let caption = "";
  if (share) {
    const mine = share.participant === state.myId;
    track = mine ? (connection?.local.screen ?? null) : (state.remoteTracks.get(share.id) ?? null);
    const name = state.participants.get(share.participant)?.name ?? "Someone";
    caption = mine ? "You are presenting" : `${name} is presenting`;
  }
  stage.hidden = !track;
  stage.dataset.presenter = share?.participant ?? "";
  $("screen-caption").textContent = caption;
  attach(video, track);
}

export function renderGrid() {
  renderScreen();
  const connection = state.connection;
  const grid = $("grid");
  for (const tile of Array.from(grid.querySelectorAll(".tile"))) {
    const id = /** @type {HTMLElement} */ (tile).dataset.participant ?? "";
    const p = state.participants.get(id);
    if (p === undefined || p.role === "observer" || p.room !== myRoom()) tile.remove();
  }
  for (const p of state.participants.values()) {
    // Observers watch; they are listed and announced, not shown as a tile. Only the
    // people in one's own room are on screen (and heard).
    if (p.role === "observer" || p.room !== myRoom()) continue;
    const tile = tileFor(p.id);
    const self = p.id === state.myId;
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
      for (const t of state.tracks.values()) {
        if (t.participant !== p.id) continue;
        const remote = state.remoteTracks.get(t.id) ?? null;
        if (t.source === "camera") cameraTrack = remote;
        if (t.source === "screen") continue;
        if (t.source === "mic") micTrack = remote;
      }
    }
    const cameraOn = self ? Boolean(connection?.sending.camera) : p.camera === "live";
    const micOn = self ? Boolean(connection?.sending.mic) : p.mic === "live";
    attach(video, cameraOn ? cameraTrack : null);
    attach(audio, micOn ? micTrack : null);
    tile.dataset.video = cameraOn && cameraTrack ? "on" : "off";
    avatar.hidden = Boolean(cameraOn && cameraTrack);
    avatar.textContent = p.name.slice(0, 1).toUpperCase();
    label.textContent = self ? `${p.name} (you)` : p.name;
    label.classList.toggle("mic-off", !micOn);
    label.classList.toggle("reconnecting", p.connection === "reconnecting");
    tile.classList.toggle("self", self);
  }
}

/** For tests and troubleshooting: the shared screen on this page. */
export function describeScreen() {
  const video = /** @type {HTMLVideoElement} */ ($("screen-video"));
  return {
    shown: !$("screen-stage").hidden,
    presenter: $("screen-stage").dataset.presenter ?? "",
    frames: video.getVideoPlaybackQuality().totalVideoFrames,
    width: video.videoWidth,
  };
}

/** For tests and troubleshooting: what each tile plays, without personal data. */
export function describeTiles() {
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
}
