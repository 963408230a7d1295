"""Forwarding benchmark: PeerCircle's media plane against aiortc's MediaRelay, same load.

For each room size N, each server in turn: start it, run `bench.forwarding.loadgen` (N participants
publishing pre-encoded mic + camera to everyone else) in its own process, wait until
every stream flows, warm up, then measure one window: server CPU from /proc, frames
delivered from the load generator's counters. Loopback only; run it in a fresh
network namespace from the repository root:

    unshare -n bash -c 'ip link set lo up && .venv/bin/python -m bench.forwarding.mediarelay'
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any

from bench.common.paths import OUT_DIR, REPO_ROOT
from bench.common.procstat import CpuSample, process_rss_mb
from bench.forwarding.clips import load_clips
from bench.forwarding.results import RunResult, compute, table
from bench.forwarding.servers import BenchServer, PeerCircleServer, ReferenceServer, open_log

RSS_POLL_S = 0.5


class RunAborted(Exception):
    """The run cannot go on (server died, out of its memory bound, load generator stuck)."""


def check_loopback_only() -> None:
    """Refuse to run where traffic could leave the machine: only `lo` may exist."""
    names = [name for _index, name in socket.if_nameindex()]
    if names != ["lo"]:
        sys.exit(
            f"network interfaces {names}: run inside a fresh network namespace, e.g.\n"
            "  unshare -n bash -c 'ip link set lo up && "
            ".venv/bin/python -m bench.forwarding.mediarelay'"
        )


async def next_event(stream: asyncio.StreamReader, name: str, within: float) -> dict[str, Any]:
    """The load generator's next JSON line, which must be event `name`."""
    try:
        line = await asyncio.wait_for(stream.readline(), within)
    except TimeoutError as exc:
        raise RunAborted(f"no {name} from the load generator within {within:.0f} s") from exc
    if not line:
        raise RunAborted(f"load generator exited before {name}")
    event: dict[str, Any] = json.loads(line)
    if event.get("event") != name:
        raise RunAborted(f"expected {name}, got {event.get('event')}")
    return event


async def guard_memory(server: BenchServer, limit_mb: float, result: RunResult) -> None:
    """Kill the server if it outgrows `limit_mb` (a buffering relay can eat the machine)."""
    while True:
        rss = process_rss_mb(server.pid)
        result.server_rss_mb = max(result.server_rss_mb, rss)
        if rss > limit_mb:
            result.notes.append(f"aborted: server RSS {rss:.0f} MiB > {limit_mb:.0f} MiB")
            await server.stop()
            return
        await asyncio.sleep(RSS_POLL_S)


async def measure(server: BenchServer, n: int, args: argparse.Namespace) -> RunResult:
    """One server, one room size: a window of figures, or notes saying why not."""
    result = RunResult(server.label, n)
    logs = Path(args.out) / "logs"
    await server.start()
    guard = asyncio.ensure_future(guard_memory(server, args.max_rss_mb, result))
    loadgen: asyncio.subprocess.Process | None = None
    try:
        plan = {
            "base_url": server.base_url,
            "tokens": await server.tokens(n),
            "ready_timeout_s": args.ready_timeout,
            "warmup_s": args.warmup,
            "window_s": args.window,
        }
        log = open_log(logs / f"loadgen-{server.label}-{n}.log")
        try:
            loadgen = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bench.forwarding.loadgen",
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=log,
                cwd=REPO_ROOT,
            )
        finally:
            os.close(log)
        assert loadgen.stdin is not None and loadgen.stdout is not None
        loadgen.stdin.write(json.dumps(plan).encode() + b"\n")
        connect_s = 30 + n
        ready = await next_event(loadgen.stdout, "ready", connect_s + args.ready_timeout)
        if ready["missing"]:
            result.notes.append(
                f"{len(ready['missing'])} streams not flowing after {ready['seconds']} s"
            )
        else:
            result.notes.append(f"all streams flowing {ready['seconds']} s after joining")
        start = await next_event(loadgen.stdout, "window-start", args.warmup + 15)
        before = start["counters"]["keyframes_on_request"]
        result.notes.append(f"keyframes sent on request before the window {before}")
        cpu0 = CpuSample.take(server.pid, loadgen.pid)
        counters0 = await server.metrics()
        end = await next_event(loadgen.stdout, "window-end", args.window + 15)
        cpu1 = CpuSample.take(server.pid, loadgen.pid)
        counters1 = await server.metrics()
        loadgen.stdin.close()  # the load generator may disconnect now
        result.figures = compute(
            n,
            start["counters"],
            end["counters"],
            cpu0,
            cpu1,
            float(end["loop_lag_worst_s"]),
            counters0,
            counters1,
        )
        if end["counters"]["errors"]:
            result.notes.append(f"{end['counters']['errors']} protocol errors")
    except (RunAborted, OSError, RuntimeError) as exc:
        result.notes.append(f"aborted: {exc}")
    finally:
        guard.cancel()
        if loadgen is not None:
            if loadgen.stdin is not None:
                loadgen.stdin.close()
            try:
                await asyncio.wait_for(loadgen.wait(), 20)
            except TimeoutError:
                loadgen.kill()
                await loadgen.wait()
        await server.stop()
    return result


def _servers(n: int, args: argparse.Namespace) -> list[BenchServer]:
    logs = Path(args.out) / "logs"
    servers: list[BenchServer] = [PeerCircleServer(logs / f"PeerCircle-{n}.log")]
    if n <= args.reference_max_n:
        servers.append(ReferenceServer(logs / f"MediaRelay-{n}.log"))
    return servers


async def run(args: argparse.Namespace) -> list[RunResult]:
    """Every room size, PeerCircle then the reference, one after the other."""
    results: list[RunResult] = []
    for n in args.sizes:
        for server in _servers(n, args):
            started = time.monotonic()
            result = await measure(server, n, args)
            print(
                f"N={n} {server.label}: {time.monotonic() - started:.0f} s "
                + ("ok" if result.figures else "; ".join(result.notes)),
                file=sys.stderr,
                flush=True,
            )
            results.append(result)
        if n > args.reference_max_n:
            results.append(RunResult("MediaRelay", n, notes=["skipped (--reference-max-n)"]))
    return results


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line flags."""
    parser = argparse.ArgumentParser(prog="bench.forwarding.mediarelay", description=__doc__)
    parser.add_argument(
        "--sizes", type=lambda s: [int(x) for x in s.split(",")], default=[2, 4, 6, 10]
    )
    parser.add_argument("--window", type=float, default=15.0, help="measuring window, s")
    parser.add_argument("--warmup", type=float, default=5.0, help="after all streams flow, s")
    parser.add_argument(
        "--ready-timeout", type=float, default=20.0, help="wait for all streams at most, s"
    )
    parser.add_argument("--reference-max-n", type=int, default=10, help="largest N for it")
    parser.add_argument("--max-rss-mb", type=float, default=4096, help="kill a server beyond")
    parser.add_argument("--out", default=str(OUT_DIR), help="logs and results.json go here")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Entry point."""
    args = parse_args(argv)
    check_loopback_only()
    (Path(args.out) / "logs").mkdir(parents=True, exist_ok=True)
    audio, video = load_clips()  # encode once, here, before any load generator starts
    print(
        f"clips: VP8 {video.bitrate_kbps:.0f} kbps, keyframes every "
        f"{video.keyframes[1] if len(video.keyframes) > 1 else len(video.packets)} frames; "
        f"Opus {audio.bitrate_kbps:.0f} kbps",
        file=sys.stderr,
    )
    with contextlib.suppress(KeyboardInterrupt):
        results = asyncio.run(run(args))
        print(table(results))
        with open(Path(args.out) / "results.json", "w") as f:
            json.dump([_jsonable(r) for r in results], f, indent=1, default=vars)


def _jsonable(result: RunResult) -> dict[str, Any]:
    return {
        "server": result.server,
        "n": result.n,
        "figures": vars(result.figures) if result.figures else None,
        "notes": result.notes,
        "server_rss_mb": result.server_rss_mb,
    }


if __name__ == "__main__":
    main()
