// PeerCircle wire protocol, version 1 (docs/PROTOCOL.md), apart from any UI.
// The server is always the offerer: this module only ever answers.

export const PROTOCOL_VERSION = 1;

/** @typedef {"live" | "off"} MediaOnOff */
/** @typedef {"mic" | "camera" | "screen"} Source */
/**
 * @typedef {{id: string, name: string, role: string, mic: MediaOnOff, camera: MediaOnOff,
 *   connection: "connected" | "reconnecting", room: string, visiting: boolean}} Participant
 */
/** @typedef {{id: string, participant: string, kind: "audio" | "video", source: string}} Track */
/** @typedef {{id: string, name: string, since: number}} Captioner */
/**
 * @typedef {{protocol: number, you: {id: string, name: string, role: string},
 *   session: {id: string, title: string, locked: boolean, chatEnabled: boolean,
 *     sharePolicy: string, captions: boolean, transcript: boolean},
 *   captionsDeclined?: boolean,
 *   participants: Participant[], tracks: Track[], iceServers: RTCIceServer[],
 *   hand: boolean, hands?: string[], waiting?: Participant[], mayShare: boolean,
 *   shareRequests?: {id: string, name: string}[], breakouts: Breakouts,
 *   breakoutConsole?: BreakoutConsole, captioners?: Captioner[],
 *   permissions?: string[]}} Welcome
 */
/** @typedef {{id: string, name: string, leader: string | null}} Room */
/**
 * @typedef {{open: boolean, rooms: Room[], endsAt: number | null, serverTime: number,
 *   selfChoice: boolean}} Breakouts
 */
/**
 * @typedef {{planned: Record<string, string>, help: {participant: string, name: string,
 *   room: string, roomName: string, at: number}[]}} BreakoutConsole
 */
/**
 * @typedef {{revision: number, sdp: string, publish: Record<string, string>,
 *   receive: Record<string, string | null>}} Offer
 */
/** @typedef {{code: string, message: string, event?: string}} ProtocolErrorBody */
/**
 * @typedef {{id: number, from: string, fromName: string, to: "room" | "facilitators",
 *   text: string, at: number}} ChatMessage
 */
/**
 * @typedef {"connecting" | "connected" | "reconnecting" | "disconnected"} ConnectionState
 */

/**
 * The actions a person may hold (server/domain/roles.py `Action`, by value): the server
 * lists the ones each person holds in `welcome.permissions`, and the page shows only
 * what they allow.
 */
export const ACTIONS = /** @type {const} */ ({
  publishMic: "publish a microphone",
  publishCamera: "publish a camera",
  seeWaitingRoom: "see the waiting room",
  admit: "admit or deny someone waiting",
  lock: "lock or unlock the session",
  mute: "mute someone",
  muteAll: "mute everyone",
  askUnmute: "ask someone to unmute",
  stopCamera: "turn someone's camera off",
  remove: "remove someone",
  revokeLink: "revoke a join link, used or not",
  endSession: "end the session",
  setChat: "turn group chat on or off",
  chat: "chat with the group",
  chatFacilitators: "write privately to the facilitators",
  raiseHand: "raise a hand",
  lowerOthersHand: "lower someone else's hand",
  seeHands: "see the raised-hand queue",
  seeBreakSignals: "see break signals",
  signalBreak: "signal privately that they need a break",
  askToPresent: "ask to share their screen",
  approvePresenter: "approve, decline or revoke screen sharing",
  presentWithoutAsking: "share their screen without asking",
  manageBreakouts: "create, assign, open, time and close breakout rooms",
  movePeople: "move someone to another room",
  broadcast: "broadcast a message to every room",
  visitRooms: "visit any breakout room",
  seeHelpRequests: "see help requests from breakout rooms",
  askForHelp: "ask the facilitators for help in a breakout room",
  chooseOwnRoom: "choose their own breakout room, when allowed",
  moderateLedRoom: "mute or ask to unmute in the breakout room they lead",
  manageCaptions: "switch captions (and keeping a transcript) on or off",
  seeSpeakingStats: "see everyone's speaking time and fairness cues",
  setSpeakingOptions: "let peer leaders see the speaking cues of the room they lead",
});

/**
 * The actions this person holds, from `welcome.permissions`: nothing when absent
 * (then the page offers no moderation at all).
 * @param {Welcome} welcome
 * @returns {Set<string>}
 */
export function permissionsOf(welcome) {
  return new Set(Array.isArray(welcome.permissions) ? welcome.permissions : []);
}

/**
 * What a join token (a JWT) says about its holder, read without verifying (the server
 * verifies).
 * @param {string} token
 * @returns {{name: string, role: string} | null}
 */
export function readToken(token) {
  try {
    const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const json = new TextDecoder().decode(
      Uint8Array.from(atob(payload), (c) => c.charCodeAt(0)),
    );
    const body = JSON.parse(json);
    return { name: String(body.name), role: String(body.role) };
  } catch {
    return null;
  }
}

/**
 * One participant's connection to a session: the socket and one RTCPeerConnection.
 * Dispatches CustomEvents named after the server's events (`welcome`,
 * `participant-joined`, ...), plus `remote-tracks` (detail: Map trackId -> MediaStreamTrack),
 * `state` (detail: ConnectionState), `refused` (detail: {code, message}) and
 * `protocol-error` (detail: ProtocolErrorBody).
 */
export class CallConnection extends EventTarget {
  /**
   * @param {string} token
   * @param {{url?: string}} [options]
   */
  constructor(token, options = {}) {
    super();
    // The person's caption choice (lobby, then the in-call toggle); sent with `join`.
    this.captionsDeclined = false;
    this.token = token;
    this.url = options.url ?? "/";
    /** @type {Record<Source, MediaStreamTrack | null>} */
    this.local = { mic: null, camera: null, screen: null };
    /** @type {Record<Source, boolean>} */
    this.sending = { mic: true, camera: true, screen: true };
    /** @type {RTCPeerConnection | null} */
    this.pc = null;
    /** @type {Welcome | null} */
    this.welcome = null;
    /** @type {Map<string, MediaStreamTrack>} */
    this.remoteTracks = new Map();
    /**
     * The MediaStream each remote track arrived in: one per publisher, which is what
     * lets the browser keep that publisher's audio and video in sync.
     * @type {WeakMap<MediaStreamTrack, string>}
     */
    this.streamOf = new WeakMap();
    /** @type {Record<string, string>} */
    this.publishMids = {};
    /** @type {ConnectionState} */
    this.state = "connecting";
    this.left = false;
    /** @type {import("socket.io-client").Socket | null} */
    this.socket = null;
    /** @type {Promise<void>} */
    this.offerChain = Promise.resolve();
  }

  /**
   * Connect and join, publishing the given local tracks.
   * @param {{mic: MediaStreamTrack | null, camera: MediaStreamTrack | null}} tracks
   */
  start(tracks) {
    this.local = { ...tracks, screen: null };
    const socket = io(this.url, {
      auth: { token: this.token, protocol: PROTOCOL_VERSION },
      transports: ["websocket"],
      reconnectionDelay: 500,
      reconnectionDelayMax: 3000,
    });
    this.socket = socket;
    socket.on("connect", () => this.join());
    socket.on("disconnect", (reason) => {
      this.closePeer();
      // "io server disconnect": the server closed us on purpose; no reconnection.
      this.setState(this.left || reason === "io server disconnect" ? "disconnected" : "reconnecting");
    });
    socket.on("connect_error", (err) => {
      const data = /** @type {{data?: {code?: string, message?: string}}} */ (
        /** @type {unknown} */ (err)
      ).data;
      if (data && data.code) {
        this.left = true;
        socket.disconnect();
        this.setState("disconnected");
        this.emit("refused", { code: data.code, message: data.message ?? err.message });
      } else {
        this.setState("reconnecting");
      }
    });
    socket.on("welcome", (/** @type {Welcome} */ body) => {
      this.welcome = body;
      this.emit("welcome", body);
    });
    socket.on("offer", (/** @type {Offer} */ offer) => {
      // Offers are applied one at a time, in the order they came.
      this.offerChain = this.offerChain
        .then(() => this.answer(offer))
        .catch((err) => console.warn("offer failed", err));
    });
    socket.on("error", (/** @type {ProtocolErrorBody} */ body) => {
      if (body.code === "media_failed") {
        this.restartMedia();
      }
      this.emit("protocol-error", body);
    });
    socket.on("muted", (/** @type {{by: string}} */ body) => {
      // The server no longer forwards our mic; stop sending it too.
      this.setSending("mic", false, false).catch(() => {});
      this.emit("muted", body);
    });
    socket.on("camera-stopped", (/** @type {{by: string}} */ body) => {
      this.setSending("camera", false, false).catch(() => {});
      this.emit("camera-stopped", body);
    });
    for (const name of [
      "participant-joined",
      "participant-updated",
      "participant-left",
      "track-published",
      "track-unpublished",
      "waiting",
      "denied",
      "waiting-room",
      "session-settings",
      "unmute-requested",
      "hands",
      "hand",
      "chat-message",
      "break-requested",
      "share-requests",
      "share-answer",
      "moved",
      "breakouts",
      "breakout-console",
      "breakouts-closed",
      "breakout-warning",
      "broadcast",
      "help-requested",
      "caption",
      "captions-status",
      "caption-consent",
      "media-quality",
      "captioners",
    ]) {
      socket.on(name, (/** @type {unknown} */ body) => this.emit(name, body));
    }
    // Speaking time (client/speaking.js renders them).
    for (const name of [
      "speaking-stats",
      "cue",
      "cue-cleared",
      "my-speaking",
      "hands-order",
      "speaking-options",
    ]) {
      socket.on(name, (/** @type {unknown} */ body) => this.emit(name, body));
    }
    socket.on("share-ended", (/** @type {{reason: string, by?: string}} */ body) => {
      this.endLocalShare();
      this.emit("share-ended", body);
    });
    socket.on("session-left", (/** @type {{reason: string}} */ body) => {
      this.left = true;
      this.emit("session-left", body);
    });
    socket.on("session-ended", () => {
      this.left = true;
      this.emit("session-ended", {});
    });
  }

  join() {
    this.closePeer();
    this.socket?.emit("join", {
      publish: { mic: this.local.mic !== null, camera: this.local.camera !== null },
      captionsDeclined: this.captionsDeclined,
    });
  }

  /** Tear down media and ask the server for a fresh offer. */
  restartMedia() {
    if (this.socket?.connected) {
      this.join();
    }
  }

  /** @param {Offer} offer */
  async answer(offer) {
    if (!this.pc) {
      this.pc = this.createPeer();
    }
    const pc = this.pc;
    await pc.setRemoteDescription({ type: "offer", sdp: offer.sdp });
    this.publishMids = offer.publish;
    for (const transceiver of pc.getTransceivers()) {
      const source = /** @type {Source | undefined} */ (
        Object.keys(offer.publish).find((s) => offer.publish[s] === transceiver.mid)
      );
      if (source) {
        transceiver.direction = "sendonly";
        const track = this.sending[source] ? this.local[source] : null;
        if (transceiver.sender.track !== track) {
          await transceiver.sender.replaceTrack(track);
        }
      }
    }
    const answer = await pc.createAnswer();
    await pc.setLocalDescription(answer);
    this.socket?.emit("answer", { revision: offer.revision, sdp: pc.localDescription?.sdp });
    /** @type {Map<string, MediaStreamTrack>} */
    const tracks = new Map();
    for (const transceiver of pc.getTransceivers()) {
      const trackId = transceiver.mid === null ? null : offer.receive[transceiver.mid];
      if (trackId) {
        tracks.set(trackId, transceiver.receiver.track);
      }
    }
    this.remoteTracks = tracks;
    this.emit("remote-tracks", tracks);
  }

  /** @returns {RTCPeerConnection} */
  createPeer() {
    const pc = new RTCPeerConnection({ iceServers: this.welcome?.iceServers ?? [] });
    pc.addEventListener("track", (event) => {
      this.streamOf.set(event.track, event.streams[0]?.id ?? "");
    });
    pc.addEventListener("icecandidate", (event) => {
      const c = event.candidate;
      this.socket?.emit("ice-candidate", {
        candidate: c ? c.candidate : null,
        sdpMid: c ? c.sdpMid : null,
        sdpMLineIndex: c ? c.sdpMLineIndex : null,
      });
    });
    pc.addEventListener("connectionstatechange", () => {
      if (pc !== this.pc) return;
      if (pc.connectionState === "connected") {
        this.setState("connected");
      } else if (pc.connectionState === "failed") {
        this.setState("reconnecting");
        this.restartMedia();
      } else if (pc.connectionState === "disconnected") {
        this.setState("reconnecting");
      }
    });
    return pc;
  }

  closePeer() {
    if (this.pc) {
      this.pc.close();
      this.pc = null;
      this.remoteTracks = new Map();
      this.emit("remote-tracks", this.remoteTracks);
    }
  }

  /**
   * Start or stop sending a source (mute, camera off); tells the others.
   * @param {Source} source
   * @param {boolean} on
   * @param {boolean} [announce] tell the server (not when it told us)
   */
  async setSending(source, on, announce = true) {
    this.sending[source] = on;
    const pc = this.pc;
    const mid = this.publishMids[source];
    const transceiver = pc?.getTransceivers().find((t) => t.mid === mid);
    if (transceiver) {
      await transceiver.sender.replaceTrack(on ? this.local[source] : null);
    }
    if (announce) {
      this.socket?.emit("media-state", { [source]: on ? "live" : "off" });
    }
  }

  // -- moderation and participation (docs/PROTOCOL.md) --------------------------

  /** @param {string} participant */
  admit(participant) { this.send("admit", { participant }); }
  /** @param {string} participant @param {string} [message] */
  deny(participant, message = "") { this.send("deny", { participant, message }); }
  /** @param {boolean} locked */
  lock(locked) { this.send("lock", { locked }); }
  /** @param {string} participant */
  mute(participant) { this.send("mute", { participant }); }
  muteAll() { this.send("mute-all", {}); }
  /** @param {string} participant */
  askUnmute(participant) { this.send("ask-unmute", { participant }); }
  /** @param {string} participant */
  stopCamera(participant) { this.send("stop-camera", { participant }); }
  /** @param {string} participant */
  remove(participant) { this.send("remove", { participant }); }
  /** @param {string} participant any link the session knows, used or not */
  revokeLink(participant) { this.send("revoke-link", { participant }); }
  endSession() { this.send("end-session", {}); }
  raiseHand() { this.send("raise-hand", {}); }
  /** @param {string} [participant] someone else's hand (facilitators) */
  lowerHand(participant) { this.send("lower-hand", participant ? { participant } : {}); }
  /** @param {"room" | "facilitators"} to @param {string} text */
  chat(to, text) { this.send("chat", { to, text }); }
  /** @param {boolean} enabled */
  setChat(enabled) { this.send("set-chat", { enabled }); }
  signalBreak() { this.send("break", {}); }
  requestShare() { this.send("share-request", {}); }
  /** @param {"replace" | "wait"} policy */
  setSharePolicy(policy) { this.send("share-policy", { policy }); }
  /** @param {string} participant */
  approveShare(participant) { this.send("share-approve", { participant }); }
  /** @param {string} participant */
  declineShare(participant) { this.send("share-decline", { participant }); }
  /** @param {string} participant */
  revokeShare(participant) { this.send("share-revoke", { participant }); }

  // -- breakout rooms (the server checks every permission) --

  /** @param {string[]} names */
  createRooms(names) { this.send("breakout-rooms", { names }); }
  /**
   * @param {"random" | "balanced"} mode
   * @param {string[][]} [together] groups kept in one room
   * @param {string[][]} [apart] groups spread over different rooms
   */
  assignRooms(mode, together = [], apart = []) {
    this.send("breakout-assign", { mode, together, apart });
  }
  /** @param {string} participant @param {string} room */
  moveTo(participant, room) { this.send("breakout-move", { participant, room }); }
  /** @param {number | null} durationS */
  openRooms(durationS) { this.send("breakout-open", { durationS }); }
  /** @param {number | null} remainingS */
  setRoomTimer(remainingS) { this.send("breakout-timer", { remainingS }); }
  /** @param {string} text */
  broadcast(text) { this.send("breakout-broadcast", { text }); }
  /** @param {string} room */
  visit(room) { this.send("breakout-visit", { room }); }
  /** @param {string} room */
  chooseRoom(room) { this.send("breakout-choose", { room }); }
  /** @param {boolean} selfChoice */
  setSelfChoice(selfChoice) { this.send("breakout-options", { selfChoice }); }
  /** @param {string} room @param {string | null} participant */
  setLeader(room, participant) { this.send("breakout-leader", { room, participant }); }
  askForHelp() { this.send("breakout-help", {}); }
  /** @param {string} participant */
  clearHelp(participant) { this.send("breakout-help-clear", { participant }); }
  closeRooms() { this.send("breakout-close", {}); }

  /**
   * Share a screen track (from getDisplayMedia); the server offers it a slot.
   * @param {MediaStreamTrack} track
   */
  startShare(track) {
    this.local.screen = track;
    // The browser's own "Stop sharing" button ends the track.
    track.addEventListener("ended", () => this.stopShare());
    this.send("share-start", {});
  }

  stopShare() {
    if (this.local.screen) {
      this.endLocalShare();
      this.send("share-stop", {});
    }
  }

  endLocalShare() {
    this.local.screen?.stop();
    this.local.screen = null;
    this.emit("local-share", null);
  }

  /**
   * @param {string} event
   * @param {Record<string, unknown>} body
   */
  send(event, body) {
    this.socket?.emit(event, body);
  }

  /**
   * Use another local device for a source.
   * @param {Source} source
   * @param {MediaStreamTrack} track
   */
  async replaceLocalTrack(source, track) {
    this.local[source] = track;
    if (this.sending[source]) {
      const transceiver = this.pc?.getTransceivers().find((t) => t.mid === this.publishMids[source]);
      await transceiver?.sender.replaceTrack(track);
    }
  }

  leave() {
    this.left = true;
    this.socket?.emit("leave", {});
    this.closePeer();
    this.setState("disconnected");
  }

  /** @param {ConnectionState} state */
  setState(state) {
    if (state !== this.state) {
      this.state = state;
      this.emit("state", state);
    }
  }

  /**
   * @param {string} name
   * @param {unknown} detail
   */
  emit(name, detail) {
    this.dispatchEvent(new CustomEvent(name, { detail }));
  }
}
