"""`python -m server`: run one PeerCircle process and print where to open it."""

from __future__ import annotations

import argparse
import asyncio
import errno
import logging
import os
import secrets
import signal
import sys
from dataclasses import replace

from aiohttp import web

from .api.admin import mint_link
from .app import DRAIN, READINESS, REGISTRY, SIGNER, build_app
from .config import Settings, load_settings
from .domain.roles import Role
from .telemetry.logs import configure_logging

DEMO_PEOPLE = (
    ("Dr. Rivera", Role.THERAPIST),
    ("Alex", Role.PATIENT),
    ("Sam", Role.PATIENT),
    ("Jordan", Role.PATIENT),
)


async def serve(settings: Settings, demo: bool) -> None:
    """Start the server; with `demo`, create a session and print join links for it."""
    app = build_app(settings)
    # On stop, open requests and sockets get 2 s to finish, not aiohttp's 60 s: by then
    # a draining node's people have been sent elsewhere.
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port)
    try:
        await site.start()
    except OSError as error:
        await runner.cleanup()
        if error.errno == errno.EADDRINUSE:
            raise SystemExit(
                f"PeerCircle: {settings.host}:{settings.port} is already in use (another "
                "PeerCircle?); stop it, or choose another port with --port or PEERCIRCLE_PORT."
            ) from None
        raise SystemExit(
            f"PeerCircle: cannot listen on {settings.host}:{settings.port}: {error.strerror}"
        ) from None
    out = sys.stdout
    print(f"PeerCircle is running: {settings.base_url}/", file=out)
    print(f"Admin API: {settings.base_url}/api/openapi.json", file=out)
    if demo:
        host = await app[REGISTRY].create("Demo group")
        print(
            f"\nDemo session {host.session.id}: open each link in its own browser tab or window.",
            file=out,
        )
        for name, role in DEMO_PEOPLE:
            # Demo patients are admitted in advance: they come in as soon as the therapist
            # is there (before that they wait), with nobody clicking Admit. Links minted
            # through the API wait for Admit unless they say "admitted": true.
            body = {"name": name, "role": role.value, "admitted": True}
            link = mint_link(settings, app[SIGNER], host.session.id, body)
            print(f"  {name:<11} ({role.value}): {link['url']}", file=out)
        if settings.store != "redis" or not os.environ.get("PEERCIRCLE_TOKEN_SECRET"):
            print(
                "These links work only while this process runs (a new demo session and new "
                "links each start); set PEERCIRCLE_TOKEN_SECRET and PEERCIRCLE_STORE=redis "
                "to keep sessions and links across restarts.",
                file=out,
            )
    out.flush()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    # Stop cleanly on SIGTERM (containers, process managers) as on Ctrl-C.
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
        # Readiness says "draining" at once, so a load balancer sends no new sessions;
        # with several nodes this node's sessions go to the others and their people
        # are sent there (within PEERCIRCLE_DRAIN_TIMEOUT_S); the process goes on
        # serving (redirects, forwarded calls) for PEERCIRCLE_DRAIN_GRACE_S.
        app[READINESS].draining = True
        try:
            handed = await asyncio.wait_for(app[DRAIN].run(), settings.drain_timeout_s)
            logging.getLogger(__name__).info("drain: %d sessions handed over", handed)
        except TimeoutError:
            logging.getLogger(__name__).warning("drain: not done within the timeout")
        if settings.drain_grace_s > 0:
            logging.getLogger(__name__).info("draining for %.0f s", settings.drain_grace_s)
            await asyncio.sleep(settings.drain_grace_s)
    finally:
        await runner.cleanup()


def main(argv: list[str] | None = None) -> None:
    """Entry point."""
    parser = argparse.ArgumentParser(prog="peercircle", description=__doc__)
    parser.add_argument("--host", help="address to listen on (PEERCIRCLE_HOST)")
    parser.add_argument("--port", type=int, help="port to listen on (PEERCIRCLE_PORT)")
    parser.add_argument("--no-demo", action="store_true", help="do not create a demo session")
    args = parser.parse_args(argv)
    settings = load_settings()
    if args.host:
        settings = replace(settings, host=args.host)
    if args.port:
        settings = replace(settings, port=args.port)
    if not settings.admin_key:
        settings = replace(settings, admin_key=secrets.token_urlsafe(24))
        print(f"No PEERCIRCLE_ADMIN_KEY set; this run's admin key: {settings.admin_key}")
    configure_logging(settings.log_level, settings.log_format)
    logging.getLogger("aioice").setLevel(logging.WARNING)
    try:
        asyncio.run(serve(settings, demo=not args.no_demo))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
