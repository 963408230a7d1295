// The stage: the video tiles (a keyed Preact view: a tile keeps its <video> across
// updates), the shared screen, and the layout that fits them into the space left
// between the top bar and the toolbar.

import { render } from "preact";
import { useLayoutEffect, useRef } from "preact/hooks";
import { $, myRoom, state } from "../state.js";
import { fitTiles } from "./fit.js";

/** What one tile shows. */
interface TileModel {
  id: string;
  name: string;
  self: boolean;
  role: string;
  micOn: boolean;
  cameraOn: boolean;
  camera: MediaStreamTrack | null;
  mic: MediaStreamTrack | null;
  hand: boolean;
  reconnecting: boolean;
  speaking: boolean;
}

/** Roles worth naming on a tile; a patient is the default and goes unsaid. */
const ROLE_LABELS: Record<string, string> = {
  therapist: "therapist",
  "co-facilitator": "co-facilitator",
  "peer-leader": "peer leader",
};

function attach(element: HTMLMediaElement | null, track: MediaStreamTrack | null): void {
  if (!element) return;
  const current = element.srcObject as MediaStream | null;
  if ((current?.getTracks()[0] ?? null) === track) return;
  element.srcObject = track ? new MediaStream([track]) : null;
  if (track) element.play().catch(() => {});
}

function Tile({ tile, small }: { tile: TileModel; small: boolean }) {
  const video = useRef<HTMLVideoElement>(null);
  const audio = useRef<HTMLAudioElement>(null);
  const showVideo = tile.cameraOn && tile.camera !== null;
  useLayoutEffect(() => attach(video.current, showVideo ? tile.camera : null));
  useLayoutEffect(() => attach(audio.current, tile.micOn ? tile.mic : null));
  const role = ROLE_LABELS[tile.role];
  const name = tile.self ? `${tile.name} (you)` : tile.name;
  const described = [
    name,
    role,
    tile.micOn ? "" : "muted",
    showVideo ? "" : "camera off",
    tile.hand ? "hand raised" : "",
    tile.reconnecting ? "reconnecting" : "",
    tile.speaking ? "speaking" : "",
  ].filter(Boolean);
  return (
    <div
      class={`tile${tile.self ? " self" : ""}${small ? " small" : ""}`}
      role="listitem"
      aria-label={described.join(", ")}
      data-participant={tile.id}
      data-video={showVideo ? "on" : "off"}
      data-speaking={String(tile.speaking)}
    >
      {/* Sound plays through the <audio> element; the video is always muted. */}
      <video ref={video} autoplay playsInline muted aria-hidden="true" />
      <audio ref={audio} autoplay />
      {!showVideo && (
        <div class="avatar" aria-hidden="true">
          {tile.name.slice(0, 1).toUpperCase()}
        </div>
      )}
      <div class={`label${tile.micOn ? "" : " mic-off"}`} aria-hidden="true">
        <span class="name">{name}</span>
        {role && <span class="marker-role">{role}</span>}
        {!tile.micOn && <span class="marker-muted">muted</span>}
        {tile.hand && <span class="marker-hand">hand up</span>}
        {tile.reconnecting && <span class="marker-reconnecting">reconnecting</span>}
      </div>
    </div>
  );
}

function Gallery({ tiles, small }: { tiles: TileModel[]; small: boolean }) {
  return (
    <>
      {tiles.map((t) => (
        <Tile key={t.id} tile={t} small={small} />
      ))}
    </>
  );
}

/** The tiles of the people in this page's room (observers watch: no tile). */
function tileModels(): TileModel[] {
  const connection = state.connection;
  const room = myRoom();
  const out: TileModel[] = [];
  for (const p of state.participants.values()) {
    if (p.role === "observer" || p.room !== room) continue;
    const self = p.id === state.myId;
    let camera: MediaStreamTrack | null = null;
    let mic: MediaStreamTrack | null = null;
    if (self) {
      camera = connection?.sending.camera ? (connection.local.camera ?? null) : null;
    } else {
      for (const t of state.tracks.values()) {
        if (t.participant !== p.id) continue;
        const remote = state.remoteTracks.get(t.id) ?? null;
        if (t.source === "camera") camera = remote;
        if (t.source === "mic") mic = remote;
      }
    }
    out.push({
      id: p.id,
      name: p.name,
      self,
      role: p.role,
      micOn: self ? Boolean(connection?.sending.mic) : p.mic === "live",
      cameraOn: self ? Boolean(connection?.sending.camera) : p.camera === "live",
      camera,
      mic,
      hand: state.hands.includes(p.id) || (self && state.handRaised),
      reconnecting: p.connection === "reconnecting",
      speaking: state.speaking.has(p.id),
    });
  }
  return out;
}

/** The share shown in this room, if any: whose, and the track to play. */
function shareModel(): { presenter: string; mine: boolean; track: MediaStreamTrack | null; name: string } | null {
  const room = myRoom();
  const share = [...state.tracks.values()].find(
    (t) => t.source === "screen" && state.participants.get(t.participant)?.room === room,
  );
  if (!share) return null;
  const mine = share.participant === state.myId;
  const track = mine
    ? (state.connection?.local.screen ?? null)
    : (state.remoteTracks.get(share.id) ?? null);
  const name = state.participants.get(share.participant)?.name ?? "Someone";
  return { presenter: share.participant, mine, track, name };
}

let lastCount = 0;

export function renderStage(): void {
  const stage = $("stage");
  const share = shareModel();
  // Someone else's share takes the stage; one's own shows as a small preview.
  const onStage = share !== null && !share.mine && share.track !== null;
  stage.dataset.layout = onStage ? "share" : "gallery";
  const box = stage.getBoundingClientRect();
  stage.dataset.orientation = box.width >= box.height ? "landscape" : "portrait";
  const screen = $("screen-stage");
  screen.hidden = !onStage;
  screen.dataset.presenter = onStage ? (share?.presenter ?? "") : "";
  $("screen-caption").textContent = onStage ? `${share?.name} is presenting` : "";
  attach($("screen-video") as HTMLVideoElement, onStage ? (share?.track ?? null) : null);
  const mine = share !== null && share.mine && share.track !== null;
  $("presenting").hidden = !mine;
  attach($("presenting-preview") as HTMLVideoElement, mine ? (share?.track ?? null) : null);

  const tiles = tileModels();
  const grid = $("grid");
  const fit = fitTiles(tiles.length, grid.clientWidth, grid.clientHeight, onStage);
  grid.style.setProperty("--cols", String(fit.cols));
  grid.style.setProperty("--tile-w", `${fit.width}px`);
  grid.dataset.scroll = fit.scroll;
  lastCount = tiles.length;
  render(<Gallery tiles={tiles} small={fit.width < 200} />, grid);
}

/** Lay the tiles out again whenever the space for them changes. */
export function watchStage(): void {
  let queued = false;
  const again = () => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => {
      queued = false;
      if (lastCount > 0 || !$("call").hidden) renderStage();
    });
  };
  const observer = new ResizeObserver(again);
  observer.observe($("stage"));
  observer.observe($("grid"));
}

/** For tests and troubleshooting: the shared screen on this page. */
export function describeScreen() {
  const video = $("screen-video") as HTMLVideoElement;
  return {
    shown: !$("screen-stage").hidden,
    presenter: $("screen-stage").dataset.presenter ?? "",
    frames: video.getVideoPlaybackQuality().totalVideoFrames,
    width: video.videoWidth,
  };
}

/** For tests and troubleshooting: what each tile plays, without personal data. */
export function describeTiles() {
  const out: Record<string, { video: string; frames: number; width: number }> = {};
  for (const tile of Array.from(document.querySelectorAll<HTMLElement>("#grid .tile"))) {
    const video = tile.querySelector("video") as HTMLVideoElement;
    out[tile.dataset.participant ?? ""] = {
      video: tile.dataset.video ?? "off",
      frames: video.getVideoPlaybackQuality().totalVideoFrames,
      width: video.videoWidth,
    };
  }
  return out;
}
