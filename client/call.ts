// The call page: lobby (preview, level meter, devices), waiting room, call, end pages.
// Talks to the server only through protocol.js; renders through ui/ and the panel
// modules. The join token is kept per tab (sessionStorage), never in the address bar.

import {
  capturing,
  devices,
  ensureTrack,
  explain,
  listDevices,
  meterSource,
  micLevel,
  openDevices,
  playTestSound,
  stopAll,
  switchDevice,
} from "./devices.js";
import { describeScreen, describeTiles, renderStage, watchStage } from "./ui/stage.js";
import { chatArrived, confirmLeave, setUpShell, showConnection } from "./ui/shell.js";
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
import {
  ACTIONS,
  CallConnection,
  type CallEvents,
  permissionsOf,
  readToken,
} from "./protocol.js";
import { showEnded } from "./endings.js";
import { $, may, state } from "./state.js";
import { setBaseTitle, tickSignals } from "./ui/signals.js";
import { watchMedia } from "./watch.js";


const TOKEN_KEY = "pc.token";
// Set while this tab is in the session (waiting room or call): a reload rejoins.
const JOINED_KEY = "pc.joined";
const CHOICES_KEY = "pc.choices";

/** The token of the link this tab opened: from the fragment once, then per tab. */
function takeToken() {
  const fragment = new URLSearchParams(location.hash.slice(1));
  const fromLink = fragment.get("t");
  if (fromLink) {
    if (fromLink !== sessionStorage.getItem(TOKEN_KEY)) sessionStorage.removeItem(JOINED_KEY);
    sessionStorage.setItem(TOKEN_KEY, fromLink);
    // Sent on by a node that does not serve the session: the person had joined
    // already, so the page goes straight back in (no lobby), as after a reload.
    if (fragment.get("joined") === "1") sessionStorage.setItem(JOINED_KEY, "1");
  }
  // Keep the token out of the address bar, history and screenshots.
  if (location.hash) history.replaceState(null, "", location.pathname);
  return sessionStorage.getItem(TOKEN_KEY) ?? "";
}

const token = takeToken();
const holder = readToken(token);

// The same (or another) link opened again in this tab only changes the fragment.
window.addEventListener("hashchange", () => {
  const fresh = new URLSearchParams(location.hash.slice(1)).get("t");
  history.replaceState(null, "", location.pathname);
  if (!fresh) return;
  const inSession = Boolean(state.connection && !state.connection.left);
  if (fresh === token && inSession) return;
  if (fresh !== token) sessionStorage.removeItem(JOINED_KEY);
  sessionStorage.setItem(TOKEN_KEY, fresh);
  location.reload();
});

function render() {
  renderStage();
  renderPanel();
  renderRooms();
  renderSpeaking();
  renderCaptions();
  updateToolbar();
}

// -- lobby ---------------------------------------------------------------------

/** The session's name in the lobby heading, from the server (the token itself does
 * not carry it). Nothing is shown if the server cannot say. */
async function showSessionTitle(): Promise<void> {
  try {
    const answer = await fetch("/join/info", { headers: { Authorization: `Bearer ${token}` } });
    if (!answer.ok) return;
    const info = (await answer.json()) as { session: { title: string } };
    $("lobby-title").textContent = info.session.title;
    $("lobby-session").hidden = false;
  } catch {
    // The lobby works without it.
  }
}

/** What the lobby would publish: observers publish nothing (their token says so). */
function lobbyWants() {
  const publishes = holder?.role !== "observer";
  return {
    mic: publishes && $<HTMLInputElement>("lobby-mic").checked,
    camera: publishes && $<HTMLInputElement>("lobby-camera").checked,
  };
}

async function openLobby() {
  // Before anything else, so a choice the person makes right away is never overwritten.
  $<HTMLInputElement>("lobby-captions").checked =
    localStorage.getItem("pc.captions.mine") !== "off";
  if (!holder) {
    showEnded("no-link");
    return;
  }
  const rejoining = sessionStorage.getItem(JOINED_KEY) === "1";
  const choices = JSON.parse(sessionStorage.getItem(CHOICES_KEY) ?? "{}");
  if (typeof choices.mic === "boolean") $<HTMLInputElement>("lobby-mic").checked = choices.mic;
  if (typeof choices.camera === "boolean") {
    $<HTMLInputElement>("lobby-camera").checked = choices.camera;
  }
  $("lobby").hidden = false;
  $("lobby-name").textContent = holder.name;
  $("lobby-role").textContent = `(${holder.role})`;
  void showSessionTitle();
  if (holder.role === "observer") {
    // An observer publishes nothing: no camera or microphone is opened.
    for (const sel of [".preview", ".devices", ".toggles", ".level-row"]) {
      document.querySelector(sel)?.setAttribute("hidden", "");
    }
  } else {
    await startPreview();
    await listDevices().catch(() => {});
  }
  $("mic-select").addEventListener("change", (e) => {
    devices.micId = (e.target as HTMLSelectElement).value;
    startPreview();
  });
  $("camera-select").addEventListener("change", (e) => {
    devices.cameraId = (e.target as HTMLSelectElement).value;
    startPreview();
  });
  $("lobby-camera").addEventListener("change", () => startPreview());
  $("lobby-mic").addEventListener("change", () => startPreview());
  $("lobby-retry").addEventListener("click", () => startPreview());
  $("lobby-audio-only").addEventListener("click", () => {
    $<HTMLInputElement>("lobby-camera").checked = false;
    startPreview();
  });
  $("speaker-test").addEventListener("click", playTestSound);
  $("join").addEventListener("click", joinCall);
  // Enabled only now, so a click never joins before the preview has settled.
  $<HTMLButtonElement>("join").disabled = false;
  // A reload (or Back, then Forward) during the session goes straight back in.
  if (rejoining) joinCall();
}

async function startPreview() {
  const wanted = lobbyWants();
  devices.stream?.getTracks().forEach((t) => t.stop());
  devices.stream = null;
  try {
    devices.stream = await openDevices(wanted);
    $("lobby-error").hidden = true;
  } catch (err) {
    const { text, help, audioOnly } = explain(err);
    $("lobby-error-text").textContent = text;
    $("lobby-error-help").textContent = help;
    $("lobby-audio-only").hidden = !audioOnly || !wanted.camera;
    $("lobby-error").hidden = false;
  }
  const video = devices.stream?.getVideoTracks()[0] ?? null;
  $("preview-off").hidden = video !== null;
  $("preview-off").textContent = wanted.camera ? "No camera picture" : "Camera is off";
  $<HTMLVideoElement>("preview").srcObject = video ? new MediaStream([video]) : null;
  meterSource(devices.stream?.getAudioTracks()[0] ?? null);
}

// -- call ----------------------------------------------------------------------

/** Handle an event (its body typed by protocol.ts), then render what changed. */
function on<K extends keyof CallEvents>(
  conn: CallConnection,
  name: K,
  handler: (body: CallEvents[K]) => void,
): void {
  conn.on(name, (body) => {
    handler(body);
    render();
  });
}

/** In the waiting room nothing captures; admitted, the same devices start again. */
async function resumeDevices() {
  const conn = state.connection;
  if (!conn) return;
  const wanted = {
    mic: conn.local.mic !== null && conn.local.mic.readyState === "ended",
    camera: conn.local.camera !== null && conn.local.camera.readyState === "ended",
  };
  if (!wanted.mic && !wanted.camera) return;
  try {
    const stream = await openDevices(wanted);
    const mic = stream.getAudioTracks()[0];
    const camera = stream.getVideoTracks()[0];
    if (mic) await conn.replaceLocalTrack("mic", mic);
    if (camera) await conn.replaceLocalTrack("camera", camera);
    if (mic) meterSource(mic);
  } catch (err) {
    notify(explain(err).text, undefined, "devices");
  }
  render();
}

function joinCall() {
  $("lobby").hidden = true;
  const { mic: micOn, camera: cameraOn } = lobbyWants();
  sessionStorage.setItem(CHOICES_KEY, JSON.stringify({ mic: micOn, camera: cameraOn }));
  const mic = devices.stream?.getAudioTracks()[0] ?? null;
  const camera = devices.stream?.getVideoTracks()[0] ?? null;
  const conn = new CallConnection(token);
  state.connection = conn;
  const captioned = $<HTMLInputElement>("lobby-captions").checked;
  localStorage.setItem("pc.captions.mine", captioned ? "on" : "off");
  conn.captionsDeclined = !captioned;
  captionState.declined = !captioned;
  conn.sending = { mic: micOn, camera: cameraOn, screen: true };
  // Publish both sources even when one is off now: turning it on later needs the slot.
  const publishes = holder?.role !== "observer";
  conn.publish = { mic: publishes, camera: publishes };
  on(conn, "waiting", (body) => {
    sessionStorage.setItem(JOINED_KEY, "1");
    // "You cannot be seen or heard": the devices really are off while one waits.
    stopAll();
    $("waiting").hidden = false;
    $("call").hidden = true;
    $("waiting-title").textContent = `Session: ${body.session.title}`;
  });
  on(conn, "welcome", (body) => {
    sessionStorage.setItem(JOINED_KEY, "1");
    $("waiting").hidden = true;
    $("call").hidden = false;
    state.myId = body.you.id;
    state.myRole = body.you.role;
    state.permissions = permissionsOf(body);
    $("session-title").textContent = body.session.title;
    document.title = `${body.session.title} · PeerCircle`;
    setBaseTitle(document.title);
    state.signals = body.signals?.items ?? [];
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
    if (may(ACTIONS.publishMic) || may(ACTIONS.publishCamera)) {
      conn.send("media-state", {
        mic: conn.sending.mic ? "live" : "off",
        camera: conn.sending.camera ? "live" : "off",
      });
    }
    resumeDevices();
    listDevices().catch(() => {});
  });
  on(conn, "participant-joined", (p) => state.participants.set(p.id, p));
  on(conn, "participant-updated", (p) => state.participants.set(p.id, p));
  on(conn, "participant-left", (body) => state.participants.delete(body.id));
  on(conn, "track-published", (t) => state.tracks.set(t.id, t));
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
  on(conn, "signals", (body) => (state.signals = body.items));
  on(conn, "waiting-message", (body) => {
    const box = $("waiting-messages");
    const p = document.createElement("p");
    p.className = "waiting-message";
    const time = new Date(body.at * 1000).toLocaleTimeString([], {
      hour: "2-digit",
      minute: "2-digit",
    });
    p.textContent = `${body.fromName} says (${time}): ${body.text}`;
    box.append(p);
    while (box.children.length > 5) box.firstElementChild?.remove();
    box.hidden = false;
  });
  on(conn, "link-quality", (body) => state.linkQuality.set(body.participant, body.quality));
  on(conn, "hand", (body) => (state.handRaised = body.raised));
  on(conn, "chat-message", (message) => {
    if (message.from !== state.myId) chatArrived();
    // A facilitator wrote privately: the answer goes to the facilitators, unless the
    // person is already writing something else.
    if (message.to === "participant" && message.participant === state.myId) {
      if (!$<HTMLInputElement>("chat-text").value) {
        $<HTMLSelectElement>("chat-to").value = "facilitators";
      }
    }
    state.chat.push(message);
    state.chat = state.chat.slice(-200);
  });
  on(conn, "muted", (body) => notify(`${body.by} muted your microphone.`, undefined, "muted"));
  on(conn, "camera-stopped", (body) =>
    notify(`${body.by} turned your camera off.`, undefined, "camera-stopped"),
  );
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
  on(conn, "media-quality", (body) => {
    state.videoPaused = body.video === "paused";
    notify(
      body.video === "paused"
        ? "Your connection is struggling: the others' video is paused, their audio goes on."
        : "Your connection has recovered: video is back.",
      undefined,
      "media-quality",
    );
  });
  on(conn, "break-requested", (body) =>
    notify(`${body.name} needs a break.`, undefined, "break-requested"),
  );
  on(conn, "denied", (body) => endWith("denied", body.message));
  setUpRooms((name, handler) => on(conn, name, handler));
  setUpSpeaking((name, handler) => on(conn, name, handler));
  setUpCaptions((name, handler) => on(conn, name, handler));
  conn.on("state", showState);
  conn.on("refused", ({ code, message }) => endWith(`refused:${code}`, message));
  conn.on("session-left", ({ reason, by }) => endWith(reason, "", by));
  conn.on("session-ended", () => endWith("ended", ""));
  conn.on("protocol-error", (body) => {
    if (body.code === "not_permitted" || body.code === "rate_limited") {
      notify(body.message, undefined, "error");
    }
  });
  conn.start({ mic, camera });
  updateToolbar();
}

/**
 * Leave the session for good in this tab (a reload no longer rejoins). `why`: see
 * endings.ts; `message`: the facilitator's words, if any; `by`: who did it.
 */
function endWith(why: string, message: string, by?: string): void {
  // The first word on why is the fullest (a deny's message, then "session-left").
  if (!$("ended").hidden) return;
  sessionStorage.removeItem(JOINED_KEY);
  stopAll();
  showEnded(why, message, by);
}

/** Start or stop sending one's mic or camera (opening the device if need be). */
async function setSending(source: "mic" | "camera", on: boolean): Promise<void> {
  const conn = state.connection;
  if (!conn) return;
  if (on) {
    // Turned off in the lobby, or stopped: open the device now.
    try {
      await ensureTrack(source);
    } catch (err) {
      notify(explain(err).text, undefined, "devices");
      return;
    }
  }
  await conn.setSending(source, on);
  // A camera that is off is closed, so the browser's camera light goes off too.
  if (!on && source === "camera") conn.local.camera?.stop();
  render();
}

function showState(connectionState: string): void {
  const el = $("status");
  el.dataset.state = connectionState;
  el.textContent =
    {
      connecting: "Connecting…",
      connected: "Connected",
      reconnecting: "Reconnecting…",
      disconnected: "Disconnected",
    }[connectionState] ?? connectionState;
  if (!state.connection?.left) showConnection(connectionState);
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

const toggleMic = () => setSending("mic", !state.connection?.sending.mic);
const toggleCamera = () => setSending("camera", !state.connection?.sending.camera);
$("toggle-mic").addEventListener("click", toggleMic);
$("toggle-camera").addEventListener("click", toggleCamera);
setUpShell({
  mic: () => !$("toggle-mic").hidden && toggleMic(),
  camera: () => !$("toggle-camera").hidden && toggleCamera(),
  hand: () => !$("toggle-hand").hidden && $("toggle-hand").click(),
});
const leave = () => {
  state.connection?.leave();
  endWith("left", "");
};
confirmLeave(leave);
$("waiting-leave").addEventListener("click", leave);
$("rejoin").addEventListener("click", () => {
  sessionStorage.setItem(JOINED_KEY, "1");
  location.reload();
});
for (const [id, source] of ([
  ["call-mic-select", "mic"],
  ["call-camera-select", "camera"],
] as const)) {
  $(id).addEventListener("change", (e) => {
    switchDevice(source, (e.target as HTMLSelectElement).value)
      .then(render)
      .catch((err) => notify(explain(err).text, undefined, "devices"));
  });
}

// For tests and troubleshooting: what this page plays, without personal data.
(window as unknown as { peercircle: unknown }).peercircle = {
  tiles: describeTiles,
  screen: describeScreen,
  /** Inbound media per remote track id: packets, bytes, decoded frames, audio samples. */
  async inbound() {
    const out: Record<string, Record<string, number>> = {};
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
    const out: Record<string, string> = {};
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
  /** Whether any camera or mic track of this page is capturing now. */
  capturing,
  /** Whether this page holds a capturing camera track. */
  cameraLive: () => state.connection?.local.camera?.readyState === "live",
  /** The device labels of the mic and camera tracks this page sends now. */
  sending() {
    const conn = state.connection;
    const senders = conn?.pc?.getSenders() ?? [];
    const label = (track: MediaStreamTrack | null | undefined) =>
      senders.find((s) => track && s.track === track && track.readyState === "live")?.track
        ?.label ?? "";
    return { mic: label(conn?.local.mic), camera: label(conn?.local.camera) };
  },
  micLevel,
};

setUpPanel();
tickSignals();
watchStage();
watchMedia(render);
openLobby();
