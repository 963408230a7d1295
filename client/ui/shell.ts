// The call's frame: the side panel (a column on large screens, a sheet over the video
// on small ones, never over the toolbar), keyboard shortcuts, the leave confirmation
// and the connection banner.

import { $ } from "../state.js";

const SIDE_QUERY = "(min-width: 900px) and (min-height: 500px)";
// The person's own choice; null follows the screen (open beside, closed as a sheet).
let panelWanted: boolean | null = null;

function panelMode(): "side" | "sheet" {
  return matchMedia(SIDE_QUERY).matches ? "side" : "sheet";
}

export function layoutPanel(): void {
  const panel = $("panel");
  const mode = panelMode();
  panel.dataset.mode = mode;
  const open = panelWanted ?? mode === "side";
  panel.hidden = !open;
  for (const id of ["open-people", "open-chat"]) {
    $(id).setAttribute("aria-expanded", String(open));
  }
  if (open) unread = 0;
  showUnread();
}

// Chat messages that arrived while the panel was closed (a phone's sheet).
let unread = 0;

function showUnread(): void {
  const button = $("open-chat");
  button.textContent = unread > 0 ? `Chat (${unread} new)` : "Chat";
}

/** A chat message arrived: count it if nobody can see the chat now. */
export function chatArrived(): void {
  if (!$("panel").hidden) return;
  unread += 1;
  showUnread();
}

/**
 * Open the panel at a section, focusing what helps there.
 * @param focus the element to focus (the chat box, the people heading)
 */
export function openPanel(section: "people" | "chat" | "signals"): void {
  panelWanted = true;
  layoutPanel();
  const target = $(section);
  target.scrollIntoView({ block: "start" });
  const focus =
    section === "signals"
      ? $("signals-heading")
      : section === "chat" && !$("chat-form").hidden
        ? $("chat-text")
        : $("people-heading");
  if (focus.id === "people-heading") focus.setAttribute("tabindex", "-1");
  focus.focus();
}

export function closePanel(): void {
  panelWanted = false;
  layoutPanel();
}

function togglePanel(section: "people" | "chat"): void {
  const panel = $("panel");
  if (!panel.hidden && panelMode() === "sheet") closePanel();
  else openPanel(section);
}

function typing(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  if (!el) return false;
  const tag = el.tagName;
  return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || el.isContentEditable;
}

export interface Shortcuts {
  mic: () => void;
  camera: () => void;
  hand: () => void;
}

/** Keys for the common actions; none fires while the person types. */
export function setUpShell(actions: Shortcuts): void {
  layoutPanel();
  matchMedia(SIDE_QUERY).addEventListener("change", () => {
    panelWanted = null;
    layoutPanel();
  });
  $("open-people").addEventListener("click", () => togglePanel("people"));
  $("open-chat").addEventListener("click", () => togglePanel("chat"));
  $("panel-close").addEventListener("click", () => {
    closePanel();
    $("open-people").focus();
  });
  const shortcuts = $("shortcuts");
  const showKeys = (show: boolean) => {
    shortcuts.hidden = !show;
    $("open-help").setAttribute("aria-expanded", String(show));
    if (show) $("shortcuts-close").focus();
  };
  $("open-help").addEventListener("click", () => showKeys(shortcuts.hidden));
  $("shortcuts-close").addEventListener("click", () => {
    showKeys(false);
    $("open-help").focus();
  });
  document.addEventListener("keydown", (e) => {
    if ($("call").hidden) return;
    if (e.key === "Escape") {
      if (!shortcuts.hidden) showKeys(false);
      else if (!$("panel").hidden && panelMode() === "sheet") closePanel();
      return;
    }
    if (e.ctrlKey || e.metaKey || e.altKey || typing(e.target)) return;
    const key = e.key.toLowerCase();
    const run: Record<string, () => void> = {
      m: actions.mic,
      v: actions.camera,
      h: actions.hand,
      c: () => openPanel("chat"),
      p: () => openPanel("people"),
      "?": () => showKeys(true),
    };
    const action = run[key];
    if (action) {
      e.preventDefault();
      action();
    }
  });
}

/** Ask before leaving; `leave` runs only on "Leave". */
export function confirmLeave(leave: () => void): void {
  const dialog = $("leave-dialog") as HTMLDialogElement;
  $("leave").addEventListener("click", () => dialog.showModal());
  $("leave-cancel").addEventListener("click", () => dialog.close());
  $("leave-confirm").addEventListener("click", () => {
    dialog.close();
    leave();
  });
}

/** The calm banner shown while the connection is lost, with what to do. */
export function showConnection(state: string): void {
  const banner = $("connection-banner");
  if (state === "reconnecting") {
    banner.hidden = false;
    $("connection-banner-title").textContent = "Connection lost. Reconnecting…";
    $("connection-banner-detail").textContent =
      "Stay on this page: you will be back in the session by yourself. If this lasts, check your Wi-Fi or move closer to the router.";
  } else {
    banner.hidden = true;
  }
}
