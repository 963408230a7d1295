// Camera and microphone: the lobby preview with a level meter and a speaker test,
// plain guidance when a device is denied or missing, stopping every track in the
// waiting room, and switching devices during the call.

import { $, state } from "./state.js";

type Wanted = { mic: boolean; camera: boolean };

export const devices = {
  stream: null as MediaStream | null,
  micId: "",
  cameraId: "",
  audio: null as AudioContext | null,
  analyser: null as AnalyserNode | null,
  source: null as MediaStreamAudioSourceNode | null,
};

/** Plain words for a getUserMedia failure: what happened, and what to do. */
export function explain(err: unknown): { text: string; help: string; audioOnly: boolean } {
  const name = err instanceof DOMException ? err.name : "";
  if (name === "NotAllowedError" || name === "SecurityError") {
    return {
      text: "This browser is not allowed to use your camera or microphone.",
      help:
        "Click the camera icon or the lock next to the address at the top of the window, " +
        "choose Allow for the camera and microphone, then press Try again. You can also " +
        "join without them and listen.",
      audioOnly: false,
    };
  }
  if (name === "NotFoundError" || name === "OverconstrainedError") {
    return {
      text: "No camera or microphone was found.",
      help: "Plug one in and press Try again, or join without a camera.",
      audioOnly: true,
    };
  }
  if (name === "NotReadableError" || name === "AbortError") {
    return {
      text: "Your camera or microphone is being used by another program.",
      help: "Close the other program (another call, for example) and press Try again, or join without a camera.",
      audioOnly: true,
    };
  }
  return {
    text: "Your camera or microphone could not be started.",
    help: "Press Try again, or join without them and listen.",
    audioOnly: true,
  };
}

/** Open the chosen devices (or the defaults). Returns the stream, or throws. */
export async function openDevices(wanted: Wanted): Promise<MediaStream> {
  if (!wanted.mic && !wanted.camera) return new MediaStream();
  return navigator.mediaDevices.getUserMedia({
    audio: wanted.mic ? (devices.micId ? { deviceId: { exact: devices.micId } } : true) : false,
    video: wanted.camera
      ? devices.cameraId
        ? { deviceId: { exact: devices.cameraId }, width: 640, height: 360 }
        : { width: 640, height: 360 }
      : false,
  });
}

/** Stop every local track: the browser's camera and mic indicator goes off. */
export function stopAll() {
  devices.stream?.getTracks().forEach((t) => t.stop());
  const local = state.connection?.local;
  local?.mic?.stop();
  local?.camera?.stop();
  meterSource(null);
}

/** Whether the page holds a live (capturing) camera or mic track now. */
export function capturing() {
  const tracks = [
    ...(devices.stream?.getTracks() ?? []),
    state.connection?.local.mic,
    state.connection?.local.camera,
  ];
  return tracks.some((t) => t && t.readyState === "live");
}

/** Fill a device select, keeping the chosen one; `fallback` labels unnamed devices. */
function fill(
  select: HTMLSelectElement,
  list: MediaDeviceInfo[],
  fallback: string,
  chosen: string,
): void {
  select.replaceChildren();
  list.forEach((device, i) => {
    const option = document.createElement("option");
    option.value = device.deviceId;
    option.textContent = device.label || `${fallback} ${i + 1}`;
    select.append(option);
  });
  if (chosen) select.value = chosen;
}

/** List the cameras and mics in the lobby's and the call's selects. */
export async function listDevices() {
  const all = await navigator.mediaDevices.enumerateDevices();
  const mics = all.filter((d) => d.kind === "audioinput");
  const cameras = all.filter((d) => d.kind === "videoinput");
  const micId = devices.stream?.getAudioTracks()[0]?.getSettings().deviceId ?? devices.micId;
  const camId = devices.stream?.getVideoTracks()[0]?.getSettings().deviceId ?? devices.cameraId;
  for (const id of ["mic-select", "call-mic-select"]) {
    fill($<HTMLSelectElement>(id), mics, "Microphone", micId);
  }
  for (const id of ["camera-select", "call-camera-select"]) {
    fill($<HTMLSelectElement>(id), cameras, "Camera", camId);
  }
}

/** Feed the level meter from a mic track (null: stop). */
export function meterSource(track: MediaStreamTrack | null): void {
  devices.source?.disconnect();
  devices.source = null;
  if (!track) return;
  devices.audio ??= new AudioContext();
  devices.audio.resume().catch(() => {});
  devices.analyser ??= devices.audio.createAnalyser();
  devices.analyser.fftSize = 512;
  devices.source = devices.audio.createMediaStreamSource(new MediaStream([track]));
  devices.source.connect(devices.analyser);
}

/** The mic's level now, 0..1 (RMS), or 0 without a mic. */
export function micLevel() {
  const analyser = devices.analyser;
  if (!analyser || !devices.source) return 0;
  const data = new Float32Array(analyser.fftSize);
  analyser.getFloatTimeDomainData(data);
  let sum = 0;
  for (const v of data) sum += v * v;
  return Math.min(1, Math.sqrt(sum / data.length) * 4);
}

/** A short, gentle two-note chime through the speakers. */
export function playTestSound() {
  devices.audio ??= new AudioContext();
  const ctx = devices.audio;
  ctx.resume().catch(() => {});
  const gain = ctx.createGain();
  gain.connect(ctx.destination);
  const start = ctx.currentTime;
  gain.gain.setValueAtTime(0.0001, start);
  gain.gain.exponentialRampToValueAtTime(0.25, start + 0.05);
  gain.gain.exponentialRampToValueAtTime(0.0001, start + 1.2);
  for (const [freq, at] of [
    [660, 0],
    [880, 0.35],
  ]) {
    const osc = ctx.createOscillator();
    osc.frequency.value = freq;
    osc.connect(gain);
    osc.start(start + at);
    osc.stop(start + 1.2);
  }
}

/** Switch a source to another device during the call (or in the lobby). */
export async function switchDevice(source: "mic" | "camera", deviceId: string): Promise<void> {
  if (source === "mic") devices.micId = deviceId;
  else devices.cameraId = deviceId;
  const connection = state.connection;
  if (!connection) return;
  const old = connection.local[source];
  // A camera that is off stays closed; the new choice is used when it is turned on.
  if (!old || (source === "camera" && !connection.sending.camera)) return;
  const stream = await navigator.mediaDevices.getUserMedia(
    source === "mic"
      ? { audio: { deviceId: { exact: deviceId } } }
      : { video: { deviceId: { exact: deviceId }, width: 640, height: 360 } },
  );
  const track = source === "mic" ? stream.getAudioTracks()[0] : stream.getVideoTracks()[0];
  await connection.replaceLocalTrack(source, track);
  old.stop();
  if (source === "mic") meterSource(track);
}

/** Make sure the call has a live track for a source (opening the device if needed). */
export async function ensureTrack(source: "mic" | "camera"): Promise<void> {
  const connection = state.connection;
  if (!connection) return;
  const current = connection.local[source];
  if (current && current.readyState === "live") return;
  const stream = await openDevices({ mic: source === "mic", camera: source === "camera" });
  const track = source === "mic" ? stream.getAudioTracks()[0] : stream.getVideoTracks()[0];
  await connection.replaceLocalTrack(source, track);
  if (source === "mic") meterSource(track);
}
