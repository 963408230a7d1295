"""What the facilitators must not miss, in one list that persists until handled: a
break request, a private message, someone waiting, a request to present, a raised
hand, a help request from a breakout room, a technical problem (a mixin of `Session`).

Waiting, presenting, hands and help are the session's own state and leave the list
when handled (admitted, answered, lowered, cleared); breaks, private messages and
technical problems are notes a facilitator dismisses. Everything about someone who
left goes with them.
"""

from __future__ import annotations

from typing import Any

from .errors import NotFound
from .events import Event, SignalDismissed, TechHelpRequested
from .model import Note, Presence
from .participant import Participant
from .roles import Action
from .state import SessionState

NOTE_KINDS = ("break", "private-message", "tech-help")
# Notes kept at once; the oldest go first.
MAX_NOTES = 200


class Signals(SessionState):
    """The facilitators' signals."""

    def request_tech_help(self, participant_id: str, now: float) -> list[Event]:
        """ "I have a technical problem": to the facilitators, until they handle it."""
        person = self._actor(participant_id, Action.ASK_TECH_HELP)
        self._note("tech-help", person, now)
        return [TechHelpRequested(person.actor(), now)]

    def dismiss_signal(self, actor_id: str, signal_id: str) -> list[Event]:
        """A facilitator handled a note (a break, a private message, a technical
        problem); the others follow from what they are about."""
        actor = self._actor(actor_id, Action.HANDLE_SIGNALS)
        kept = [n for n in self._notes if n.id != signal_id]
        if len(kept) == len(self._notes):
            raise NotFound("no such signal (or it is not one that is dismissed)")
        self._notes = kept
        return [SignalDismissed(signal_id, actor.actor())]

    def open_signals(self) -> list[dict[str, Any]]:
        """Every open signal, oldest first where the time is known: id, kind, who and
        (for help) the room."""
        present = {p.id: p for p in self._participants.values() if p.presence is not Presence.LEFT}
        items: list[dict[str, Any]] = []
        for note in self._notes:
            if note.participant_id in present:
                items.append(_item(note.id, note.kind, note.participant_id, note.at))
        for person in self.waiting():
            items.append(_item(f"waiting:{person.id}", "waiting", person.id, None))
        for pid in self._share_requests:
            items.append(_item(f"share:{pid}", "share-request", pid, None))
        for pid in self._hands:
            items.append(_item(f"hand:{pid}", "hand", pid, None))
        for request in self.breakouts.help:
            item = _item(f"help:{request.participant_id}", "help", request.participant_id,
                         request.at)  # fmt: skip
            item["room"] = request.room
            items.append(item)
        return items

    def _note(self, kind: str, person: Participant, now: float) -> None:
        self._note_seq += 1
        self._notes.append(Note(f"{kind}:{self._note_seq}", kind, person.id, now))
        if len(self._notes) > MAX_NOTES:
            del self._notes[: len(self._notes) - MAX_NOTES]


def _item(signal_id: str, kind: str, participant_id: str, at: float | None) -> dict[str, Any]:
    return {"id": signal_id, "kind": kind, "participant": participant_id, "at": at}
