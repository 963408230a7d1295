"""HTTP-side findings of the audit (issue 13): headers on every answer, socket.io's
Origin check, the admin key's scheme, a deeply nested body. Against a real server."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
import socketio

from tests.support.server import HTTP_TIMEOUT, PeerCircleServer, StartServer

pytestmark = pytest.mark.integration

PROTOCOL = 1
FOREIGN = "http://evil.example"


async def fetch(
    method: str, url: str, headers: dict[str, str] | None = None, data: bytes | None = None
) -> tuple[int, dict[str, str], str]:
    """(status, headers, body text) of one plain request."""
    async with (
        aiohttp.ClientSession(timeout=HTTP_TIMEOUT) as http,
        http.request(method, url, headers=headers or {}, data=data) as response,
    ):
        return response.status, dict(response.headers), await response.text()


def assert_security_headers(headers: dict[str, str], what: str) -> None:
    assert "frame-ancestors 'none'" in headers.get("Content-Security-Policy", ""), what
    assert headers.get("Referrer-Policy") == "no-referrer", what
    assert headers.get("X-Content-Type-Options") == "nosniff", what
    policy = {
        part.strip().split("=", 1)[0]: part.strip().split("=", 1)[1]
        for part in headers.get("Permissions-Policy", "").split(",")
        if "=" in part
    }
    assert policy.get("camera") == "(self)", (what, policy)
    assert policy.get("microphone") == "(self)", (what, policy)
    assert policy.get("display-capture") == "(self)", (what, policy)
    for feature in ("geolocation", "usb", "payment"):
        assert policy.get(feature) == "()", (what, feature, policy)


# -- security headers on every answer --------------------------------------------------


async def test_pages_and_errors_all_carry_the_security_headers(server: PeerCircleServer) -> None:
    base = server.base_url
    big = b'{"title": "' + b"x" * (100 * 1024) + b'"}'
    auth = {"Authorization": f"Bearer {server.admin_key}", "Content-Type": "application/json"}
    cases: list[tuple[str, str, dict[str, str] | None, bytes | None, int]] = [
        ("GET", "/", None, None, 200),
        ("GET", "/join", None, None, 200),
        ("GET", "/healthz", None, None, 200),
        ("GET", "/no-such-page", None, None, 404),
        ("GET", "/client/no-such-file.js", None, None, 404),
        ("POST", "/healthz", None, None, 405),
        ("DELETE", "/api/sessions", None, None, 405),
        ("GET", "/api/sessions", None, None, 401),
        ("POST", "/api/sessions", auth, big, 413),
    ]
    for method, path, headers, data, status in cases:
        got, answer_headers, body = await fetch(method, base + path, headers, data)
        assert got == status, (method, path, got, body[:200])
        assert_security_headers(answer_headers, f"{method} {path} -> {got}")


async def test_socketio_polling_answers_carry_the_security_headers(
    server: PeerCircleServer,
) -> None:
    status, headers, body = await fetch(
        "GET", f"{server.base_url}/socket.io/?EIO=4&transport=polling"
    )
    assert status == 200, body[:200]
    assert_security_headers(headers, "socket.io polling")


# -- socket.io: same origin, plus the configured ones -----------------------------------


async def socket_connects(
    server: PeerCircleServer, token: str, origin: str | None, transport: str
) -> bool:
    """Whether a socket.io connection with this Origin header (None: none) is accepted."""
    sio = socketio.AsyncClient(reconnection=False)
    headers = {"Origin": origin} if origin is not None else {}
    try:
        await sio.connect(
            server.base_url,
            headers=headers,
            auth={"token": token, "protocol": PROTOCOL},
            transports=[transport],
            wait_timeout=10,
        )
    except socketio.exceptions.ConnectionError:
        # A refused client keeps its HTTP session open; close it (no ResourceWarning).
        http = sio.eio.http
        if http is not None and not http.closed:
            await http.close()
        return False
    await sio.disconnect()
    return True


async def fresh_token(server: PeerCircleServer) -> str:
    session = await server.create_session()
    link: dict[str, Any] = await server.mint_link(session["id"], "Alex")
    return str(link["token"])


@pytest.mark.parametrize("transport", ["websocket", "polling"])
async def test_socketio_refuses_a_foreign_origin_and_accepts_its_own(
    server: PeerCircleServer, transport: str
) -> None:
    token = await fresh_token(server)
    assert not await socket_connects(server, token, FOREIGN, transport)
    # A look-alike of our own origin is foreign too.
    assert not await socket_connects(server, token, server.base_url + ".evil.example", transport)
    assert await socket_connects(server, token, server.base_url, transport)
    # Non-browser clients send no Origin: nothing to judge.
    assert await socket_connects(server, token, None, transport)


async def test_allowed_origins_and_the_public_url_may_connect(
    start_server: StartServer,
) -> None:
    server = await start_server(
        env={
            "PEERCIRCLE_ALLOWED_ORIGINS": "https://clinic.example, https://backup.example:8443",
            "PEERCIRCLE_PUBLIC_URL": "https://video.clinic.example/peercircle",
        }
    )
    token = await fresh_token(server)
    for origin in (
        "https://clinic.example",
        "https://backup.example:8443",
        "https://video.clinic.example",
        server.base_url,
    ):
        assert await socket_connects(server, token, origin, "websocket"), origin
    for origin in (FOREIGN, "http://clinic.example", "https://backup.example"):
        assert not await socket_connects(server, token, origin, "websocket"), origin


# -- the admin API ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    ["{key}", "Basic {key}", "Token {key}", "Bearer{key}", "Bearer  x{key}"],
    ids=["bare", "basic", "token", "no-space", "padded-prefix"],
)
async def test_the_admin_key_counts_only_after_bearer(
    server: PeerCircleServer, header: str
) -> None:
    status, _, body = await fetch(
        "GET",
        f"{server.base_url}/api/sessions",
        {"Authorization": header.format(key=server.admin_key)},
    )
    assert status == 401, body[:200]
    # ...while the documented form works, its scheme in any case.
    for scheme in ("Bearer", "bearer"):
        status, _, body = await fetch(
            "GET",
            f"{server.base_url}/api/sessions",
            {"Authorization": f"{scheme} {server.admin_key}"},
        )
        assert status == 200, (scheme, body[:200])


@pytest.mark.parametrize("depth", [5000, 8000])
async def test_a_deeply_nested_body_is_an_invalid_payload(
    server: PeerCircleServer, depth: int
) -> None:
    body = b'{"title": ' + b"[" * depth + b"]" * depth + b"}"
    status, headers, text = await fetch(
        "POST",
        f"{server.base_url}/api/sessions",
        {"Authorization": f"Bearer {server.admin_key}", "Content-Type": "application/json"},
        body,
    )
    assert status == 400, text[:200]
    assert '"invalid_payload"' in text
    assert_security_headers(headers, "400")
    assert server.running
    assert "Traceback" not in server.log_tail(400)
