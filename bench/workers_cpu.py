"""Who does the work: CPU seconds of the main process and of its workers, for --workers 1 and 2.

Runs `cleaner clean SRC` in this interpreter (so its own CPU is the main process's, and
the reaped worker processes' is RUSAGE_CHILDREN), `--repeat` times, interleaved, and
prints per run wall seconds, main CPU s, workers CPU s, the load average, then the medians
and two ratios: wall(--workers 1) / wall(--workers 2), and the same bounded by CPU alone,
w1 CPU / max(main CPU of w2, all CPU of w2 / 2): what two free cores would give. With
`--stages`, the main process's CPU by stage of the chain (the read of ordered units,
decide, write, ...), measured with `time.process_time` around each stage's generator.

    .venv/bin/python bench/workers_cpu.py bench/work/gen-50MB.jsonl.zst [--repeat 2] [--stages]
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Iterator
import json
import os
from pathlib import Path
import resource
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = Path(__file__).resolve().parent.parent


def one_run(src: Path, workers: int, stages: bool) -> dict:
    """A fresh interpreter per run, so that RUSAGE_CHILDREN holds only this run's workers."""
    code = f"import sys; sys.path.insert(0, {str(ROOT)!r}); from bench.workers_cpu import child; child()"
    out = subprocess.run([sys.executable, "-c", code, str(src), str(workers), "1" if stages else "0"],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def child() -> None:
    """In the child: run the CLI once, then print the measurements as a dict."""
    from cleaner.cli import main
    import cleaner.run.job as job

    src, workers, stages = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
    spent: dict[str, float] = {}
    if stages:
        job.compose = _timed_compose(job.compose, spent)
    with tempfile.TemporaryDirectory() as tmp:
        started = time.monotonic()
        main(["clean", src, str(Path(tmp) / "out"), "-q", "--workers", workers], standalone_mode=False)
        wall = time.monotonic() - started
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    print(json.dumps({"wall": wall, "main": me.ru_utime + me.ru_stime, "workers": kids.ru_utime + kids.ru_stime,
                      "load": os.getloadavg()[0], "stages": _exclusive(spent)}))


def _timed_compose(compose, spent: dict[str, float]):
    def timed(name: str, stream: Iterable) -> Iterator:
        it = iter(stream)
        while True:
            started = time.process_time()
            try:
                item = next(it)
            except StopIteration:
                return
            finally:
                spent[name] = spent.get(name, 0.0) + time.process_time() - started
            yield item

    def composed(records, *stages):
        stream = timed("00 read (w1: read and parse here; w2: plan units, wait, unpack)", records)
        for n, stage in enumerate(stages, 1):
            name = getattr(stage, "__qualname__", None) or type(stage).__name__
            stream = timed(f"{n:02d} {name}", stage(stream))
        return iter(stream)

    return composed


def _exclusive(spent: dict[str, float]) -> dict[str, float]:
    """Each stage's own time (a stage's generator time includes the stages before it)."""
    out, before = {}, 0.0
    for name in sorted(spent):
        out[name], before = round(spent[name] - before, 3), spent[name]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("src", type=Path)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--stages", action="store_true")
    args = parser.parse_args()
    runs: dict[int, list[dict]] = {1: [], 2: []}
    for _ in range(args.repeat):
        for workers in (1, 2):
            got = one_run(args.src, workers, args.stages)
            runs[workers].append(got)
            print(f"--workers {workers}: wall {got['wall']:.2f} s, main CPU {got['main']:.2f} s, "
                  f"workers CPU {got['workers']:.2f} s, load {got['load']:.1f}", flush=True)
            for name, seconds in got["stages"].items():
                print(f"    {seconds:7.2f} s  {name}")
    med = {w: {k: statistics.median(r[k] for r in rs) for k in ("wall", "main", "workers")} for w, rs in runs.items()}
    one, two = med[1], med[2]
    bound = (one["main"] + one["workers"]) / max(two["main"], (two["main"] + two["workers"]) / 2)
    print(f"medians: w1 wall {one['wall']:.2f} s CPU {one['main'] + one['workers']:.2f} s; "
          f"w2 wall {two['wall']:.2f} s, main {two['main']:.2f} s, workers {two['workers']:.2f} s")
    print(f"w2 / w1 speed-up: {one['wall'] / two['wall']:.2f}x by wall (this machine's load), "
          f"{bound:.2f}x by CPU on two free cores")


if __name__ == "__main__":
    main()
