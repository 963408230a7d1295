// The end pages: what happened, in plain words, the facilitator's message if there is
// one, and what makes sense next (join again, where to get help).

import { $ } from "./state.js";

const ASK = "If you need help, contact your therapist or your clinic.";
const NEW_LINK = "Ask your therapist or clinic for a new link.";

interface Ending {
  title: string;
  detail: string;
  help: string;
  /** The label of a button that joins again, when that makes sense. */
  rejoin?: string;
}

const ENDINGS: Record<string, Ending> = {
  "no-link": {
    title: "This page needs your join link",
    detail: "Open the link your therapist sent you (by email or text message) to join your session.",
    help: "If you cannot find it, contact your clinic.",
  },
  left: {
    title: "You have left the session",
    detail: "You are no longer in the session. Nobody can see or hear you.",
    help: "Left by mistake? You can join again while the session is on.",
    rejoin: "Join again",
  },
  replaced: {
    title: "You joined from another window",
    detail: "You are in the session in another window or on another device, so this page stepped out.",
    help: "To use this window instead, join again here.",
    rejoin: "Use this window",
  },
  ended: {
    title: "The session has ended",
    detail: "Thank you for coming. You can close this page.",
    help: ASK,
  },
  timeout: {
    title: "You were disconnected",
    detail: "Your connection was lost for too long, so you left the session.",
    help: "Check your internet connection, then join again.",
    rejoin: "Join again",
  },
  removed: {
    title: "You were removed from the session",
    detail: "A facilitator removed you from this session.",
    help: ASK,
  },
  denied: {
    title: "You were not let in",
    detail: "The therapist could not let you in to this session.",
    help: ASK,
  },
  revoked: {
    title: "Your join link was withdrawn",
    detail: "This link no longer works.",
    help: NEW_LINK,
  },
};

const REFUSALS: Record<string, Ending> = {
  token_missing: ENDINGS["no-link"],
  token_invalid: {
    title: "Could not join",
    detail: "This join link is not valid.",
    help: NEW_LINK,
  },
  token_expired: {
    title: "Could not join",
    detail: "This join link has expired.",
    help: NEW_LINK,
  },
  session_unknown: {
    title: "Could not join",
    detail: "This session does not exist.",
    help: ASK,
  },
  session_ended: ENDINGS.ended,
  session_full: {
    title: "Could not join",
    detail: "This session is full.",
    help: ASK,
  },
  session_locked: {
    title: "Could not join",
    detail: "The session is locked: nobody new can join right now.",
    help: "Try again in a few minutes, or contact your therapist.",
    rejoin: "Try again",
  },
  removed: ENDINGS.removed,
  link_revoked: ENDINGS.revoked,
  protocol_unsupported: {
    title: "Could not join",
    detail: "This page is out of date.",
    help: "Reload the page to get the latest version.",
    rejoin: "Reload",
  },
};

/**
 * Show an end page. `why`: an ENDINGS key, or "refused:CODE"; `message`: the
 * facilitator's or the server's own words; `by`: who did it.
 */
export function showEnded(why: string, message = "", by = ""): void {
  const refused = why.startsWith("refused:");
  const ending: Ending = refused
    ? (REFUSALS[why.slice(8)] ?? { title: "Could not join", detail: message, help: ASK })
    : (ENDINGS[why] ?? { title: "You are no longer in the session", detail: why, help: ASK });
  for (const id of ["lobby", "call", "waiting"]) $(id).hidden = true;
  $("ended").hidden = false;
  $("ended-title").textContent = ending.title;
  document.title = `${ending.title} · PeerCircle`;
  $("ended-detail").textContent = by ? `${ending.detail} (${by})` : ending.detail;
  // The facilitator's own words (a deny message), shown apart from ours.
  const own = !refused && message && message !== ending.detail ? message : "";
  $("ended-message").hidden = !own;
  $("ended-message").textContent = own;
  $("ended-help").textContent = ending.help;
  $("rejoin").hidden = !ending.rejoin;
  $("rejoin").textContent = ending.rejoin ?? "";
  $("ended-title").setAttribute("tabindex", "-1");
  $("ended-title").focus();
}
