"""socket.io handlers for a connection's media: the answer, trickled candidates, one's
own mic and camera; `Signaling` inherits them."""

from __future__ import annotations

from typing import Any

from ..domain.errors import ProtocolError, RateLimited, UserError
from .base import CommandHandlers
from .connections import Connection, facilitator_room
from .inbound import parse_answer, parse_ice_candidate, parse_link_quality, parse_media_state


class NegotiationHandlers(CommandHandlers):
    """Answers and candidates go to the bridge; media state to the host."""

    async def answer(self, conn: Connection, data: Any) -> None:
        """`answer`: the client's answer to our latest offer."""
        answer = parse_answer(data)
        try:
            await self._bridge.accept_answer(conn.participant_id, answer.revision, answer.sdp)
        except KeyError as exc:
            raise UserError("no media connection: send join") from exc
        except LookupError as exc:
            raise UserError(str(exc)) from exc
        except ValueError as exc:
            raise ProtocolError(str(exc)[:200]) from exc

    async def ice_candidate(self, conn: Connection, data: Any) -> None:
        """`ice-candidate`: a trickled browser candidate."""
        cand = parse_ice_candidate(data)
        try:
            await self._bridge.add_ice_candidate(
                conn.participant_id, cand.candidate, cand.sdp_mid, cand.sdp_mline_index
            )
        except KeyError as exc:
            raise UserError("no media connection: send join") from exc
        except OverflowError as exc:
            raise RateLimited(str(exc)) from exc
        except ValueError as exc:
            raise ProtocolError(f"candidate: {exc}"[:200]) from exc

    async def link_quality(self, conn: Connection, data: Any) -> None:
        """`link-quality`: how the person's page finds its link; the facilitators see
        everyone's (connection state: not stored, not audited)."""
        quality = parse_link_quality(data)
        if not conn.in_call:
            return
        body = {"participant": conn.participant_id, "quality": quality}
        await self._sio.emit("link-quality", body, room=facilitator_room(conn.session_id))

    async def media_state(self, conn: Connection, data: Any) -> None:
        """`media-state`: the participant muted/unmuted or turned their camera off/on."""
        state = parse_media_state(data)
        pid = conn.participant_id
        await self._run(conn, lambda s, now: s.set_media_state(pid, state.mic, state.camera))
