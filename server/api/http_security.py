"""What every HTTP answer carries (security headers, errors included) and which page
origins may open a socket.io connection."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web

from ..config import Settings

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# Pages may load only what this server serves: no third-party hosts.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'"
)
# Camera, mic and screen capture for our own pages only (never an embedded frame);
# every other powerful feature off.
PERMISSIONS_POLICY = ", ".join(
    [
        "camera=(self)",
        "microphone=(self)",
        "display-capture=(self)",
        "fullscreen=(self)",
        *(
            f"{feature}=()"
            for feature in (
                "geolocation",
                "usb",
                "serial",
                "hid",
                "bluetooth",
                "payment",
                "midi",
                "magnetometer",
                "gyroscope",
                "accelerometer",
                "ambient-light-sensor",
                "publickey-credentials-get",
                "screen-wake-lock",
                "xr-spatial-tracking",
                "browsing-topics",
            )
        ),
    ]
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "Permissions-Policy": PERMISSIONS_POLICY,
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


def _decorate(response: web.StreamResponse) -> None:
    # A WebSocket upgrade (or any streamed answer) has sent its headers already.
    if response.prepared:
        return
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """No third-party content, no framing, no referrer leaking join links, devices for
    our origin only: on every answer, 404, 405, 413 and 500 included."""
    try:
        response = await handler(request)
    except web.HTTPException as error:
        # aiohttp's routing raises these (unknown path, wrong method, body too large).
        _decorate(error)
        raise
    except Exception:
        # aiohttp would answer 500 without our headers; answer it here, once logged.
        log.exception("%s %s failed", request.method, request.path)
        response = web.json_response(
            {"error": {"code": "internal", "message": "the server could not handle this"}},
            status=500,
        )
    _decorate(response)
    return response


def origin_policy(settings: Settings) -> Callable[[str | None, Mapping[str, Any]], bool]:
    """python-engineio's `cors_allowed_origins` callable: the page's own origin (the
    scheme and Host of the request), PEERCIRCLE_PUBLIC_URL's and
    PEERCIRCLE_ALLOWED_ORIGINS; nothing else. A request without Origin (not a browser)
    is not judged by this."""
    extra = settings.extra_origins

    def allowed(origin: str | None, environ: Mapping[str, Any]) -> bool:
        if not origin:
            return False
        origin = origin.strip().lower()
        host = str(environ.get("HTTP_HOST", "")).lower()
        scheme = str(environ.get("wsgi.url_scheme", "http")).lower()
        if host and origin == f"{scheme}://{host}":
            return True
        # Refusals are logged by python-engineio, once per process (not per attempt).
        return origin in extra

    return allowed
