"""Ray (two local nodes, one CPU each) against the process pool (--workers 2), interleaved.

Starts the same two-node cluster as `make test-ray` (ray start on 127.0.0.1, stopped by
pid), then for each corpus runs, `--repeat` times in turn, `cleaner clean --workers 2` and
`cleaner clean --executor ray --ray-address ...`, and prints the medians of wall and CPU
seconds. CPU of a Ray run = the driver's process tree plus what the cluster's own processes
(raylets, GCS, workers: none is the driver's child) used during the run.

    .venv/bin/python bench/ray_speed.py [--corpora bbc,reuters] [--repeat 3]
"""

from __future__ import annotations

import argparse
from pathlib import Path
import statistics
import sys
import tempfile

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "bench"), str(ROOT)]

from measure import TICKS, run  # noqa: E402

from tests.run.test_ray_executor import BBC, REUTERS, Cluster, descendants  # noqa: E402

CLEANER = ROOT / ".venv" / "bin" / "cleaner"


def cluster_cpu(cluster: Cluster) -> float:
    """User + system seconds so far of every cluster process, with its reaped children."""
    total = 0
    for pid in cluster.pids | descendants(cluster.pids):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(f) for f in fields[11:15])
    return total / TICKS


def one_run(src: Path, extra: list[str], cluster: Cluster | None) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        before = cluster_cpu(cluster) if cluster else 0.0
        measured = run([str(CLEANER), "clean", str(src), str(Path(tmp) / "out"), "-q", *extra])  # os.environ
        after = cluster_cpu(cluster) if cluster else 0.0
    if measured.returncode != 0:
        raise SystemExit(f"bench: {extra}: {measured.stderr.strip()}")
    return measured.seconds, measured.cpu_seconds + after - before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpora", default="bbc,reuters")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    cluster = Cluster()
    try:
        cluster.start()
        ways = {"processes --workers 2": (["--workers", "2"], None),
                "ray, two nodes x 1 CPU": (["--executor", "ray", "--ray-address", cluster.address], cluster)}
        print("| corpus | executor | wall s (median) | CPU s (median) | runs |\n|---|---|---|---|---|")
        for name in args.corpora.split(","):
            src = {"bbc": BBC, "reuters": REUTERS}[name]
            times: dict[str, list[tuple[float, float]]] = {way: [] for way in ways}
            for _ in range(args.repeat):
                for way, (extra, on) in ways.items():
                    times[way].append(one_run(src, extra, on))
            for way, got in times.items():
                print(f"| {name} | {way} | {statistics.median(w for w, _ in got):.1f} | "
                      f"{statistics.median(c for _, c in got):.1f} | {len(got)} |", flush=True)
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()
