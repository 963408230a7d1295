"""The handler of every client event: exactly the protocol's client events
(`protocol.CLIENT`), checked when this module loads."""

from __future__ import annotations

from .namespace import Handler, Signaling
from .protocol import CLIENT_EVENT_NAMES

HANDLERS: dict[str, Handler] = {
    "join": Signaling.join,
    "leave": Signaling.leave,
    "answer": Signaling.answer,
    "ice-candidate": Signaling.ice_candidate,
    "media-state": Signaling.media_state,
    "link-quality": Signaling.link_quality,
    "admit": Signaling.admit,
    "deny": Signaling.deny,
    "lock": Signaling.lock,
    "mute": Signaling.mute,
    "mute-all": Signaling.mute_all,
    "ask-unmute": Signaling.ask_unmute,
    "stop-camera": Signaling.stop_camera,
    "remove": Signaling.remove,
    "end-session": Signaling.end_session,
    "raise-hand": Signaling.raise_hand,
    "lower-hand": Signaling.lower_hand,
    "chat": Signaling.chat,
    "set-chat": Signaling.set_chat,
    "break": Signaling.signal_break,
    "share-request": Signaling.share_request,
    "share-approve": Signaling.share_approve,
    "share-decline": Signaling.share_decline,
    "share-revoke": Signaling.share_revoke,
    "share-start": Signaling.share_start,
    "share-policy": Signaling.share_policy,
    "share-stop": Signaling.share_stop,
    "captions": Signaling.set_captions,
    "caption-consent": Signaling.caption_consent,
    "caption-text": Signaling.caption_text,
    "breakout-rooms": Signaling.breakout_rooms,
    "breakout-assign": Signaling.breakout_assign,
    "breakout-move": Signaling.breakout_move,
    "breakout-leader": Signaling.breakout_leader,
    "breakout-options": Signaling.breakout_options,
    "breakout-open": Signaling.breakout_open,
    "breakout-timer": Signaling.breakout_timer,
    "breakout-broadcast": Signaling.breakout_broadcast,
    "breakout-visit": Signaling.breakout_visit,
    "breakout-choose": Signaling.breakout_choose,
    "breakout-help": Signaling.breakout_help,
    "breakout-help-clear": Signaling.breakout_help_clear,
    "breakout-close": Signaling.breakout_close,
    "cue-dismiss": Signaling.cue_dismiss,
    "hands-by-talk": Signaling.hands_by_talk,
    "speaking-options": Signaling.speaking_options,
    "revoke-link": Signaling.revoke_link,
    "round-start": Signaling.round_start,
    "round-next": Signaling.round_next,
    "round-pass": Signaling.round_pass,
    "round-end": Signaling.round_end,
    "plan-set": Signaling.plan_set,
    "plan-next": Signaling.plan_next,
    "plan-skip": Signaling.plan_skip,
    "plan-extend": Signaling.plan_extend,
    "spotlight": Signaling.spotlight,
    "feedback": Signaling.feedback,
    "reaction": Signaling.reaction,
    "set-reactions": Signaling.set_reactions,
    "admit-all": Signaling.admit_all,
    "waiting-message": Signaling.waiting_message,
    "tech-help": Signaling.tech_help,
    "signal-dismiss": Signaling.signal_dismiss,
}

# Every event a client may send (the socket guard refuses all others): exactly the
# protocol's client events, each with its handler.
CLIENT_EVENTS = frozenset(HANDLERS)
if CLIENT_EVENTS != CLIENT_EVENT_NAMES:
    raise RuntimeError(
        f"handlers and protocol.CLIENT differ: {sorted(CLIENT_EVENTS ^ CLIENT_EVENT_NAMES)}"
    )
