// The side panel: facilitator console (waiting room, lock, mute all, hands),
// the people list with per-person actions, chat, and notices.

import { $, button, isFacilitator, myRoom, roomName, state } from "./state.js";

/**
 * Show a short notice at the top of the call, optionally with an action.
 * @param {string} text
 * @param {{label: string, run: () => void}} [action]
 * @param {string} [kind] data-kind, for tests
 */
export function notify(text, action, kind = "info") {
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

/**
 * One person's row in a list: their name, then controls.
 * @param {string} id
 * @param {string} label
 * @param {...Node} controls
 */
function personRow(id, label, ...controls) {
  const li = document.createElement("li");
  li.dataset.participant = id;
  const who = document.createElement("span");
  who.className = "who";
  who.textContent = label;
  li.append(who, ...controls);
  return li;
}

function renderConsole() {
  const conn = state.connection;
  $("console").hidden = !isFacilitator();
  $("end-session").hidden = state.myRole !== "therapist";
  /** @type {HTMLInputElement} */ ($("lock-toggle")).checked = state.locked;
  /** @type {HTMLInputElement} */ ($("chat-toggle")).checked = state.chatEnabled;
  /** @type {HTMLSelectElement} */ ($("share-policy")).value = state.sharePolicy;
  $("locked-badge").hidden = !state.locked;
  $("waiting-count").textContent = state.waiting.length ? `(${state.waiting.length})` : "";
  const list = $("waiting-list");
  list.replaceChildren();
  for (const p of state.waiting) {
    list.append(
      personRow(
        p.id,
        `${p.name} (${p.role})`,
        button("Admit", () => conn?.admit(p.id), "admit"),
        button("Deny", () => conn?.deny(p.id, "The therapist could not let you in now."), "deny"),
      ),
    );
  }
  const requests = $("share-request-list");
  requests.replaceChildren();
  for (const r of state.shareRequests) {
    requests.append(
      personRow(
        r.id,
        r.name,
        button("Approve", () => conn?.approveShare(r.id), "approve-share"),
        button("Decline", () => conn?.declineShare(r.id), "decline-share"),
      ),
    );
  }
  // Captioner services hear the consenting speakers: the facilitators always know.
  const services = $("captioner-list");
  services.replaceChildren();
  for (const c of state.captioners) {
    services.append(
      personRow(
        c.id,
        `Captions service connected: ${c.name}`,
        button(
          "Disconnect",
          () => {
            if (confirm(`Disconnect ${c.name} and revoke its link?`)) conn?.revokeLink(c.id);
          },
          "revoke-link",
        ),
      ),
    );
  }
  const hands = $("hand-list");
  hands.replaceChildren();
  for (const id of state.hands) {
    const name = state.participants.get(id)?.name ?? id;
    hands.append(personRow(id, name, button("Lower", () => conn?.lowerHand(id), "lower-hand")));
  }
}

function renderPeople() {
  const conn = state.connection;
  const list = $("people-list");
  list.replaceChildren();
  const observers = [...state.participants.values()].some((p) => p.role === "observer");
  $("observer-banner").hidden = !observers;
  for (const p of state.participants.values()) {
    // Patients see who is here; facilitators also see each person's state.
    const bits = [p.role];
    if (p.room !== "main") bits.push(roomName(p.room) + (p.visiting ? " (visiting)" : ""));
    if (p.mic === "off") bits.push("muted");
    if (p.camera === "off") bits.push("camera off");
    if (p.connection === "reconnecting") bits.push("reconnecting");
    if (isFacilitator() && state.hands.includes(p.id)) bits.push("hand raised");
    const presenting = [...state.tracks.values()].some(
      (t) => t.participant === p.id && t.source === "screen",
    );
    if (presenting) bits.push("presenting");
    const st = document.createElement("span");
    st.className = "state";
    st.textContent = bits.join(" · ");
    const li = personRow(p.id, p.id === state.myId ? `${p.name} (you)` : p.name, st);
    // A peer leader moderates (mute, ask to unmute) the breakout room they lead.
    const leads =
      state.breakouts.open &&
      state.breakouts.rooms.some((r) => r.id === myRoom() && r.leader === state.myId) &&
      p.room === myRoom();
    if ((isFacilitator() || leads) && p.id !== state.myId && p.role !== "observer") {
      if (p.mic === "live") li.append(button("Mute", () => conn?.mute(p.id), "mute"));
      else li.append(button("Ask to unmute", () => conn?.askUnmute(p.id), "ask-unmute"));
      if (p.camera === "live" && isFacilitator()) {
        li.append(button("Camera off", () => conn?.stopCamera(p.id), "stop-camera"));
      }
    }
    if (isFacilitator() && p.id !== state.myId) {
      if (presenting || p.role === "patient" || p.role === "peer-leader") {
        li.append(
          presenting
            ? button("Stop sharing", () => conn?.revokeShare(p.id), "revoke-share")
            : button("Allow sharing", () => conn?.approveShare(p.id), "approve-share"),
        );
      }
      if (p.role !== "therapist") {
        li.append(
          button(
            "Remove",
            () => {
              if (confirm(`Remove ${p.name} from the session?`)) conn?.remove(p.id);
            },
            "remove",
          ),
        );
      }
    }
    list.append(li);
  }
}

function renderChat() {
  const log = $("chat-log");
  log.replaceChildren();
  for (const m of state.chat) {
    const li = document.createElement("li");
    li.classList.toggle("private", m.to === "facilitators");
    const prefix = m.to === "facilitators" ? "(to facilitators) " : "";
    li.textContent = `${m.fromName}: ${prefix}${m.text}`;
    log.append(li);
  }
  log.scrollTop = log.scrollHeight;
  const canWrite = state.chatEnabled || isFacilitator();
  const to = /** @type {HTMLSelectElement} */ ($("chat-to"));
  const everyone = /** @type {HTMLOptionElement} */ (to.options[0]);
  everyone.disabled = !canWrite;
  if (!canWrite) to.value = "facilitators";
  const observer = state.myRole === "observer";
  $("chat-form").hidden = observer;
  $("toggle-hand").hidden = observer || isFacilitator();
  $("need-break").hidden = observer || isFacilitator();
  $("toggle-hand").textContent = state.handRaised ? "Lower hand" : "Raise hand";
  $("present").hidden = observer;
  const sharing = Boolean(state.connection?.local.screen);
  $("present").textContent = sharing
    ? "Stop presenting"
    : state.mayShare
      ? "Present"
      : "Ask to present";
  $("toggle-hand").setAttribute("aria-pressed", String(state.handRaised));
}

export function renderPanel() {
  renderConsole();
  renderPeople();
  renderChat();
}

/** Wire the panel's own controls once. */
export function setUpPanel() {
  $("lock-toggle").addEventListener("change", (e) => {
    state.connection?.lock(/** @type {HTMLInputElement} */ (e.target).checked);
  });
  $("chat-toggle").addEventListener("change", (e) => {
    state.connection?.setChat(/** @type {HTMLInputElement} */ (e.target).checked);
  });
  $("mute-all").addEventListener("click", () => state.connection?.muteAll());
  $("share-policy").addEventListener("change", (e) => {
    const value = /** @type {HTMLSelectElement} */ (e.target).value;
    state.connection?.setSharePolicy(value === "wait" ? "wait" : "replace");
  });
  $("end-session").addEventListener("click", () => {
    if (confirm("End the session for everyone?")) state.connection?.endSession();
  });
  $("toggle-hand").addEventListener("click", () => {
    if (state.handRaised) state.connection?.lowerHand();
    else state.connection?.raiseHand();
  });
  $("present").addEventListener("click", async () => {
    const conn = state.connection;
    if (!conn) return;
    if (conn.local.screen) {
      conn.stopShare();
    } else if (state.mayShare) {
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
    const input = /** @type {HTMLInputElement} */ ($("chat-text"));
    const to = /** @type {"room" | "facilitators"} */ (
      /** @type {HTMLSelectElement} */ ($("chat-to")).value
    );
    if (input.value.trim()) {
      state.connection?.chat(to, input.value.trim());
      input.value = "";
    }
  });
}
