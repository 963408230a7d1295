"""Side-by-side forwarding benchmark: PeerCircle against Janus's VideoRoom, same lean load.

For each room size N, each server in turn: start it, start the lean load generators
(`bench.forwarding.lean_gen`, one or two processes, each some of the participants), wait until
every stream flows, warm up, then measure one window: the server's CPU from /proc,
frames delivered and one-way latency from the packets' trailers. Run it as root from
the repository root, in a fresh network namespace (a dummy interface `d0` is added
there for Janus's ICE; no packet can leave the machine):

    unshare -n bash -c 'ip link set lo up && .venv/bin/python -m bench.forwarding.side_by_side'
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.common.paths import OUT_DIR, REPO_ROOT
from bench.common.procstat import CpuSample, drops_between, process_cpu_s, process_rss_mb
from bench.forwarding.lean_results import (
    Figures,
    SideResult,
    delivery,
    merged_latency,
    percentile,
    table,
)
from bench.forwarding.servers import (
    JANUS_ROOM,
    BenchServer,
    JanusServer,
    PeerCircleServer,
    open_log,
)

DUMMY, PEER = "d0", "d1"
DUMMY_ADDRESS = "10.99.0.1/24"  # inside this namespace only; traffic to it stays on the host


class RunAborted(Exception):
    """The run cannot go on."""


def prepare_namespace() -> None:
    """Refuse to run outside a fresh namespace; add the interface Janus needs.

    The kernel here has no `dummy` driver, so it is a veth pair whose both ends live
    in this namespace: an address on d0 is local, so its traffic goes through lo.
    """
    names = [name for _index, name in socket.if_nameindex()]
    if names == ["lo"]:
        for command in (
            ["ip", "link", "add", DUMMY, "type", "veth", "peer", "name", PEER],
            ["ip", "addr", "add", DUMMY_ADDRESS, "dev", DUMMY],
            ["ip", "link", "set", DUMMY, "up"],
            ["ip", "link", "set", PEER, "up"],
        ):
            subprocess.run(command, check=True)
        return
    if sorted(names) != sorted(["lo", DUMMY, PEER]):
        sys.exit(
            f"network interfaces {names}: run inside a fresh network namespace, e.g.\n"
            "  unshare -n bash -c 'ip link set lo up && "
            ".venv/bin/python -m bench.forwarding.side_by_side'"
        )


class Generator:
    """One `bench.forwarding.lean_gen` process and its JSON-lines conversation."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        assert process.stdin is not None and process.stdout is not None
        self.stdin, self.stdout = process.stdin, process.stdout

    def send(self, message: dict[str, Any]) -> None:
        """One line to the generator."""
        self.stdin.write(json.dumps(message).encode() + b"\n")

    async def expect(self, name: str, within: float) -> dict[str, Any]:
        """The generator's next line, which must be event `name`."""
        try:
            line = await asyncio.wait_for(self.stdout.readline(), within)
        except TimeoutError as exc:
            raise RunAborted(f"no {name} from a load generator within {within:.0f} s") from exc
        if not line:
            raise RunAborted(f"a load generator exited before {name}")
        event: dict[str, Any] = json.loads(line)
        if event.get("event") != name:
            raise RunAborted(f"expected {name}, got {event.get('event')}")
        return event

    async def finish(self) -> None:
        """Close stdin; kill it if it lingers."""
        with contextlib.suppress(OSError, RuntimeError):
            self.stdin.close()
        try:
            await asyncio.wait_for(self.process.wait(), 20)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()


async def start_generators(
    server: BenchServer, n: int, screen: bool, args: argparse.Namespace, logs: Path
) -> list[Generator]:
    """One generator for small rooms, two (slots split) from N = 6."""
    if isinstance(server, PeerCircleServer):
        tokens = await server.tokens(n, therapists=1 if screen else 0)
    else:
        tokens = await server.tokens(n)
    groups = 2 if n >= 6 else 1
    generators = []
    for g in range(groups):
        slots = list(range(g, n, groups))
        plan = {
            "server": "janus" if isinstance(server, JanusServer) else "peercircle",
            "base_url": server.base_url,
            "n": n,
            "slots": slots,
            "tokens": [tokens[s] for s in slots],
            "room": JANUS_ROOM,
            "screen_slot": 0 if screen else None,
            "ready_timeout_s": args.ready_timeout,
        }
        log = open_log(logs / f"lean-gen-{server.label}-{n}{'s' if screen else ''}-{g}.log")
        try:
            process = await asyncio.create_subprocess_exec(
                *args.gen_prefix,
                sys.executable,
                "-m",
                "bench.forwarding.lean_gen",
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=log,
                cwd=REPO_ROOT,
                limit=64 * 1024 * 1024,  # a result line holds latency histograms
            )
        finally:
            os.close(log)
        generator = Generator(process)
        generator.send(plan)
        generators.append(generator)
    return generators


async def sample_rss(pid: int, every_s: float, into: list[float]) -> None:
    """The server's RSS every `every_s` seconds (the soak's memory record)."""
    while True:
        into.append(round(process_rss_mb(pid), 1))
        print(f"  rss {into[-1]} MiB", file=sys.stderr, flush=True)
        await asyncio.sleep(every_s)


async def measure(
    server: BenchServer, n: int, screen: bool, args: argparse.Namespace
) -> SideResult:
    """One server, one room: a window of figures, or notes saying why not."""
    result = SideResult(server.label, n, screen)
    logs = Path(args.out) / "logs"
    generators: list[Generator] = []
    rss_task: asyncio.Task[None] | None = None
    await server.start()
    try:
        generators = await start_generators(server, n, screen, args, logs)
        connect_s = 40 + 3 * n
        published = [await g.expect("published", connect_s) for g in generators]
        feeds: dict[str, int] = {}
        for event in published:
            feeds.update(event["feeds"])
        for g in generators:
            g.send({"feeds": feeds})
        flowing = [await g.expect("flowing", connect_s + args.ready_timeout) for g in generators]
        missing = sum(int(f["missing_count"]) for f in flowing)
        seconds = max(float(f["seconds"]) for f in flowing)
        result.notes.append(
            f"{missing} streams not flowing after {seconds} s"
            if missing
            else f"all streams flowing {seconds} s after starting"
        )
        await asyncio.sleep(args.warmup)
        start_ns = time.time_ns() + 500_000_000
        end_ns = start_ns + int(args.window * 1e9)
        for g in generators:
            g.send({"window": [start_ns, end_ns]})
        pids = [g.process.pid for g in generators]
        await asyncio.sleep((start_ns - time.time_ns()) / 1e9)
        cpu0 = CpuSample.take(server.pid, pids[0])
        gen0 = sum(process_cpu_s(p) for p in pids)
        profiler = await start_profiler(server, n, screen, args)
        if args.rss_every:
            rss_task = asyncio.ensure_future(sample_rss(server.pid, args.rss_every, result.rss_mb))
        await asyncio.sleep((end_ns - time.time_ns()) / 1e9)
        cpu1 = CpuSample.take(server.pid, pids[0])
        gen1 = sum(process_cpu_s(p) for p in pids)
        if profiler is not None:
            await profiler.wait()
        if rss_task is not None:
            rss_task.cancel()
            result.rss_mb.append(round(process_rss_mb(server.pid), 1))
        reports = [await g.expect("result", args.window + 30) for g in generators]
        result.figures = figures(n, reports, cpu0, cpu1, gen1 - gen0)
        for key in (
            "untagged",
            "unprotect_errors",
            "nacks_received",
            "keyframes_on_request",
            "send_failures",
            "early",
        ):
            total = sum(int(r[key]) for r in reports)
            if total:
                result.notes.append(f"{key} {total}")
        for kind, name in enumerate(("audio", "video", "screen")):
            histogram = merged_latency(reports, kind)
            if histogram:
                result.notes.append(
                    f"{name} latency p50 {percentile(histogram, 0.5):.2f} "
                    f"p99 {percentile(histogram, 0.99):.2f} ms"
                )
        result.notes.append(f"server RSS at the end {process_rss_mb(server.pid):.0f} MiB")
    except (RunAborted, OSError, RuntimeError, ValueError) as exc:
        result.notes.append(f"aborted: {exc}")
    finally:
        if rss_task is not None:
            rss_task.cancel()
        for g in generators:
            await g.finish()
        await server.stop()
    return result


async def start_profiler(
    server: BenchServer, n: int, screen: bool, args: argparse.Namespace
) -> asyncio.subprocess.Process | None:
    """py-spy on the server for `--profile` seconds of the window (raw, for flame graphs)."""
    if not args.profile or not isinstance(server, PeerCircleServer):
        return None
    out = Path(args.out) / f"profile-{server.label}-{n}{'s' if screen else ''}.txt"
    return await asyncio.create_subprocess_exec(
        str(Path(sys.executable).with_name("py-spy")),
        "record",
        "--nonblocking",
        "-r",
        "200",
        "-f",
        "raw",
        "-d",
        str(int(args.profile)),
        "-p",
        str(server.pid),
        "-o",
        str(out),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )


def figures(
    n: int, reports: list[dict[str, Any]], cpu0: CpuSample, cpu1: CpuSample, loadgen_s: float
) -> Figures:
    """The row of the table."""
    wall = cpu1.wall - cpu0.wall
    server_s = cpu1.server_s - cpu0.server_s
    delivered, worst, video, packets = delivery(n, reports)
    histogram = merged_latency(reports)
    top = max(histogram) if histogram else 0
    return Figures(
        cpu_cores=server_s / wall,
        cpu_us_per_packet=1e6 * server_s / packets if packets else float("nan"),
        packets_per_s=packets / wall,
        delivered=delivered,
        worst_pair=worst,
        video_delivered=video,
        latency_p50_ms=percentile(histogram, 0.5),
        latency_p99_ms=percentile(histogram, 0.99),
        latency_max_ms=(top + 1) * 0.02,
        loadgen_cores=loadgen_s / wall,
        other_cores=(cpu1.host_s - cpu0.host_s - server_s - loadgen_s) / wall,
        server_udp_drops=drops_between(cpu0.server_udp_drops, cpu1.server_udp_drops),
        loadgen_udp_drops=drops_between(cpu0.loadgen_udp_drops, cpu1.loadgen_udp_drops),
    )


def _server(name: str, n: int, screen: bool, out: Path) -> BenchServer:
    log = out / "logs" / f"{name}-{n}{'s' if screen else ''}.log"
    return PeerCircleServer(log) if name == "PeerCircle" else JanusServer(log)


async def run(args: argparse.Namespace) -> list[SideResult]:
    """Every room size (and N + screen), each server in turn, `--repeat` times."""
    results = []
    rooms = [(n, False) for n in args.sizes] + [(n, True) for n in args.screen_sizes]
    for _ in range(args.repeat):
        for n, screen in rooms:
            for name in args.servers:
                started = time.monotonic()
                result = await measure(_server(name, n, screen, Path(args.out)), n, screen, args)
                print(
                    f"N={n}{' + screen' if screen else ''} {name}: "
                    f"{time.monotonic() - started:.0f} s; " + "; ".join(result.notes),
                    file=sys.stderr,
                    flush=True,
                )
                results.append(result)
    return results


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line flags."""
    parser = argparse.ArgumentParser(prog="bench.forwarding.side_by_side", description=__doc__)
    parser.add_argument("--sizes", type=_ints, default=[2, 6, 10, 15])
    parser.add_argument("--screen-sizes", type=_ints, default=[15], help="N with a screen share")
    parser.add_argument("--servers", type=lambda s: s.split(","), default=["PeerCircle", "Janus"])
    parser.add_argument("--window", type=float, default=60.0, help="measuring window, s")
    parser.add_argument("--warmup", type=float, default=5.0, help="after all streams flow, s")
    parser.add_argument("--ready-timeout", type=float, default=30.0, help="for all streams, s")
    parser.add_argument("--repeat", type=int, default=1, help="run everything this many times")
    parser.add_argument("--profile", type=float, default=0.0, help="py-spy PeerCircle, s")
    parser.add_argument("--rss-every", type=float, default=0.0, help="log server RSS, s (soak)")
    parser.add_argument(
        "--gen-prefix", type=lambda s: s.split(), default=[], help="e.g. 'nice -n 10'"
    )
    parser.add_argument("--out", default=str(OUT_DIR), help="logs and side-by-side.json")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Entry point."""
    args = parse_args(argv)
    prepare_namespace()
    (Path(args.out) / "logs").mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(KeyboardInterrupt):
        results = asyncio.run(run(args))
        print(table(results))
        for r in results:
            if r.rss_mb:
                print(f"\nN={r.n} {r.server} RSS every {args.rss_every:.0f} s (MiB): {r.rss_mb}")
        stamp = time.strftime("%Y%m%d-%H%M%S")
        with open(Path(args.out) / f"side-by-side-{stamp}.json", "w") as f:
            json.dump(
                [vars(r) | {"figures": vars(r.figures) if r.figures else None} for r in results],
                f,
                indent=1,
            )


if __name__ == "__main__":
    main()
