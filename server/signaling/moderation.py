"""socket.io handlers for moderation, hands, chat and breaks; `Signaling` inherits them."""

from __future__ import annotations

from typing import Any

from .base import CommandHandlers
from .connections import Connection
from .inbound import (
    parse_chat,
    parse_deny,
    parse_empty,
    parse_flag,
    parse_optional_target,
    parse_signal,
    parse_target,
    parse_text_message,
)


class ModerationHandlers(CommandHandlers):
    """Parse each moderation or participation message and submit it to the host."""

    # -- moderation ----------------------------------------------------------------------

    async def admit(self, conn: Connection, data: Any) -> None:
        """`admit`: let someone in from the waiting room."""
        target = parse_target(data).participant
        await self._run(conn, lambda s, now: s.admit(conn.participant_id, target))

    async def admit_all(self, conn: Connection, data: Any) -> None:
        """`admit-all`: let everyone waiting in."""
        parse_empty(data)
        await self._run(conn, lambda s, now: s.admit_all(conn.participant_id))

    async def waiting_message(self, conn: Connection, data: Any) -> None:
        """`waiting-message`: a message to everyone in the waiting room."""
        text = parse_text_message(data)
        pid = conn.participant_id
        await self._run(conn, lambda s, now: s.message_waiting_room(pid, text, now))

    async def tech_help(self, conn: Connection, data: Any) -> None:
        """`tech-help`: "I have a technical problem", to the facilitators."""
        parse_empty(data)
        await self._run(conn, lambda s, now: s.request_tech_help(conn.participant_id, now))

    async def signal_dismiss(self, conn: Connection, data: Any) -> None:
        """`signal-dismiss`: a facilitator handled a break, a message or a problem."""
        signal = parse_signal(data)
        await self._run(conn, lambda s, now: s.dismiss_signal(conn.participant_id, signal))

    async def deny(self, conn: Connection, data: Any) -> None:
        """`deny`: turn someone away from the waiting room."""
        deny = parse_deny(data)
        await self._run(
            conn, lambda s, now: s.deny(conn.participant_id, deny.participant, deny.message)
        )

    async def lock(self, conn: Connection, data: Any) -> None:
        """`lock`: lock or unlock the session."""
        locked = parse_flag(data, "locked")
        await self._run(conn, lambda s, now: s.set_locked(conn.participant_id, locked))

    async def mute(self, conn: Connection, data: Any) -> None:
        """`mute`: mute one participant."""
        target = parse_target(data).participant
        await self._run(conn, lambda s, now: s.mute(conn.participant_id, target))

    async def mute_all(self, conn: Connection, data: Any) -> None:
        """`mute-all`: mute everyone but the facilitators."""
        parse_empty(data)
        await self._run(conn, lambda s, now: s.mute_all(conn.participant_id))

    async def ask_unmute(self, conn: Connection, data: Any) -> None:
        """`ask-unmute`: ask someone to unmute."""
        target = parse_target(data).participant
        await self._run(conn, lambda s, now: s.ask_to_unmute(conn.participant_id, target))

    async def stop_camera(self, conn: Connection, data: Any) -> None:
        """`stop-camera`: turn someone's camera off."""
        target = parse_target(data).participant
        await self._run(conn, lambda s, now: s.stop_camera(conn.participant_id, target))

    async def remove(self, conn: Connection, data: Any) -> None:
        """`remove`: remove someone for good."""
        target = parse_target(data).participant
        await self._run(conn, lambda s, now: s.remove(conn.participant_id, target))

    async def end_session(self, conn: Connection, data: Any) -> None:
        """`end-session`: end the session for everyone."""
        parse_empty(data)
        await self._run(conn, lambda s, now: s.end(conn.participant_id))

    # -- hands, chat, breaks -----------------------------------------------------------------

    async def raise_hand(self, conn: Connection, data: Any) -> None:
        """`raise-hand`."""
        parse_empty(data)
        await self._run(conn, lambda s, now: s.raise_hand(conn.participant_id))

    async def lower_hand(self, conn: Connection, data: Any) -> None:
        """`lower-hand`: one's own, or someone else's (facilitators)."""
        target = parse_optional_target(data)
        whose = target.participant if target else conn.participant_id
        await self._run(conn, lambda s, now: s.lower_hand(conn.participant_id, whose))

    async def chat(self, conn: Connection, data: Any) -> None:
        """`chat`: to the room or to the facilitators."""
        chat = parse_chat(data)
        pid = conn.participant_id
        await self._run(
            conn, lambda s, now: s.post_chat(pid, chat.to, chat.text, now, chat.participant)
        )

    async def set_chat(self, conn: Connection, data: Any) -> None:
        """`set-chat`: turn group chat on or off."""
        enabled = parse_flag(data, "enabled")
        await self._run(conn, lambda s, now: s.set_chat(conn.participant_id, enabled))

    async def signal_break(self, conn: Connection, data: Any) -> None:
        """`break`: privately tell the facilitators one needs a break."""
        parse_empty(data)
        await self._run(conn, lambda s, now: s.signal_break(conn.participant_id, now))
