// The panel's lists as keyed Preact views (waiting room, requests to present, captioner
// services, raised hands, people, chat): an event changes the rows it concerns and
// nothing else, so a focused button or a scrolled chat stays as it was.

import { type ComponentChildren, render } from "preact";
import { ACTIONS } from "../protocol.js";
import { $, may, myRoom, roomName, state } from "../state.js";
import { openPanel } from "./shell.js";

type Participant = import("../protocol.js").Participant;
type ChatMessage = import("../protocol.js").ChatMessage;

function Action({ label, action, onClick }: { label: string; action: string; onClick: () => void }) {
  return (
    <button type="button" data-action={action} onClick={onClick}>
      {label}
    </button>
  );
}

function Row({ id, who, children }: { id: string; who: string; children?: ComponentChildren }) {
  return (
    <li data-participant={id}>
      <span class="who">{who}</span>
      {children}
    </li>
  );
}

function WaitingRows() {
  const conn = state.connection;
  return (
    <>
      {state.waiting.map((p) => (
        <Row key={p.id} id={p.id} who={`${p.name} (${p.role})`}>
          <Action label="Admit" action="admit" onClick={() => conn?.admit(p.id)} />
          <Action
            label="Deny"
            action="deny"
            onClick={() => conn?.deny(p.id, "The therapist could not let you in now.")}
          />
        </Row>
      ))}
    </>
  );
}

function ShareRequestRows() {
  const conn = state.connection;
  return (
    <>
      {state.shareRequests.map((r) => (
        <Row key={r.id} id={r.id} who={r.name}>
          <Action label="Approve" action="approve-share" onClick={() => conn?.approveShare(r.id)} />
          <Action label="Decline" action="decline-share" onClick={() => conn?.declineShare(r.id)} />
        </Row>
      ))}
    </>
  );
}

function CaptionerRows() {
  const conn = state.connection;
  // Captioner services hear the consenting speakers: the facilitators always know.
  return (
    <>
      {state.captioners.map((c) => (
        <Row key={c.id} id={c.id} who={`Captions service connected: ${c.name}`}>
          <Action
            label="Disconnect"
            action="revoke-link"
            onClick={() => {
              if (confirm(`Disconnect ${c.name} and revoke its link?`)) conn?.revokeLink(c.id);
            }}
          />
        </Row>
      ))}
    </>
  );
}

function HandRows() {
  const conn = state.connection;
  return (
    <>
      {state.hands.map((id) => {
        const name = state.participants.get(id)?.name ?? "Someone";
        return (
          <Row key={id} id={id} who={name}>
            {may(ACTIONS.lowerOthersHand) && (
              <button type="button" data-action="lower-hand" aria-label={`Lower ${name}'s hand`} onClick={() => conn?.lowerHand(id)}>
                Lower
              </button>
            )}
          </Row>
        );
      })}
    </>
  );
}

/** Whether this person moderates the breakout room `p` is in (they lead it). */
function leadsRoomOf(p: Participant): boolean {
  return (
    may(ACTIONS.moderateLedRoom) &&
    state.breakouts.open &&
    state.breakouts.rooms.some((r) => r.id === myRoom() && r.leader === state.myId) &&
    p.room === myRoom()
  );
}

function PersonRow({ p }: { p: Participant }) {
  const conn = state.connection;
  const self = p.id === state.myId;
  const bits = [p.role];
  if (p.room !== "main") bits.push(roomName(p.room) + (p.visiting ? " (visiting)" : ""));
  if (p.mic === "off") bits.push("muted");
  if (p.camera === "off") bits.push("camera off");
  if (p.connection === "reconnecting") bits.push("reconnecting");
  if (state.linkQuality.get(p.id) === "poor") bits.push("weak connection");
  if (may(ACTIONS.seeHands) && state.hands.includes(p.id)) bits.push("hand raised");
  const presenting = [...state.tracks.values()].some(
    (t) => t.participant === p.id && t.source === "screen",
  );
  if (presenting) bits.push("presenting");
  const others = !self && p.role !== "observer";
  const mayMute = others && (may(ACTIONS.mute) || leadsRoomOf(p));
  const mayAsk = others && (may(ACTIONS.askUnmute) || leadsRoomOf(p));
  const name = p.name;
  return (
    <Row id={p.id} who={self ? `${name} (you)` : name}>
      <span class="state">{bits.join(" · ")}</span>
      {p.mic === "live" && mayMute && (
        <button type="button" data-action="mute" aria-label={`Mute ${name}`} onClick={() => conn?.mute(p.id)}>
          Mute
        </button>
      )}
      {p.mic !== "live" && mayAsk && (
        <button type="button" data-action="ask-unmute" aria-label={`Ask ${name} to unmute`} onClick={() => conn?.askUnmute(p.id)}>
          Ask to unmute
        </button>
      )}
      {others && p.camera === "live" && may(ACTIONS.stopCamera) && (
        <button type="button" data-action="stop-camera" aria-label={`Turn off ${name}'s camera`} onClick={() => conn?.stopCamera(p.id)}>
          Camera off
        </button>
      )}
      {others && may(ACTIONS.approvePresenter) && presenting && (
        <button type="button" data-action="revoke-share" aria-label={`Stop ${name}'s screen share`} onClick={() => conn?.revokeShare(p.id)}>
          Stop sharing
        </button>
      )}
      {others && may(ACTIONS.approvePresenter) && !presenting && (
        <button type="button" data-action="approve-share" aria-label={`Allow ${name} to share their screen`} onClick={() => conn?.approveShare(p.id)}>
          Allow sharing
        </button>
      )}
      {others && may(ACTIONS.messagePrivately) && (
        <button
          type="button"
          data-action="message-privately"
          aria-label={`Message ${name} privately`}
          onClick={() => {
            state.privateTo = p.id;
            onPrivate();
            openPanel("chat");
          }}
        >
          Message
        </button>
      )}
      {!self && may(ACTIONS.remove) && (
        <button
          type="button"
          data-action="remove"
          aria-label={`Remove ${name}`}
          onClick={() => {
            if (confirm(`Remove ${name} from the session?`)) conn?.remove(p.id);
          }}
        >
          Remove
        </button>
      )}
    </Row>
  );
}

function PeopleRows() {
  return (
    <>
      {[...state.participants.values()].map((p) => (
        <PersonRow key={p.id} p={p} />
      ))}
    </>
  );
}

/** Who a message went to, in brackets before its text ("" for the room). */
function addressed(m: ChatMessage): string {
  if (m.to === "facilitators") return "(to facilitators) ";
  if (m.to !== "participant") return "";
  if (m.participant === state.myId) return "(private, to you) ";
  const name = state.participants.get(m.participant ?? "")?.name ?? "one person";
  return `(private, to ${name}) `;
}

function ChatRows() {
  return (
    <>
      {state.chat.map((m) => (
        <li
          key={m.id}
          class={m.to === "room" ? undefined : "private"}
          data-to={m.to}
        >
          {`${m.fromName}: ${addressed(m)}${m.text}`}
        </li>
      ))}
    </>
  );
}

// Set by panel.ts: re-render the chat form once a private recipient is chosen.
let onPrivate: () => void = () => {};
export function whenPrivateChosen(run: () => void): void {
  onPrivate = run;
}

let lastChatId: number | null = null;

export function renderLists(): void {
  render(<WaitingRows />, $("waiting-list"));
  render(<ShareRequestRows />, $("share-request-list"));
  render(<CaptionerRows />, $("captioner-list"));
  render(<HandRows />, $("hand-list"));
  render(<PeopleRows />, $("people-list"));
  const log = $("chat-log");
  // Follow new messages only if the reader was at the bottom already.
  const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 24;
  render(<ChatRows />, log);
  const newest = state.chat.at(-1)?.id ?? null;
  if (newest !== lastChatId && atBottom) log.scrollTop = log.scrollHeight;
  lastChatId = newest;
}
