"""The admin REST API (/api/*) against a real server process."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

from server.app import build_app
from server.config import load_settings
from tests.support.client import Client
from tests.support.server import PeerCircleServer

pytestmark = pytest.mark.integration

MakeClient = Callable[..., Client]
WEEK_S = 7 * 24 * 3600


def routed_api_paths() -> dict[str, set[str]]:
    """Every /api path the application routes, with its methods (from its router)."""
    app = build_app(load_settings(env={}, admin_key="k" * 20, token_secret="s" * 32))
    paths: dict[str, set[str]] = {}
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        path = str(info.get("path") or info.get("formatter") or "")
        if path.startswith("/api") and route.method != "HEAD":
            paths.setdefault(path, set()).add(route.method.lower())
    return paths


def error_code(body: Any) -> str:
    """The `error.code` of an API error body."""
    assert isinstance(body, dict) and isinstance(body.get("error"), dict), body
    return str(body["error"]["code"])


# -- the admin key ---------------------------------------------------------------------


GUARDED = [
    ("POST", "/api/sessions"),
    ("GET", "/api/sessions"),
    ("GET", "/api/sessions/{id}"),
    ("POST", "/api/sessions/{id}/links"),
    ("POST", "/api/sessions/{id}/end"),
    ("GET", "/api/metrics"),
]


@pytest.mark.parametrize(("method", "path"), GUARDED)
@pytest.mark.parametrize("key", [None, "wrong-key", ""], ids=["no-key", "wrong-key", "empty"])
async def test_every_api_route_requires_the_admin_key(
    server: PeerCircleServer, method: str, path: str, key: str | None
) -> None:
    session = await server.create_session()
    url = path.replace("{id}", session["id"])
    body = {"name": "Alex", "role": "patient"} if url.endswith("/links") else {}
    status, answer = await server.request(
        method, url, body, key=key or "", authorized=key is not None
    )
    assert status == 401
    assert error_code(answer) == "unauthorized"
    # Nothing happened.
    state = await server.session_state(session["id"])
    assert state["ended"] is False


async def test_a_key_that_only_starts_like_the_admin_key_is_refused(
    server: PeerCircleServer,
) -> None:
    status, _ = await server.request("GET", "/api/metrics", key=server.admin_key[:-1])
    assert status == 401
    status, _ = await server.request("GET", "/api/metrics", key=server.admin_key + "x")
    assert status == 401


# -- sessions --------------------------------------------------------------------------


async def test_create_session_returns_its_state(server: PeerCircleServer) -> None:
    before = time.time()
    status, state = await server.request("POST", "/api/sessions", {"title": "  Tuesday group "})
    assert status == 201
    assert re.fullmatch(r"s_[0-9a-f]{16}", state["id"])
    assert state["title"] == "Tuesday group"
    assert state["ended"] is False
    assert state["participants"] == [] and state["tracks"] == []
    assert state["rooms"] == [{"id": "main", "participants": []}]
    assert before - 1 <= state["created_at"] <= time.time() + 1
    assert await server.session_state(state["id"]) == state
    status, listing = await server.request("GET", "/api/sessions")
    assert status == 200 and state["id"] in listing["sessions"]


async def test_create_session_without_body_gets_a_default_title(server: PeerCircleServer) -> None:
    status, state = await server.request("POST", "/api/sessions")
    assert status == 201
    assert state["title"] == "Group session"


@pytest.mark.parametrize(
    "body",
    [{"title": ""}, {"title": "   "}, {"title": "x" * 121}, {"title": 7}, [1, 2], "title"],
    ids=["empty", "blank", "too-long", "number", "array", "string"],
)
async def test_create_session_refuses_bad_input(server: PeerCircleServer, body: Any) -> None:
    status, answer = await server.request("POST", "/api/sessions", body)
    assert status == 400
    assert error_code(answer) == "invalid_payload"


async def test_create_session_refuses_malformed_json(server: PeerCircleServer) -> None:
    import aiohttp

    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{server.base_url}/api/sessions",
            data=b"{not json",
            headers={"Authorization": f"Bearer {server.admin_key}"},
        ) as response,
    ):
        assert response.status == 400
        assert error_code(await response.json()) == "invalid_payload"


async def test_unknown_session_is_404(server: PeerCircleServer) -> None:
    for method, path, body in [
        ("GET", "/api/sessions/s_0000000000000000", None),
        ("POST", "/api/sessions/s_0000000000000000/links", {"name": "Alex"}),
        ("POST", "/api/sessions/s_0000000000000000/end", None),
    ]:
        status, answer = await server.request(method, path, body)
        assert status == 404, (method, path)
        assert error_code(answer) == "not_found"


# -- join links --------------------------------------------------------------------------


async def test_mint_link_returns_a_token_and_a_url_that_carries_it(
    server: PeerCircleServer,
) -> None:
    session = await server.create_session()
    before = time.time()
    status, link = await server.request(
        "POST",
        f"/api/sessions/{session['id']}/links",
        {"name": " Dr.  Rivera ", "role": "therapist", "ttl_s": 3600},
    )
    assert status == 201
    assert re.fullmatch(r"p_[0-9a-f]{16}", link["participant_id"])
    assert link["name"] == "Dr. Rivera"
    assert link["role"] == "therapist"
    assert link["url"] == f"{server.base_url}/join#t={link['token']}"
    assert before + 3600 - 2 <= link["expires_at"] <= time.time() + 3600 + 1
    # Each link names a new participant.
    again = await server.mint_link(session["id"], "Dr. Rivera", "therapist")
    assert again["participant_id"] != link["participant_id"]
    assert again["token"] != link["token"]


async def test_mint_link_defaults_to_patient(server: PeerCircleServer) -> None:
    session = await server.create_session()
    status, link = await server.request(
        "POST", f"/api/sessions/{session['id']}/links", {"name": "Alex"}
    )
    assert status == 201
    assert link["role"] == "patient"


@pytest.mark.parametrize(
    "name",
    [None, "", "   ", "x" * 65, "Alex\x00", "Alex\u200b", 42, ["Alex"]],
    ids=["missing", "empty", "blank", "too-long", "nul", "zero-width", "number", "list"],
)
async def test_mint_link_refuses_bad_names(server: PeerCircleServer, name: Any) -> None:
    session = await server.create_session()
    body: dict[str, Any] = {"role": "patient"}
    if name is not None:
        body["name"] = name
    status, answer = await server.request("POST", f"/api/sessions/{session['id']}/links", body)
    assert status == 400
    assert error_code(answer) == "invalid_payload"


async def test_mint_link_accepts_a_64_character_name(server: PeerCircleServer) -> None:
    session = await server.create_session()
    link = await server.mint_link(session["id"], "x" * 64)
    assert link["name"] == "x" * 64


@pytest.mark.parametrize(
    "role",
    ["therapist", "co-facilitator", "peer-leader", "patient", "observer", "captioner"],
)
async def test_mint_link_accepts_every_role(server: PeerCircleServer, role: str) -> None:
    session = await server.create_session()
    link = await server.mint_link(session["id"], "Alex", role)
    assert link["role"] == role


@pytest.mark.parametrize("role", ["admin", "Therapist", "", 3, None])
async def test_mint_link_refuses_unknown_roles(server: PeerCircleServer, role: Any) -> None:
    session = await server.create_session()
    status, answer = await server.request(
        "POST", f"/api/sessions/{session['id']}/links", {"name": "Alex", "role": role}
    )
    assert status == 400
    assert error_code(answer) == "invalid_payload"


@pytest.mark.parametrize("ttl", [60, WEEK_S])
async def test_mint_link_accepts_ttl_at_its_bounds(server: PeerCircleServer, ttl: int) -> None:
    session = await server.create_session()
    link = await server.mint_link(session["id"], "Alex", ttl_s=ttl)
    assert abs(link["expires_at"] - (time.time() + ttl)) <= 2


@pytest.mark.parametrize("ttl", [59, WEEK_S + 1, 0, -60, 600.5, "600", True])
async def test_mint_link_refuses_ttl_out_of_bounds(server: PeerCircleServer, ttl: Any) -> None:
    session = await server.create_session()
    status, answer = await server.request(
        "POST", f"/api/sessions/{session['id']}/links", {"name": "Alex", "ttl_s": ttl}
    )
    assert status == 400
    assert error_code(answer) == "invalid_payload"


# -- ending --------------------------------------------------------------------------------


async def test_end_session_disconnects_everyone_and_refuses_links_and_connects(
    server: PeerCircleServer, clients: MakeClient
) -> None:
    session = await server.create_session()
    link = await server.mint_link(session["id"], "Alex")
    alex = clients(server, link["token"], auto_answer=False)
    await alex.connect()
    await alex.wait_for(lambda: alex.welcome is not None)

    status, state = await server.request("POST", f"/api/sessions/{session['id']}/end")
    assert status == 200
    assert state["ended"] is True
    assert state["participants"] == []
    await alex.wait_for(lambda: alex.disconnected)
    assert (await server.session_state(session["id"]))["ended"] is True

    status, answer = await server.request(
        "POST", f"/api/sessions/{session['id']}/links", {"name": "Sam"}
    )
    assert status == 409
    assert error_code(answer) == "session_ended"
    # A link minted before the end no longer gets in.
    refusal = await clients(server, link["token"]).connect_refused()
    assert refusal["code"] == "session_ended"
    # Ending twice is harmless.
    status, state = await server.request("POST", f"/api/sessions/{session['id']}/end")
    assert status == 200 and state["ended"] is True


async def test_end_session_tells_everyone_session_ended(
    server: PeerCircleServer, clients: MakeClient
) -> None:
    session = await server.create_session()
    people = []
    for name in ("Alex", "Sam"):
        link = await server.mint_link(session["id"], name)
        client = clients(server, link["token"], auto_answer=False)
        await client.connect()
        await client.next_event("welcome")
        people.append(client)

    await server.end_session(session["id"])
    for client in people:
        await client.next_event("disconnect")
        assert ("session-ended", {}) in client.events


# -- metrics and the OpenAPI document ---------------------------------------------------


async def test_metrics_report_media_counters(server: PeerCircleServer) -> None:
    metrics = await server.metrics()
    for key in ("peers", "frames_in", "frames_out", "video_encodes", "video_decodes"):
        assert isinstance(metrics[key], int), key


async def test_openapi_lists_every_routed_api_path_and_each_is_served(
    server: PeerCircleServer,
) -> None:
    status, document = await server.request("GET", "/api/openapi.json", authorized=False)
    assert status == 200
    assert document["openapi"].startswith("3.")
    listed = {
        path: {m for m in operations if m in ("get", "post", "put", "patch", "delete")}
        for path, operations in document["paths"].items()
    }
    routed = routed_api_paths()
    routed.pop("/api/openapi.json")
    assert listed == routed

    session = await server.create_session()
    # End last: the other calls need the session open.
    calls = sorted(
        ((path, method) for path, methods in listed.items() for method in methods),
        key=lambda call: call[0].endswith("/end"),
    )
    for path, method in calls:
        url = path.replace("{session_id}", session["id"])
        url = url.replace("{participant_id}", "p_0000000000000000")
        body = {"name": "Alex"} if url.endswith("/links") else None
        status, answer = await server.request(method.upper(), url, body)
        assert status not in (404, 405), (method, path, answer)
        assert status < 500, (method, path, answer)
        ok = next(code for code in document["paths"][path][method]["responses"] if int(code) < 300)
        assert status == int(ok), (method, path, answer)


async def test_pages_are_served_with_security_headers(server: PeerCircleServer) -> None:
    import aiohttp

    async with aiohttp.ClientSession() as http, http.get(f"{server.base_url}/healthz") as response:
        assert response.status == 200
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        assert response.headers["Referrer-Policy"] == "no-referrer"


def test_route_listing_sees_the_admin_routes() -> None:
    # Guards the helper above: if it found nothing, the OpenAPI check would be empty.
    routes = routed_api_paths()
    assert routes["/api/sessions"] == {"get", "post"}
    assert "post" in routes["/api/sessions/{session_id}/links"]


async def test_join_info_tells_the_lobby_the_title_for_a_valid_link_only(
    server: PeerCircleServer,
) -> None:
    session = await server.create_session("Thursday group")
    link = await server.mint_link(session["id"], "Alex", "patient")

    async def info(headers: dict[str, str]) -> tuple[int, Any]:
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"{server.base_url}/join/info", headers=headers) as response,
        ):
            return response.status, await response.json()

    status, body = await info({"Authorization": f"Bearer {link['token']}"})
    assert status == 200
    assert body == {
        "session": {"title": "Thursday group"},
        "you": {"name": "Alex", "role": "patient"},
    }
    status, body = await info({"Authorization": f"Bearer {link['token']}x"})
    assert status == 401 and body["error"]["code"] == "token_invalid"
    status, body = await info({})
    assert status == 401 and body["error"]["code"] == "token_missing"
    await server.end_session(session["id"])
    status, body = await info({"Authorization": f"Bearer {link['token']}"})
    assert status == 410 and body["error"]["code"] == "session_ended"
