"""REST admin API: sessions, join links, session state, metrics; OpenAPI at /api/openapi.json
(the document itself is in `server/api/openapi.py`)."""

from __future__ import annotations

import hmac
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import aiohttp
from aiohttp import web

from ..cluster.ownership import Ownership
from ..config import Settings
from ..domain.audit import verify_chain
from ..domain.breakouts import MAIN_ROOM_NAME
from ..domain.errors import Moved, NotFound, NotPermitted, Unavailable, UserError
from ..domain.model import MAIN_ROOM, LinkView
from ..domain.roles import Role
from ..domain.session import Session
from ..domain.speaking import SpeakingLedger, SpeakingSettings
from ..host import SessionRegistry
from ..speaking.report import (
    ReportContext,
    load_ledger,
    report_csv,
    report_json,
    talk_chart_svg,
)
from ..store import SessionStore
from ..tokens import (
    JoinGrant,
    TokenRefused,
    TokenSigner,
    clean_display_name,
    new_link_id,
    new_participant_id,
)
from .limits import MAX_BODY_BYTES, MAX_LINK_TTL_S, MAX_TITLE_LENGTH
from .openapi import OPENAPI

Route = Callable[[web.Request], Awaitable[web.StreamResponse]]

# A request one node forwarded to the session's owner carries this header; the owner
# never forwards it again (a session that moved meanwhile gets 409 moved instead).
FORWARDED = "X-PeerCircle-Forwarded"
FORWARD_TIMEOUT = aiohttp.ClientTimeout(total=10)


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


async def _body(request: web.Request) -> dict[str, Any]:
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise web.HTTPRequestEntityTooLarge(
            max_size=MAX_BODY_BYTES, actual_size=request.content_length
        )
    # request.read() keeps the bytes, so a request forwarded to another node can send
    # them again; the app's client_max_size bounds it.
    raw = await request.read()
    if len(raw) > MAX_BODY_BYTES:
        raise ValueError("body too large")
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except RecursionError:
        # Thousands of nested brackets fit in the size limit; the parser gives up.
        raise ValueError("body nests too deeply") from None
    if not isinstance(body, dict):
        raise ValueError("body must be a JSON object")
    return body


def _moved(moved: Moved) -> web.Response:
    body = {"error": {"code": "moved", "message": moved.message, "url": moved.url}}
    return web.json_response(body, status=409)


def session_state(session: Session) -> dict[str, Any]:
    """A session as the admin API shows it."""
    participants = [p.to_wire() | {"room": p.room} for p in session.participants()]
    return {
        "id": session.id,
        "title": session.title,
        "created_at": session.created_at,
        "ended": session.ended,
        "waiting_room": session.waiting_room,
        "locked": session.locked,
        "participants": participants,
        "rooms": [
            {
                "id": MAIN_ROOM,
                "participants": [p["id"] for p in participants if p["room"] == MAIN_ROOM],
            }
        ],
        "tracks": [t.to_wire() for t in session.tracks()],
        "presenting_s": session.presenting_time(),
        # Links minted here (never their tokens), used or not, and revoked ones.
        "links": [link.to_wire() for link in session.links()],
        "captioners": [c.to_wire() for c in session.captioners()],
    }


class AdminApi:
    """Handlers of /api/*, each behind the admin key."""

    def __init__(
        self,
        settings: Settings,
        registry: SessionRegistry,
        signer: TokenSigner,
        metrics: Callable[[], Mapping[str, float]],
        store: SessionStore,
        speaking: SpeakingSettings | None = None,
        live_ledger: Callable[[str], tuple[SpeakingLedger, float] | None] = lambda _id: None,
        ownership: Ownership | None = None,
    ) -> None:
        self._store = store
        self._ownership = ownership
        self._speaking = speaking or SpeakingSettings()
        # A session measured by this process reports from its live ledger; others (and
        # ended ones) from the store, which is at most a few seconds behind.
        self._live_ledger = live_ledger
        self._settings = settings
        self._registry = registry
        self._signer = signer
        self._metrics = metrics

    def routes(self) -> list[web.RouteDef]:
        """The API's routes."""
        guard = self._guarded
        return [
            web.get("/api/openapi.json", self.openapi),
            web.post("/api/sessions", guard(self.create_session)),
            web.get("/api/sessions", guard(self.list_sessions)),
            web.get("/api/sessions/{session_id}", guard(self.get_session)),
            web.post("/api/sessions/{session_id}/links", guard(self.create_link)),
            web.delete(
                "/api/sessions/{session_id}/links/{participant_id}", guard(self.revoke_link)
            ),
            web.post("/api/sessions/{session_id}/end", guard(self.end_session)),
            web.get("/api/sessions/{session_id}/audit", guard(self.audit)),
            web.get("/api/sessions/{session_id}/report", guard(self.report)),
            web.get("/api/sessions/{session_id}/report/chart.svg", guard(self.report_chart)),
            web.get("/api/sessions/{session_id}/transcript", guard(self.transcript)),
            web.get("/api/metrics", guard(self.metrics)),
            # The one call a join token (not the admin key) authorizes: for the lobby.
            web.get("/join/info", self.join_info),
        ]

    async def join_info(self, request: web.Request) -> web.Response:
        """GET /join/info with `Authorization: Bearer <join token>`: what the lobby shows
        before anyone connects (the session's title, the person's name and role), or
        the refusal the connection would get (docs/PROTOCOL.md codes)."""
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        try:
            if scheme.lower() != "bearer":
                raise TokenRefused("token_missing", "a join token is required")
            grant = self._signer.verify(token.strip(), time.time())
        except TokenRefused as refused:
            status = 410 if refused.code == "token_expired" else 401
            return _error(status, refused.code, refused.message)
        record = await self._store.load_session(grant.session_id)
        if record is None:
            return _error(404, "session_unknown", "this session does not exist")
        if record.get("ended"):
            return _error(410, "session_ended", "this session has ended")
        body = {
            "session": {"title": record["title"]},
            "you": {"name": grant.name, "role": grant.role.value},
        }
        return web.json_response(body, headers={"Cache-Control": "no-store"})

    def _guarded(self, route: Route) -> Route:
        async def run(request: web.Request) -> web.StreamResponse:
            key = self._settings.admin_key
            if not key:
                return _error(403, "api_disabled", "set PEERCIRCLE_ADMIN_KEY to use the admin API")
            # `Bearer <key>` and nothing else (the scheme is case-insensitive, RFC 7235).
            scheme, _, given = request.headers.get("Authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(
                given.strip().encode("utf-8", "replace"), key.encode()
            ):
                return _error(401, "unauthorized", "a valid admin key is required")
            try:
                return await route(request)
            except NotFound as exc:
                return _error(404, "not_found", exc.message)
            except Unavailable as exc:
                # Nothing changed; the caller may retry once /readyz answers 200.
                return _error(503, "unavailable", exc.message)
            except Moved as moved:
                # Every node answers for every session: the owner does the work.
                return await self._forward(request, moved)
            except (ValueError, KeyError, TypeError) as exc:
                return _error(400, "invalid_payload", str(exc)[:200])

        return run

    async def _forward(self, request: web.Request, moved: Moved) -> web.StreamResponse:
        """Send the request on to the node that owns its session and return its answer;
        409 `moved` (with the owner's URL) for a request that was forwarded already."""
        if request.headers.get(FORWARDED) or self._ownership is None:
            return _moved(moved)
        session_id = request.match_info.get("session_id", "")
        lease = await self._store.lease_of(session_id) if session_id else None
        node = await self._ownership.nodes.find(lease.node_id) if lease is not None else None
        if node is None:
            return _error(503, "unavailable", "the session's node is not answering; retry")
        return await self._send_to(node.internal_url, request)

    async def _send_to(self, base_url: str, request: web.Request) -> web.Response:
        """The request, replayed on another node with the same admin key and body."""
        headers = {FORWARDED: self._ownership.node_id if self._ownership else "1"}
        if "Authorization" in request.headers:
            headers["Authorization"] = request.headers["Authorization"]
        if request.content_type:
            headers["Content-Type"] = request.content_type
        body = await request.read()
        async with (
            aiohttp.ClientSession(timeout=FORWARD_TIMEOUT) as http,
            http.request(
                request.method, base_url + request.path_qs, data=body, headers=headers
            ) as answer,
        ):
            content = await answer.read()
            return web.Response(
                status=answer.status, body=content, content_type=answer.content_type
            )

    async def openapi(self, request: web.Request) -> web.Response:
        """The OpenAPI document."""
        return web.json_response(OPENAPI)

    async def create_session(self, request: web.Request) -> web.Response:
        """POST /api/sessions {title?}"""
        body = await _body(request)
        title = body.get("title", "Group session")
        if not isinstance(title, str) or not 1 <= len(title.strip()) <= MAX_TITLE_LENGTH:
            raise ValueError(f"title: must be 1-{MAX_TITLE_LENGTH} characters")
        waiting_room = body.get("waiting_room", True)
        if not isinstance(waiting_room, bool):
            raise ValueError("waiting_room: must be true or false")
        if self._ownership is not None and not request.headers.get(FORWARDED):
            # A session starts on the least-loaded live node.
            target = await self._ownership.nodes.least_loaded()
            if target.node_id != self._ownership.node_id:
                try:
                    return await self._send_to(target.internal_url, request)
                except (aiohttp.ClientError, TimeoutError):
                    pass  # that node is not answering: this one will do
        host = await self._registry.create(title.strip(), waiting_room=waiting_room)
        return web.json_response(session_state(host.session), status=201)

    async def list_sessions(self, request: web.Request) -> web.Response:
        """GET /api/sessions"""
        return web.json_response({"sessions": await self._registry.session_ids()})

    async def get_session(self, request: web.Request) -> web.Response:
        """GET /api/sessions/{id}"""
        host = await self._registry.get(request.match_info["session_id"])
        return web.json_response(session_state(host.session))

    async def create_link(self, request: web.Request) -> web.Response:
        """POST /api/sessions/{id}/links {name, role, ttl_s?}"""
        host = await self._registry.get(request.match_info["session_id"])
        if host.session.ended:
            return _error(409, "session_ended", "the session has ended")
        body = await _body(request)
        grant = link_grant(self._settings, host.session.id, body)
        view = LinkView(
            grant.link_id,
            grant.participant_id,
            grant.name,
            grant.role,
            grant.pre_admitted,
            grant.issued_at,
            grant.expires_at,
        )
        try:
            # Remembered (and audited) before the token exists: a link the session
            # cannot list is a link nobody could revoke.
            await host.run(lambda s, now: s.record_link(view, now))
        except UserError as exc:
            code = "session_ended" if host.session.ended else "too_many_links"
            return _error(409, code, str(exc))
        return web.json_response(link_body(self._settings, self._signer, grant), status=201)

    async def revoke_link(self, request: web.Request) -> web.Response:
        """DELETE /api/sessions/{id}/links/{participant_id}: every link naming this
        participant stops working; a connected holder is disconnected."""
        host = await self._registry.get(request.match_info["session_id"])
        pid = request.match_info["participant_id"]
        if not 1 <= len(pid) <= 64:
            raise ValueError("participant_id: must be 1-64 characters")
        try:
            await host.run(lambda s, now: s.revoke_link(None, pid, now))
        except (UserError, NotPermitted) as exc:
            code = "session_ended" if host.session.ended else "too_many_revoked"
            return _error(409, code, str(exc))
        return web.json_response(session_state(host.session))

    async def end_session(self, request: web.Request) -> web.Response:
        """POST /api/sessions/{id}/end"""
        host = await self._registry.get(request.match_info["session_id"])
        await host.run(lambda s, now: s.end())
        return web.json_response(session_state(host.session))

    async def audit(self, request: web.Request) -> web.Response:
        """GET /api/sessions/{id}/audit: the append-only, hash-chained audit log."""
        host = await self._registry.get(request.match_info["session_id"])
        records = await self._store.read_audit(host.session.id)
        broken = verify_chain(records)
        return web.json_response(
            {"records": records, "chain": "intact" if broken is None else f"broken at {broken}"}
        )

    async def _speaking_report(
        self, request: web.Request
    ) -> tuple[SpeakingLedger, float, ReportContext]:
        host = await self._registry.get(request.match_info["session_id"])
        session = host.session
        found = self._live_ledger(session.id) or await load_ledger(
            self._store, session.id, time.time(), self._speaking
        )
        names = {p["id"]: p["name"] for p in session.to_record()["participants"]}
        rooms = {MAIN_ROOM: MAIN_ROOM_NAME} | {
            room_id: room.name for room_id, room in session.breakouts.rooms.items()
        }
        context = ReportContext(session.title, session.created_at, names, rooms)
        if found is None:
            if session.ended:
                raise NotFound("no speaking statistics for this session (none, or past retention)")
            # A session still open has measured nothing yet: an empty report.
            return SpeakingLedger(self._speaking), time.time(), context
        return found[0], found[1], context

    async def report(self, request: web.Request) -> web.Response:
        """GET /api/sessions/{id}/report[?format=csv]: speaking metrics per person and room."""
        ledger, at, context = await self._speaking_report(request)
        body = report_json(request.match_info["session_id"], ledger, at, context.names, context)
        if request.query.get("format", "json") == "csv":
            return web.Response(text=report_csv(body), content_type="text/csv")
        return web.json_response(body)

    async def report_chart(self, request: web.Request) -> web.Response:
        """GET /api/sessions/{id}/report/chart.svg: talk over time per person."""
        ledger, at, context = await self._speaking_report(request)
        svg = talk_chart_svg(ledger, at, context.names, context)
        return web.Response(text=svg, content_type="image/svg+xml")

    async def transcript(self, request: web.Request) -> web.Response:
        """GET /api/sessions/{id}/transcript: final captions, kept only when the session
        enabled a transcript, and only for PEERCIRCLE_TRANSCRIPT_RETENTION_DAYS."""
        host = await self._registry.get(request.match_info["session_id"])
        lines = await self._store.read_kept("transcript", host.session.id, time.time())
        return web.json_response({"lines": lines})

    async def metrics(self, request: web.Request) -> web.Response:
        """GET /api/metrics: media counters (video encodes and decodes stay at zero)."""
        return web.json_response(self._metrics())


def mint_link(
    settings: Settings, signer: TokenSigner, session_id: str, body: dict[str, Any]
) -> dict[str, Any]:
    """A join link for one person: token, URL, participant id, expiry (not recorded in
    the session: the admin API records it first, see `AdminApi.create_link`)."""
    return link_body(settings, signer, link_grant(settings, session_id, body))


def link_grant(settings: Settings, session_id: str, body: dict[str, Any]) -> JoinGrant:
    """The grant of a new link from an admin API body (ValueError if it is bad)."""
    name = clean_display_name(body.get("name"))
    role = Role(body.get("role", "patient"))
    ttl = body.get("ttl_s", settings.token_ttl_s)
    if not isinstance(ttl, int) or not 60 <= ttl <= MAX_LINK_TTL_S:
        raise ValueError(f"ttl_s: must be an integer from 60 to {MAX_LINK_TTL_S}")
    admitted = body.get("admitted", False)
    if not isinstance(admitted, bool):
        raise ValueError("admitted: must be true or false")
    now = time.time()
    pid = new_participant_id()
    return JoinGrant(session_id, pid, name, role, now + ttl, admitted, now, new_link_id())


def link_body(settings: Settings, signer: TokenSigner, grant: JoinGrant) -> dict[str, Any]:
    """The admin API's answer for a new link: its token and URL."""
    token = signer.mint(grant)
    return {
        "participant_id": grant.participant_id,
        "link_id": grant.link_id,
        "role": grant.role.value,
        "name": grant.name,
        "token": token,
        # The token rides in the fragment, which browsers never send to a server.
        "admitted": grant.pre_admitted,
        "url": f"{settings.base_url}/join#t={token}",
        "expires_at": int(grant.expires_at),
    }
