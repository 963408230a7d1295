// Live captions: shown under the video with the speaker's name, a partial replaced by
// the final text; each viewer turns them on or off and picks a text size. Facilitators
// switch captions (and a transcript) on for the session; anyone may decline having
// their own speech captioned.

import { h, render } from "preact";
import { notify } from "./panel.js";
import { ACTIONS, type Caption, type On } from "./protocol.js";
import { $, may, state } from "./state.js";


const SHOWN_LINES = 3;
const LINGER_MS = 8000;

/** Captions on screen, oldest first, by utterance id. */
const lines = new Map<string, Caption & { at: number }>();

const prefs = {
  show: localStorage.getItem("pc.captions.show") !== "off",
  size: localStorage.getItem("pc.captions.size") ?? "medium",
};

export const captionState = {
  sessionOn: false,
  transcript: false,
  declined: false,
  engineState: "",
};

/** Every caption this page received (for tests and troubleshooting; ids, no audio). */
export const captionLog: Caption[] = [];

function take(caption: Caption): void {
  captionLog.push(caption);
  if (captionLog.length > 200) captionLog.shift();
  for (const id of caption.replaces ?? []) lines.delete(id);
  lines.delete(caption.utterance); // re-insert at the end: newest last
  lines.set(caption.utterance, { ...caption, at: Date.now() });
  while (lines.size > SHOWN_LINES) lines.delete((lines.keys().next().value as string));
  renderCaptions();
}

export function renderCaptions() {
  const box = $("captions");
  const now = Date.now();
  for (const [id, line] of lines) if (line.final && now - line.at > LINGER_MS) lines.delete(id);
  box.hidden = !prefs.show || !captionState.sessionOn || lines.size === 0;
  box.dataset.size = prefs.size;
  // Keyed by utterance: a screen reader (the box is a polite live region) hears each
  // new or changed line once, not the whole box again every second.
  render(
    [...lines.values()].map((line) =>
      h(
        "p",
        {
          key: line.utterance,
          class: line.final ? "caption final" : "caption partial",
          "data-speaker": line.speaker,
        },
        h("strong", null, `${line.name || "Someone"}: `),
        line.text,
      ),
    ),
    box,
  );
  // Controls: one's own choice is always at hand; viewing options while captions run.
  $("captions-controls").hidden = !may(ACTIONS.publishMic) && !captionState.sessionOn;
  $("captions-show").parentElement?.toggleAttribute("hidden", !captionState.sessionOn);
  $("captions-size").parentElement?.toggleAttribute("hidden", !captionState.sessionOn);
  $<HTMLInputElement>("captions-show").checked = prefs.show;
  $<HTMLSelectElement>("captions-size").value = prefs.size;
  const consent = $<HTMLInputElement>("captions-mine");
  consent.checked = !captionState.declined;
  consent.parentElement?.toggleAttribute("hidden", !may(ACTIONS.publishMic));
  const facilitator = may(ACTIONS.manageCaptions);
  $("captions-console").hidden = !facilitator;
  $<HTMLInputElement>("captions-session").checked = captionState.sessionOn;
  $<HTMLInputElement>("captions-transcript").checked = captionState.transcript;
  $<HTMLInputElement>("captions-transcript").disabled = !captionState.sessionOn;
}

export function takeCaptionSettings(settings: { captions?: boolean; transcript?: boolean }): void {
  const wasOn = captionState.sessionOn;
  captionState.sessionOn = Boolean(settings.captions);
  captionState.transcript = Boolean(settings.transcript);
  if (!captionState.sessionOn) lines.clear();
  if (captionState.sessionOn && !wasOn && !may(ACTIONS.manageCaptions)) {
    notify(
      captionState.declined
        ? "Live captions are on. Your own speech is not captioned (you declined)."
        : "Live captions are on. You can decline having your speech captioned.",
      undefined,
      "captions-on",
    );
  }
}

/** Wire the caption controls once. */
export function setUpCaptions(on: On): void {
  on("caption", take);
  on("caption-consent", (body) => {
    captionState.declined = body.declined;
    if (state.connection) state.connection.captionsDeclined = body.declined;
    localStorage.setItem("pc.captions.mine", body.declined ? "off" : "on");
  });
  on("captions-status", (body) => {
    captionState.engineState = body.state;
    if (body.state === "off" && captionState.sessionOn) {
      notify(`Captions are unavailable: ${body.reason}`, undefined, "captions-off");
    }
  });
  $("captions-show").addEventListener("change", (e) => {
    prefs.show = (e.target as HTMLInputElement).checked;
    localStorage.setItem("pc.captions.show", prefs.show ? "on" : "off");
    renderCaptions();
  });
  $("captions-size").addEventListener("change", (e) => {
    prefs.size = (e.target as HTMLSelectElement).value;
    localStorage.setItem("pc.captions.size", prefs.size);
    renderCaptions();
  });
  $("captions-mine").addEventListener("change", (e) => {
    const captioned = (e.target as HTMLInputElement).checked;
    captionState.declined = !captioned;
    state.connection?.send("caption-consent", { declined: !captioned });
  });
  for (const id of ["captions-session", "captions-transcript"]) {
    $(id).addEventListener("change", () => {
      const enabled = $<HTMLInputElement>("captions-session").checked;
      const transcript = $<HTMLInputElement>("captions-transcript").checked;
      // Shown at once; `session-settings` confirms (or corrects) it.
      captionState.sessionOn = enabled;
      captionState.transcript = enabled && transcript;
      state.connection?.send("captions", { enabled, transcript: enabled && transcript });
    });
  }
  // Final lines fade after a while even when nobody speaks.
  setInterval(renderCaptions, 1000);
}
