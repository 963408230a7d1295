// PeerCircle wire protocol, version 1 (docs/PROTOCOL.md), apart from any UI: the one
// typed map of every server event (ServerEvents), checked against the server's own
// definition (client/protocol.json, written from server/signaling/protocol.py), and
// the connection that forwards each of them as a typed CustomEvent.
// The server is always the offerer: this module only ever answers.

import definition from "./protocol.json";

export const PROTOCOL_VERSION = 1;

export type MediaOnOff = "live" | "off";
export type Source = "mic" | "camera" | "screen";
export type ConnectionState = "connecting" | "connected" | "reconnecting" | "disconnected";

export interface Participant {
  id: string;
  name: string;
  role: string;
  mic: MediaOnOff;
  camera: MediaOnOff;
  connection: "connected" | "reconnecting";
  room: string;
  visiting: boolean;
}
export interface Track {
  id: string;
  participant: string;
  kind: "audio" | "video";
  source: string;
}
export interface Captioner {
  id: string;
  name: string;
  since: number;
}
export interface Room {
  id: string;
  name: string;
  leader: string | null;
}
export interface Breakouts {
  open: boolean;
  rooms: Room[];
  endsAt: number | null;
  serverTime: number;
  selfChoice: boolean;
}
export interface HelpRequest {
  participant: string;
  name: string;
  room: string;
  roomName: string;
  at: number;
}
export interface BreakoutConsole {
  planned: Record<string, string>;
  help: HelpRequest[];
}
export interface SessionSettings {
  locked: boolean;
  chatEnabled: boolean;
  sharePolicy: "replace" | "wait";
  captions: boolean;
  transcript: boolean;
  reactions?: boolean;
}
export interface Welcome {
  protocol: number;
  you: { id: string; name: string; role: string };
  session: { id: string; title: string } & SessionSettings;
  captionsDeclined?: boolean;
  participants: Participant[];
  tracks: Track[];
  iceServers: RTCIceServer[];
  hand: boolean;
  hands?: string[];
  waiting?: Participant[];
  mayShare: boolean;
  shareRequests?: { id: string; name: string }[];
  breakouts: Breakouts;
  breakoutConsole?: BreakoutConsole;
  captioners?: Captioner[];
  /** The facilitators' open signals (as in `signals`). */
  signals?: { items: Signal[]; count: number };
  /** The Action values (server/domain/roles.py) this person holds. */
  permissions?: string[];
}
export interface Offer {
  revision: number;
  sdp: string;
  publish: Record<string, string>;
  receive: Record<string, string | null>;
}
export interface ProtocolErrorBody {
  code: string;
  message: string;
  event?: string;
  /** With `moved`: the node that serves the session now (docs/PROTOCOL.md, "Several nodes"). */
  url?: string;
}

/** Moves followed in a row before giving up ("could not join"). */
const MAX_MOVES = 3;
const MOVES_KEY = "peercircle.moves";

/** Go to the node that serves the session: the same page there, with the same link.
 * Only http(s) URLs; at most MAX_MOVES in a row (reset by a welcome). */
function followMove(url: string | undefined, token: string): boolean {
  if (!url || !/^https?:\/\//.test(url)) return false;
  const moves = Number(sessionStorage.getItem(MOVES_KEY) ?? "0");
  if (moves >= MAX_MOVES) return false;
  sessionStorage.setItem(MOVES_KEY, String(moves + 1));
  location.assign(`${url.replace(/\/+$/, "")}/join#t=${token}&joined=1`);
  return true;
}
export interface ChatMessage {
  id: number;
  from: string;
  fromName: string;
  to: "room" | "facilitators" | "participant";
  text: string;
  at: number;
  room?: string;
  /** A facilitator's private message: to whom. */
  participant?: string;
}
export interface SpeakingPerson {
  id: string;
  group: "patient" | "facilitator";
  talkS: number | null;
  share: number | null;
  dominance: number | null;
  turns: number;
  lastSpokeAt: number | null;
  spoken: boolean;
  presentS: number | null;
}
export interface SpeakingGroup {
  groupSize: number;
  talkS: number | null;
  patientTalkS: number | null;
  facilitatorTalkS: number | null;
  facilitatorShare: number | null;
  gini: number | null;
  entropy: number | null;
  people: SpeakingPerson[];
}
export interface SpeakingStats {
  at: number;
  windowS: number;
  names: Record<string, string>;
  session: { whole: SpeakingGroup; window: SpeakingGroup };
  rooms: { room: string; whole: SpeakingGroup | null; window: SpeakingGroup | null }[];
}
export interface Cue {
  key: string;
  kind: string;
  person: string | null;
  room: string;
  severity?: number;
  text: string;
}
export interface Caption {
  utterance: string;
  speaker: string;
  name: string;
  room: string;
  text: string;
  final: boolean;
  replaces: string[];
}
/** One turn of a go-round; `round-console` adds the exact states, `heldS`, `passes`. */
export interface RoundTurn {
  participant: string;
  name: string;
  state: "waiting" | "speaking" | "done" | "passed" | "gone";
  heldS?: number;
  passes?: number;
}
/**
 * `round` (everyone in the room) and `round-console` (facilitators), docs/PROTOCOL.md.
 */
export type RoundBody =
  | {
      room: string;
      active: true;
      over: boolean;
      speaker: string | null;
      turns: RoundTurn[];
      perPersonS: number | null;
      turnEndsAt: number | null;
      othersMuted: boolean;
      serverTime: number;
      startedBy?: string;
    }
  | { room: string; active: false };
/** One segment of a session plan (check-in, topic, breakouts, reflection, ...). */
export interface PlanSegment {
  title: string;
  kind: string;
  /** Planned length, extensions included. */
  plannedS: number;
  topic: string;
  leaders: { id: string; name: string }[];
  state: "upcoming" | "current" | "done" | "skipped";
}
/** `plan` (everyone in the call), docs/PROTOCOL.md; `welcome` carries it too. */
export interface PlanBody {
  segments: PlanSegment[];
  current: number | null;
  startedAt: number | null;
  endsAt: number | null;
  totalPlannedS: number;
  breaksPlannedS: number;
  leadersMayAdvance: boolean;
  spotlight: string | null;
  serverTime: number;
}
type By = { by: string };

/** Every event the server sends a browser, with its body (docs/PROTOCOL.md). */
export interface ServerEvents {
  welcome: Welcome;
  offer: Offer;
  error: ProtocolErrorBody;
  waiting: { session: { title: string } };
  denied: { message: string };
  "waiting-room": { waiting: Participant[] };
  "participant-joined": Participant;
  "participant-updated": Participant;
  "participant-left": { id: string; reason: string };
  "track-published": Track;
  "track-unpublished": { id: string };
  "session-settings": SessionSettings;
  "session-left": { reason: string; by?: string };
  "session-ended": Record<string, never>;
  muted: By;
  "unmute-requested": By;
  "camera-stopped": By;
  hands: { queue: string[] };
  hand: { raised: boolean };
  "chat-message": ChatMessage;
  "break-requested": { participant: string; name: string; at: number };
  "share-requests": { pending: { id: string; name: string }[] };
  "share-answer": { granted: boolean; by: string };
  "share-ended": { reason: "revoked" | "replaced" | "moved"; by?: string };
  moved: { room: string; roomName: string; by?: string };
  breakouts: Breakouts;
  "breakout-console": BreakoutConsole;
  "breakouts-closed": { reason: "closed" | "timer"; by?: string };
  "breakout-warning": { secondsLeft: number };
  broadcast: { from: string; fromName: string; text: string; at: number };
  "help-requested": HelpRequest;
  "speaking-stats": SpeakingStats;
  cue: Cue;
  "cue-cleared": { key: string };
  "my-speaking": { talkS: number };
  "hands-order": { queue: string[]; talkS: Record<string, number> };
  "speaking-options": { leadersSeeRoom: boolean };
  caption: Caption;
  "captions-status": { engine: string; state: "starting" | "running" | "restarting" | "off"; reason: string };
  "caption-consent": { declined: boolean };
  captioners: { captioners: Captioner[] };
  "media-quality": { video: "paused" | "flowing" };
  round: RoundBody;
  "round-console": RoundBody;
  plan: PlanBody;
  feedback: {
    segment: number;
    title: string;
    from: string;
    fromName: string;
    kind: string;
    text: string;
    at: number;
    leaders: string[];
  };
  reaction: { participant: string; reaction: "thank-you" | "me-too" | "clap" | "heart" };
  signals: { items: Signal[]; count: number };
  "waiting-message": { text: string; fromName: string; at: number };
  "link-quality": { participant: string; quality: "good" | "poor" };
}

/** One of the facilitators' open signals (`signals`, docs/PROTOCOL.md). */
export interface Signal {
  id: string;
  kind: "break" | "private-message" | "tech-help" | "waiting" | "share-request" | "hand" | "help";
  participant: string;
  name: string;
  at: number | null;
  room?: string;
  roomName?: string;
}

/** Events the connection itself raises (not from the server). */
export interface LocalEvents {
  "remote-tracks": Map<string, MediaStreamTrack>;
  state: ConnectionState;
  refused: { code: string; message: string };
  "protocol-error": ProtocolErrorBody;
  "local-share": null;
}
export type CallEvents = Omit<ServerEvents, "error"> & LocalEvents;
/** Subscribe to one event with a handler typed by the event's body. */
export type On = <K extends keyof CallEvents>(name: K, handler: (body: CallEvents[K]) => void) => void;

// The server's definition and this map must name the same browser events: a new
// server event fails the type check here until it has a body type above.
type Defined = keyof typeof definition.server;
type NotForBrowsers = "caption-audio";
type Unmapped = Exclude<Defined, keyof ServerEvents | NotForBrowsers>;
type Unknown = Exclude<keyof ServerEvents, Defined>;
const mapped: [Unmapped, Unknown] extends [never, never] ? true : [Unmapped, Unknown] = true;
void mapped;

/** The server events a browser receives, from the server's definition. */
export const BROWSER_EVENTS = Object.entries(definition.server)
  .filter(([, spec]) => spec.browser)
  .map(([name]) => name as keyof ServerEvents);

export const ACTIONS = {
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
  askTechHelp: "say they have a technical problem",
  handleSignals: "see and dismiss the facilitators' signals",
  messagePrivately: "message one participant privately",
} as const;

/**
 * The actions this person holds, from `welcome.permissions`: nothing when absent
 * (then the page offers no moderation at all).
 */
export function permissionsOf(welcome: Welcome): Set<string> {
  return new Set(Array.isArray(welcome.permissions) ? welcome.permissions : []);
}

/**
 * What a join token (a JWT) says about its holder, read without verifying (the server
 * verifies).
 */
export function readToken(token: string): { name: string; role: string } | null {
  try {
    const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const json = new TextDecoder().decode(Uint8Array.from(atob(payload), (c) => c.charCodeAt(0)));
    const body = JSON.parse(json);
    return { name: String(body.name), role: String(body.role) };
  } catch {
    return null;
  }
}

// Events with more to do than forwarding (see start()).
const HANDLED_APART = new Set<string>([
  "welcome",
  "offer",
  "error",
  "muted",
  "camera-stopped",
  "share-ended",
  "session-left",
  "session-ended",
]);

/**
 * One participant's connection to a session: the socket and one RTCPeerConnection.
 * Dispatches a CustomEvent for every server event (ServerEvents, `error` as
 * `protocol-error`) and its own LocalEvents; `on` subscribes with a typed body.
 */
export class CallConnection extends EventTarget {
  // The person's caption choice (lobby, then the in-call toggle); sent with `join`.
  captionsDeclined = false;
  readonly token: string;
  readonly url: string;
  local: Record<Source, MediaStreamTrack | null> = { mic: null, camera: null, screen: null };
  sending: Record<Source, boolean> = { mic: true, camera: true, screen: true };
  /** The sources to publish (null: those with a local track). */
  publish: { mic: boolean; camera: boolean } | null = null;
  pc: RTCPeerConnection | null = null;
  welcome: Welcome | null = null;
  remoteTracks = new Map<string, MediaStreamTrack>();
  /**
   * The MediaStream each remote track arrived in: one per publisher, which is what
   * lets the browser keep that publisher's audio and video in sync.
   */
  streamOf = new WeakMap<MediaStreamTrack, string>();
  publishMids: Record<string, string> = {};
  state: ConnectionState = "connecting";
  left = false;
  // The server said the session moved and will close this socket: reconnect after.
  moving = false;
  socket: import("socket.io-client").Socket | null = null;
  offerChain: Promise<void> = Promise.resolve();

  constructor(token: string, options: { url?: string } = {}) {
    super();
    this.token = token;
    this.url = options.url ?? "/";
  }

  /** Subscribe to an event; the handler gets its typed body. */
  on<K extends keyof CallEvents>(name: K, handler: (body: CallEvents[K]) => void): void {
    this.addEventListener(name, (e) => handler((e as CustomEvent<CallEvents[K]>).detail));
  }

  /** Connect and join, publishing the given local tracks. */
  start(tracks: { mic: MediaStreamTrack | null; camera: MediaStreamTrack | null }): void {
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
      if (this.moving) {
        // The session moved to another node (no URL to follow): connect again here,
        // and this node sends us on.
        this.moving = false;
        this.setState("reconnecting");
        setTimeout(() => socket.connect(), 500);
        return;
      }
      // "io server disconnect": the server closed us on purpose; no reconnection.
      this.setState(
        this.left || reason === "io server disconnect" ? "disconnected" : "reconnecting",
      );
    });
    socket.on("connect_error", (err) => {
      const data = (err as unknown as { data?: { code?: string; message?: string; url?: string } })
        .data;
      if (data?.code === "moved" && followMove(data.url, this.token)) return;
      if (data?.code === "unavailable" || (data?.code === "moved" && !data.url)) {
        // A takeover or a store outage: seconds, not an end. Keep trying, calmly.
        this.setState("reconnecting");
        setTimeout(() => socket.connect(), 1000);
        return;
      }
      if (data && data.code) {
        this.left = true;
        socket.disconnect();
        this.setState("disconnected");
        this.emit("refused", { code: data.code, message: data.message ?? err.message });
      } else {
        this.setState("reconnecting");
      }
    });
    socket.on("welcome", (body: Welcome) => {
      sessionStorage.removeItem(MOVES_KEY);
      this.welcome = body;
      this.emit("welcome", body);
    });
    socket.on("offer", (offer: Offer) => {
      // Offers are applied one at a time, in the order they came.
      this.offerChain = this.offerChain
        .then(() => this.answer(offer))
        .catch((err) => console.warn("offer failed", err));
    });
    socket.on("error", (body: ProtocolErrorBody) => {
      if (body.code === "media_failed") this.restartMedia();
      if (body.code === "moved" && !followMove(body.url, this.token)) this.moving = true;
      this.emit("protocol-error", body);
    });
    socket.on("muted", (body: ServerEvents["muted"]) => {
      // The server no longer forwards our mic; stop sending it too.
      this.setSending("mic", false, false).catch(() => {});
      this.emit("muted", body);
    });
    socket.on("camera-stopped", (body: ServerEvents["camera-stopped"]) => {
      this.setSending("camera", false, false).catch(() => {});
      this.emit("camera-stopped", body);
    });
    socket.on("share-ended", (body: ServerEvents["share-ended"]) => {
      this.endLocalShare();
      this.emit("share-ended", body);
    });
    socket.on("session-left", (body: ServerEvents["session-left"]) => {
      this.left = true;
      this.emit("session-left", body);
    });
    socket.on("session-ended", () => {
      this.left = true;
      this.emit("session-ended", {});
    });
    // Every other event the server defines for browsers is forwarded as it is: a new
    // one cannot be dropped on the way.
    for (const name of BROWSER_EVENTS) {
      if (HANDLED_APART.has(name)) continue;
      socket.on(name, (body: unknown) => this.dispatchEvent(new CustomEvent(name, { detail: body })));
    }
  }

  join(): void {
    this.closePeer();
    this.socket?.emit("join", {
      // A source may be published with no track yet (camera off in the lobby): the
      // page opens the device when the person turns it on.
      publish: this.publish ?? { mic: this.local.mic !== null, camera: this.local.camera !== null },
      captionsDeclined: this.captionsDeclined,
    });
  }

  /** Tear down media and ask the server for a fresh offer. */
  restartMedia(): void {
    if (this.socket?.connected) this.join();
  }

  async answer(offer: Offer): Promise<void> {
    if (!this.pc) this.pc = this.createPeer();
    const pc = this.pc;
    await pc.setRemoteDescription({ type: "offer", sdp: offer.sdp });
    this.publishMids = offer.publish;
    for (const transceiver of pc.getTransceivers()) {
      const source = (Object.keys(offer.publish) as Source[]).find(
        (s) => offer.publish[s] === transceiver.mid,
      );
      if (source) {
        transceiver.direction = "sendonly";
        const track = this.sending[source] ? this.local[source] : null;
        if (transceiver.sender.track !== track) await transceiver.sender.replaceTrack(track);
      }
    }
    const answer = await pc.createAnswer();
    await pc.setLocalDescription(answer);
    this.socket?.emit("answer", { revision: offer.revision, sdp: pc.localDescription?.sdp });
    const tracks = new Map<string, MediaStreamTrack>();
    for (const transceiver of pc.getTransceivers()) {
      const trackId = transceiver.mid === null ? null : offer.receive[transceiver.mid];
      if (trackId) tracks.set(trackId, transceiver.receiver.track);
    }
    this.remoteTracks = tracks;
    this.emit("remote-tracks", tracks);
  }

  createPeer(): RTCPeerConnection {
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

  closePeer(): void {
    if (this.pc) {
      this.pc.close();
      this.pc = null;
      this.remoteTracks = new Map();
      this.emit("remote-tracks", this.remoteTracks);
    }
  }

  /**
   * Start or stop sending a source (mute, camera off); tells the others unless
   * `announce` is false (the server told us).
   */
  async setSending(source: Source, on: boolean, announce = true): Promise<void> {
    this.sending[source] = on;
    const mid = this.publishMids[source];
    const transceiver = this.pc?.getTransceivers().find((t) => t.mid === mid);
    if (transceiver) await transceiver.sender.replaceTrack(on ? this.local[source] : null);
    if (announce) this.socket?.emit("media-state", { [source]: on ? "live" : "off" });
  }

  // -- moderation and participation (docs/PROTOCOL.md) --------------------------

  admit(participant: string): void { this.send("admit", { participant }); }
  deny(participant: string, message = ""): void { this.send("deny", { participant, message }); }
  lock(locked: boolean): void { this.send("lock", { locked }); }
  mute(participant: string): void { this.send("mute", { participant }); }
  muteAll(): void { this.send("mute-all", {}); }
  askUnmute(participant: string): void { this.send("ask-unmute", { participant }); }
  stopCamera(participant: string): void { this.send("stop-camera", { participant }); }
  remove(participant: string): void { this.send("remove", { participant }); }
  /** Any link the session knows, used or not. */
  revokeLink(participant: string): void { this.send("revoke-link", { participant }); }
  endSession(): void { this.send("end-session", {}); }
  raiseHand(): void { this.send("raise-hand", {}); }
  /** One's own hand, or (facilitators) someone else's. */
  lowerHand(participant?: string): void {
    this.send("lower-hand", participant ? { participant } : {});
  }
  chat(to: "room" | "facilitators", text: string): void { this.send("chat", { to, text }); }
  setChat(enabled: boolean): void { this.send("set-chat", { enabled }); }
  signalBreak(): void { this.send("break", {}); }
  /** "I have a technical problem": the facilitators are told. */
  techHelp(): void { this.send("tech-help", {}); }
  /** A facilitator handled a break, private-message or tech-help signal. */
  dismissSignal(signal: string): void { this.send("signal-dismiss", { signal }); }
  admitAll(): void { this.send("admit-all", {}); }
  /** A message to everyone in the waiting room. */
  messageWaiting(text: string): void { this.send("waiting-message", { text }); }
  /** A facilitator's private message to one participant. */
  chatPrivately(participant: string, text: string): void {
    this.send("chat", { to: "participant", participant, text });
  }
  requestShare(): void { this.send("share-request", {}); }
  setSharePolicy(policy: "replace" | "wait"): void { this.send("share-policy", { policy }); }
  approveShare(participant: string): void { this.send("share-approve", { participant }); }
  declineShare(participant: string): void { this.send("share-decline", { participant }); }
  revokeShare(participant: string): void { this.send("share-revoke", { participant }); }

  // -- breakout rooms (the server checks every permission) --

  createRooms(names: string[]): void { this.send("breakout-rooms", { names }); }
  /** `together`: groups kept in one room; `apart`: groups spread over rooms. */
  assignRooms(mode: "random" | "balanced", together: string[][] = [], apart: string[][] = []): void {
    this.send("breakout-assign", { mode, together, apart });
  }
  moveTo(participant: string, room: string): void {
    this.send("breakout-move", { participant, room });
  }
  openRooms(durationS: number | null): void { this.send("breakout-open", { durationS }); }
  setRoomTimer(remainingS: number | null): void { this.send("breakout-timer", { remainingS }); }
  broadcast(text: string): void { this.send("breakout-broadcast", { text }); }
  visit(room: string): void { this.send("breakout-visit", { room }); }
  chooseRoom(room: string): void { this.send("breakout-choose", { room }); }
  setSelfChoice(selfChoice: boolean): void { this.send("breakout-options", { selfChoice }); }
  setLeader(room: string, participant: string | null): void {
    this.send("breakout-leader", { room, participant });
  }
  askForHelp(): void { this.send("breakout-help", {}); }
  clearHelp(participant: string): void { this.send("breakout-help-clear", { participant }); }
  closeRooms(): void { this.send("breakout-close", {}); }

  /** Share a screen track (from getDisplayMedia); the server offers it a slot. */
  startShare(track: MediaStreamTrack): void {
    this.local.screen = track;
    // The browser's own "Stop sharing" button ends the track.
    track.addEventListener("ended", () => this.stopShare());
    this.send("share-start", {});
  }

  stopShare(): void {
    if (this.local.screen) {
      this.endLocalShare();
      this.send("share-stop", {});
    }
  }

  endLocalShare(): void {
    this.local.screen?.stop();
    this.local.screen = null;
    this.emit("local-share", null);
  }

  send(event: string, body: Record<string, unknown>): void {
    this.socket?.emit(event, body);
  }

  /** Use another local device for a source. */
  async replaceLocalTrack(source: Source, track: MediaStreamTrack): Promise<void> {
    this.local[source] = track;
    if (this.sending[source]) {
      const mid = this.publishMids[source];
      const transceiver = this.pc?.getTransceivers().find((t) => t.mid === mid);
      await transceiver?.sender.replaceTrack(track);
    }
  }

  leave(): void {
    this.left = true;
    this.socket?.emit("leave", {});
    this.closePeer();
    this.setState("disconnected");
  }

  setState(state: ConnectionState): void {
    if (state !== this.state) {
      this.state = state;
      this.emit("state", state);
    }
  }

  emit<K extends keyof CallEvents>(name: K, detail: CallEvents[K]): void {
    this.dispatchEvent(new CustomEvent(name, { detail }));
  }
}
