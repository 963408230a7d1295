// The side panel: facilitator console (waiting room, lock, mute all, hands),
// the people list with per-person actions, chat, and notices.

import { ACTIONS } from "./protocol.js";
import { $, button, may, state } from "./state.js";
import { renderLists, whenPrivateChosen } from "./ui/lists.js";
import { openPanel } from "./ui/shell.js";
import { renderSignals } from "./ui/signals.js";

/**
 * Show a short notice at the top of the call, optionally with an action; `kind`
 * becomes data-kind, for tests.
 */
export function notify(
  text: string,
  action?: { label: string; run: () => void },
  kind = "info",
): void {
  const notice = document.createElement("div");
  notice.className = "notice";
  notice.dataset.kind = kind;
  const span = document.createElement("span");
  span.textContent = text;
  notice.append(span);
  if (action) {
    notice.append(
      button(action.label, () => {
        action.run();
        notice.remove();
      }),
    );
  }
  notice.append(button("Dismiss", () => notice.remove()));
  $("notices").append(notice);
  // Informational notices fade on their own; ones asking something stay.
  if (!action) setTimeout(() => notice.remove(), 8000);
}

function renderConsole() {
  const moderates = may(ACTIONS.seeWaitingRoom);
  $("console").hidden = !moderates;
  $("end-session").hidden = !may(ACTIONS.endSession);
  $("lock-toggle").parentElement?.toggleAttribute("hidden", !may(ACTIONS.lock));
  $("chat-toggle").parentElement?.toggleAttribute("hidden", !may(ACTIONS.setChat));
  $("mute-all").hidden = !may(ACTIONS.muteAll);
  $<HTMLInputElement>("lock-toggle").checked = state.locked;
  $<HTMLInputElement>("chat-toggle").checked = state.chatEnabled;
  $<HTMLSelectElement>("share-policy").value = state.sharePolicy;
  $("locked-badge").hidden = !state.locked;
  $("waiting-count").textContent = state.waiting.length ? `(${state.waiting.length})` : "";
  // Admit all and the message to everyone waiting, while someone waits.
  $("waiting-actions").hidden = !may(ACTIONS.admit) || state.waiting.length === 0;
}

function renderToolbar() {
  const observers = [...state.participants.values()].some((p) => p.role === "observer");
  $("observer-banner").hidden = !observers;
  const canWrite = (state.chatEnabled && may(ACTIONS.chat)) || may(ACTIONS.setChat);
  const to = $<HTMLSelectElement>("chat-to");
  const everyone = (to.options[0] as HTMLOptionElement);
  everyone.disabled = !canWrite;
  if (!canWrite) to.value = "facilitators";
  $("chat-form").hidden = !may(ACTIONS.chat) && !may(ACTIONS.chatFacilitators);
  // A private message to one person (from their row in the people list).
  const privateTo = state.privateTo ? state.participants.get(state.privateTo) : undefined;
  if (state.privateTo && !privateTo) state.privateTo = null;
  $("chat-private").hidden = !privateTo;
  to.hidden = Boolean(privateTo);
  $("chat-private-label").textContent = privateTo ? `Private message to ${privateTo.name}` : "";
  $("chat-text").setAttribute(
    "aria-label",
    privateTo ? `Private message to ${privateTo.name}` : "Message",
  );
  $("tech-help").hidden = !may(ACTIONS.askTechHelp);
  $("toggle-hand").hidden = !may(ACTIONS.raiseHand);
  $("need-break").hidden = !may(ACTIONS.signalBreak);
  $("toggle-hand").textContent = state.handRaised ? "Lower hand" : "Raise hand";
  $("toggle-mic").hidden = !may(ACTIONS.publishMic);
  $("toggle-camera").hidden = !may(ACTIONS.publishCamera);
  $("present").hidden = !may(ACTIONS.askToPresent) && !may(ACTIONS.presentWithoutAsking);
  const sharing = Boolean(state.connection?.local.screen);
  $("present").textContent = sharing
    ? "Stop presenting"
    : state.mayShare || may(ACTIONS.presentWithoutAsking)
      ? "Present"
      : "Ask to present";
  $("toggle-hand").setAttribute("aria-pressed", String(state.handRaised));
}

export function renderPanel() {
  renderSignals();
  renderConsole();
  renderLists();
  renderToolbar();
}

/** Wire the panel's own controls once. */
export function setUpPanel() {
  whenPrivateChosen(renderPanel);
  $("lock-toggle").addEventListener("change", (e) => {
    state.connection?.lock((e.target as HTMLInputElement).checked);
  });
  $("chat-toggle").addEventListener("change", (e) => {
    state.connection?.setChat((e.target as HTMLInputElement).checked);
  });
  $("mute-all").addEventListener("click", () => state.connection?.muteAll());
  $("share-policy").addEventListener("change", (e) => {
    const value = (e.target as HTMLSelectElement).value;
    state.connection?.setSharePolicy(value === "wait" ? "wait" : "replace");
  });
  $("end-session").addEventListener("click", () => {
    if (confirm("End the session for everyone?")) state.connection?.endSession();
  });
  $("toggle-hand").addEventListener("click", () => {
    if (state.handRaised) state.connection?.lowerHand();
    else state.connection?.raiseHand();
  });
  $("presenting-stop").addEventListener("click", () => {
    state.connection?.stopShare();
    renderPanel();
  });
  $("present").addEventListener("click", async () => {
    const conn = state.connection;
    if (!conn) return;
    if (conn.local.screen) {
      conn.stopShare();
    } else if (state.mayShare || may(ACTIONS.presentWithoutAsking)) {
      try {
        const stream = await navigator.mediaDevices.getDisplayMedia({ video: true });
        conn.startShare(stream.getVideoTracks()[0]);
      } catch {
        notify("Screen sharing was cancelled.");
      }
    } else {
      conn.requestShare();
      notify("You asked to present. The facilitators will answer.");
    }
    renderPanel();
  });
  $("need-break").addEventListener("click", () => {
    state.connection?.signalBreak();
    notify("The facilitators know you need a break. Only they were told.");
  });
  $("chat-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const input = $<HTMLInputElement>("chat-text");
    const to = $<HTMLSelectElement>("chat-to").value as "room" | "facilitators";
    const text = input.value.trim();
    if (!text) return;
    if (state.privateTo) state.connection?.chatPrivately(state.privateTo, text);
    else state.connection?.chat(to, text);
    input.value = "";
  });
  $("chat-private-cancel").addEventListener("click", () => {
    state.privateTo = null;
    renderPanel();
    $("chat-text").focus();
  });
  $("tech-help").addEventListener("click", () => {
    state.connection?.techHelp();
    notify(
      "The facilitators have been told you have a technical problem. Only they were told.",
      undefined,
      "tech-help",
    );
  });
  $("admit-all").addEventListener("click", () => state.connection?.admitAll());
  $("waiting-message-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const input = $<HTMLInputElement>("waiting-message-text");
    const text = input.value.trim();
    if (!text) return;
    state.connection?.messageWaiting(text);
    input.value = "";
    notify("Your message was sent to everyone waiting.", undefined, "waiting-message-sent");
  });
  $("signals-badge").addEventListener("click", () => openPanel("signals"));
}
