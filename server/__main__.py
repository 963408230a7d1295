"""`python -m server`: run one PeerCircle process and print where to open it."""

from __future__ import annotations

import argparse
import asyncio
import logging
import secrets
import signal
import sys
from dataclasses import replace

from aiohttp import web

from .api import mint_link
from .app import REGISTRY, SIGNER, build_app
from .config import Settings, load_settings
from .domain.roles import Role

DEMO_PEOPLE = (
    ("Dr. Rivera", Role.THERAPIST),
    ("Alex", Role.PATIENT),
    ("Sam", Role.PATIENT),
    ("Jordan", Role.PATIENT),
)


async def serve(settings: Settings, demo: bool) -> None:
    """Start the server; with `demo`, create a session and print join links for it."""
    app = build_app(settings)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port)
    await site.start()
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
            link = mint_link(
                settings, app[SIGNER], host.session.id, {"name": name, "role": role.value}
            )
            print(f"  {name:<11} ({role.value}): {link['url']}", file=out)
    out.flush()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    # Stop cleanly on SIGTERM (containers, process managers) as on Ctrl-C.
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
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
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("aioice").setLevel(logging.WARNING)
    try:
        asyncio.run(serve(settings, demo=not args.no_demo))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
