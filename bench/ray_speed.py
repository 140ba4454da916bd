"""Ray (two local nodes, one CPU each) against the process pool (--workers 2), interleaved.

Starts the same two-node cluster as `make test-ray` (ray start on 127.0.0.1, stopped by
pid), then for each corpus runs, `--repeat` times in turn, `cleaner clean --workers 2` and
`cleaner clean --executor ray --ray-address ...`, and prints the medians of wall seconds,
CPU seconds, and the driver's own CPU seconds (for the pool: with its workers). CPU of a
Ray run = the driver's process tree plus what the cluster's own processes (raylets, GCS,
workers: none is the driver's child) used during the run.

    .venv/bin/python bench/ray_speed.py [--corpora bbc,reuters,PATH...] [--repeat 3]
"""

from __future__ import annotations

import argparse
from pathlib import Path
import statistics
import sys
import tempfile
import threading

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "bench"), str(ROOT)]

from measure import TICKS, run  # noqa: E402

from tests.run.test_ray_executor import BBC, REUTERS, Cluster, descendants  # noqa: E402

CLEANER = ROOT / ".venv" / "bin" / "cleaner"


def cluster_cpu(cluster: Cluster) -> dict[int, float]:
    """User + system seconds so far of each cluster process (with its reaped children)."""
    seen = {}
    for pid in cluster.pids | descendants(cluster.pids):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        seen[pid] = sum(int(f) for f in fields[11:15]) / TICKS
    return seen


class ClusterCpu:
    """CPU seconds the cluster's processes use while it watches: sampled every 50 ms, so a
    worker that starts and exits within the run counts (up to its last 50 ms) even if its
    parent never reaps it."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster, self.start = cluster, cluster_cpu(cluster)
        self.last = dict(self.start)
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()

    def _watch(self) -> None:
        while not self.done.wait(0.05):
            self.last.update(cluster_cpu(self.cluster))

    def stop(self) -> float:
        self.done.set()
        self.thread.join()
        self.last.update(cluster_cpu(self.cluster))
        return sum(seconds - self.start.get(pid, 0.0) for pid, seconds in self.last.items())


def one_run(src: Path, extra: list[str], cluster: Cluster | None) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds in all, and CPU seconds of the driver's process tree."""
    with tempfile.TemporaryDirectory() as tmp:
        watch = ClusterCpu(cluster) if cluster else None
        measured = run([str(CLEANER), "clean", str(src), str(Path(tmp) / "out"), "-q", *extra])  # os.environ
        used = watch.stop() if watch else 0.0
    if measured.returncode != 0:
        raise SystemExit(f"bench: {extra}: {measured.stderr.strip()}")
    return measured.seconds, measured.cpu_seconds + used, measured.cpu_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpora", default="bbc,reuters", help="bbc, reuters or paths, comma-separated")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    cluster = Cluster()
    try:
        cluster.start()
        ways = {"processes --workers 2": (["--workers", "2"], None),
                "ray, two nodes x 1 CPU": (["--executor", "ray", "--ray-address", cluster.address], cluster)}
        print("| corpus | executor | wall s | CPU s | of which the driver's | runs |\n|---|---|---|---|---|---|")
        for name in args.corpora.split(","):
            src = {"bbc": BBC, "reuters": REUTERS}.get(name) or Path(name)
            times: dict[str, list[tuple[float, float, float]]] = {way: [] for way in ways}
            for _ in range(args.repeat):
                for way, (extra, on) in ways.items():
                    times[way].append(one_run(src, extra, on))
            for way, got in times.items():
                wall, cpu, driver = (statistics.median(column) for column in zip(*got, strict=True))
                print(f"| {name} | {way} | {wall:.1f} | {cpu:.1f} | {driver:.1f} | {len(got)} |", flush=True)
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()
