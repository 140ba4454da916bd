"""Run one command and measure it: wall time, and peak memory of its whole process tree."""

from __future__ import annotations

from dataclasses import dataclass, field
import os
from pathlib import Path
import subprocess
import threading
import time

SAMPLE_SECONDS = 0.05
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Measured:
    seconds: float
    cpu_seconds: float  # user + system time of the whole process tree
    peak_mb: float  # the largest sum, over the process and its children, of proportional set size
    max_rss_mb: float  # the largest resident set of any single process of the tree (from wait4)
    returncode: int
    stdout: str
    stderr: str
    stats: dict = field(default_factory=dict)  # what the tool reports it removed


def _children(pid: int) -> list[int]:
    found = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            found.extend(int(c) for c in (task / "children").read_text().split())
    except OSError:
        pass
    return found


def _memory_kb(pid: int) -> int:
    """Proportional set size (shared pages split among their users, so forked workers are not
    counted twice), or the resident set where the kernel has no smaps_rollup."""
    for name, key in (("smaps_rollup", "Pss:"), ("status", "VmRSS:")):
        try:
            for line in Path(f"/proc/{pid}/{name}").read_text().splitlines():
                if line.startswith(key):
                    return int(line.split()[1])
        except OSError:
            continue
    return 0


def _cpu_seconds(pid: int) -> float:
    """User + system time of the process itself so far (not of its children)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def sample_tree(root: int, cpu: dict[int, float]) -> int:
    """Memory of the tree now (kB); records each process's CPU time so far in `cpu`."""
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += _memory_kb(pid)
        cpu[pid] = max(cpu.get(pid, 0.0), _cpu_seconds(pid))
        todo.extend(_children(pid))
    return total


def run(command: list[str], cwd: Path | None = None) -> Measured:
    """Run `command`, sampling the memory of its process tree every SAMPLE_SECONDS."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    output: dict[str, str] = {}
    # Drain both pipes on threads, so a chatty child never blocks on a full pipe.
    readers = [threading.Thread(target=lambda k=key, s=stream: output.__setitem__(k, s.read()))
               for key, stream in (("out", process.stdout), ("err", process.stderr))]
    for reader in readers:
        reader.start()
    peak, cpu = 0, {}
    while True:
        peak = max(peak, sample_tree(process.pid, cpu))
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        time.sleep(SAMPLE_SECONDS)
    seconds = time.perf_counter() - started
    for reader in readers:
        reader.join()
    process.returncode = os.waitstatus_to_exitcode(status)
    # Sampled per process, so workers that their own parent never reaps (datatrove's, under a
    # forkserver) count too; a process loses at most its last SAMPLE_SECONDS.
    own = usage.ru_utime + usage.ru_stime
    return Measured(seconds, max(own, sum(cpu.values())), peak / 1024, usage.ru_maxrss / 1024,
                    process.returncode, output["out"], output["err"])
