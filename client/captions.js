// Live captions: shown under the video with the speaker's name, a partial replaced by
// the final text; each viewer turns them on or off and picks a text size. Facilitators
// switch captions (and a transcript) on for the session; anyone may decline having
// their own speech captioned.

import { h, render } from "preact";
import { notify } from "./panel.js";
import { ACTIONS } from "./protocol.js";
import { $, may, state } from "./state.js";

/** @typedef {import("./protocol.js").Caption} Caption */

const SHOWN_LINES = 3;
const LINGER_MS = 8000;

/** Captions on screen, oldest first, by utterance id. */
/** @type {Map<string, Caption & {at: number}>} */
const lines = new Map();

const prefs = {
  show: localStorage.getItem("pc.captions.show") !== "off",
  size: localStorage.getItem("pc.captions.size") ?? "medium",
};

export const captionState = {
  sessionOn: false,
  transcript: false,
  declined: false,
  /** @type {string} */
  engineState: "",
};

/** Every caption this page received (for tests and troubleshooting; ids, no audio). */
/** @type {Caption[]} */
export const captionLog = [];

/** @param {Caption} caption */
function take(caption) {
  captionLog.push(caption);
  if (captionLog.length > 200) captionLog.shift();
  for (const id of caption.replaces ?? []) lines.delete(id);
  lines.delete(caption.utterance); // re-insert at the end: newest last
  lines.set(caption.utterance, { ...caption, at: Date.now() });
  while (lines.size > SHOWN_LINES) lines.delete(/** @type {string} */ (lines.keys().next().value));
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
  /** @type {HTMLInputElement} */ ($("captions-show")).checked = prefs.show;
  /** @type {HTMLSelectElement} */ ($("captions-size")).value = prefs.size;
  const consent = /** @type {HTMLInputElement} */ ($("captions-mine"));
  consent.checked = !captionState.declined;
  consent.parentElement?.toggleAttribute("hidden", !may(ACTIONS.publishMic));
  const facilitator = may(ACTIONS.manageCaptions);
  $("captions-console").hidden = !facilitator;
  /** @type {HTMLInputElement} */ ($("captions-session")).checked = captionState.sessionOn;
  /** @type {HTMLInputElement} */ ($("captions-transcript")).checked = captionState.transcript;
  /** @type {HTMLInputElement} */ ($("captions-transcript")).disabled = !captionState.sessionOn;
}

/** @param {{captions?: boolean, transcript?: boolean}} settings */
export function takeCaptionSettings(settings) {
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

/**
 * Wire the caption controls once.
 * @param {import("./protocol.js").On} on
 */
export function setUpCaptions(on) {
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
    prefs.show = /** @type {HTMLInputElement} */ (e.target).checked;
    localStorage.setItem("pc.captions.show", prefs.show ? "on" : "off");
    renderCaptions();
  });
  $("captions-size").addEventListener("change", (e) => {
    prefs.size = /** @type {HTMLSelectElement} */ (e.target).value;
    localStorage.setItem("pc.captions.size", prefs.size);
    renderCaptions();
  });
  $("captions-mine").addEventListener("change", (e) => {
    const captioned = /** @type {HTMLInputElement} */ (e.target).checked;
    captionState.declined = !captioned;
    state.connection?.send("caption-consent", { declined: !captioned });
  });
  for (const id of ["captions-session", "captions-transcript"]) {
    $(id).addEventListener("change", () => {
      const enabled = /** @type {HTMLInputElement} */ ($("captions-session")).checked;
      const transcript = /** @type {HTMLInputElement} */ ($("captions-transcript")).checked;
      // Shown at once; `session-settings` confirms (or corrects) it.
      captionState.sessionOn = enabled;
      captionState.transcript = enabled && transcript;
      state.connection?.send("captions", { enabled, transcript: enabled && transcript });
    });
  }
  // Final lines fade after a while even when nobody speaks.
  setInterval(renderCaptions, 1000);
}
