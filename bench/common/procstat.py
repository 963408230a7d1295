"""CPU time, memory and UDP drops of processes, and host CPU, from /proc (Linux only)."""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of `pid`, all its threads included."""
    with open(f"/proc/{pid}/stat") as f:
        # The command name (field 2) may contain spaces; the fields after it do not.
        fields = f.read().rsplit(")", 1)[1].split()
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / CLOCK_TICKS


def process_rss_mb(pid: int) -> float:
    """Resident memory of `pid` in MiB (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except FileNotFoundError:
        pass
    return 0.0


def host_busy_s() -> float:
    """CPU seconds the whole machine has spent not idle since boot, over all cores."""
    with open("/proc/stat") as f:
        ticks = [int(v) for v in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal ...: idle and iowait are not busy.
    user, nice, system, _idle, _iowait, irq, softirq, steal = ticks[:8]
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS


def udp_drops(pid: int) -> dict[str, int]:
    """Datagrams the kernel dropped (full receive buffer) per UDP socket of `pid`, by inode.

    /proc/net/udp lists this network namespace's sockets with a drop counter; a
    socket belongs to `pid` if one of its file descriptors links to its inode.
    """
    inodes = set()
    with contextlib.suppress(FileNotFoundError):
        for fd in os.listdir(f"/proc/{pid}/fd"):
            with contextlib.suppress(OSError):
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
    drops = {}
    for table in ("/proc/net/udp", "/proc/net/udp6"):
        with contextlib.suppress(FileNotFoundError), open(table) as f:
            next(f)  # header
            for line in f:
                fields = line.split()
                if fields[9] in inodes:
                    drops[fields[9]] = int(fields[-1])
    return drops


def drops_between(before: dict[str, int], after: dict[str, int]) -> int:
    """Drops over an interval, over the sockets still open at its end."""
    return sum(count - before.get(inode, 0) for inode, count in after.items())


@dataclass(frozen=True)
class CpuSample:
    """One instant: wall clock, CPU seconds of the server and load generator, host busy
    time, and datagrams dropped on the server's and load generator's sockets."""

    wall: float
    server_s: float
    loadgen_s: float
    host_s: float
    server_udp_drops: dict[str, int]
    loadgen_udp_drops: dict[str, int]

    @classmethod
    def take(cls, server_pid: int, loadgen_pid: int) -> CpuSample:
        """Read everything at once (CPU first: the socket scan takes a millisecond)."""
        return cls(
            wall=time.monotonic(),
            server_s=process_cpu_s(server_pid),
            loadgen_s=process_cpu_s(loadgen_pid),
            host_s=host_busy_s(),
            server_udp_drops=udp_drops(server_pid),
            loadgen_udp_drops=udp_drops(loadgen_pid),
        )
