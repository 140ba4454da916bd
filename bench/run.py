"""`make bench`: cleaner against the naive script and datatrove, on the same corpora, in one run.

For each shared corpus present (BBC folder, Reuters JSONL) at each scale (copies made by
bench/corpora.py), it runs cleaner with all cores and with --workers 1, cleaner with
--scope document (no cross-document index: the memory that must stay flat), at the Ray
scales cleaner --executor ray on a two-node local cluster (bench/ray_speed.py's; its CPU
counted too; skipped without Ray), and, at the anchor scales, bench/naive.py and
bench/datatrove_anchor.py. It prints the table and
writes it, with the machine and the versions, to bench/RESULTS.md.

    python bench/run.py --anchor-python bench/.venv/bin/python [--scales 1,4] [--repeat 2]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
from pathlib import Path
import platform
import shutil
import subprocess
import sys
import tempfile
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpora import Corpus, available, corpus
import index_report
from measure import Measured, run
from ray_speed import Cluster, ClusterCpu
from report import RAY_TOOL, Row, write_results

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
CLEANER = ROOT / ".venv" / "bin" / "cleaner"


def cleaner_row(target: Corpus, workers: int, scope: str, repeat: int, ray: Any = None) -> Row:
    """Best of `repeat` runs of `cleaner clean` (the fastest run's memory is reported); with
    `ray` (a started bench.ray_speed Cluster), on it, its processes' CPU counted too."""
    best: Measured | None = None
    tool = "cleaner" if ray is None else RAY_TOOL
    for _ in range(repeat):
        with tempfile.TemporaryDirectory(dir=BENCH / "work") as tmp:
            dst = Path(tmp) / "out"
            command = [str(CLEANER), "clean", str(target.path), str(dst), "-q", "--scope", scope]
            if workers:
                command += ["--workers", str(workers)]
            if ray is not None:
                command += ["--executor", "ray", "--ray-address", ray.address]
            watch = ClusterCpu(ray) if ray is not None else None
            measured = run(command)
            measured.cpu_seconds += watch.stop() if watch is not None else 0.0
            if measured.returncode not in (0, 1):
                return Row.skipped(target, tool, workers, scope, measured.stderr.strip().splitlines()[-1:])
            removed = removed_ids(dst / ".cleaner" / "removed.jsonl")
            report = json.loads((dst / ".cleaner" / "report.json").read_text())
            measured.stats = {"paragraphs_in": report["paragraphs"]["in"], "paragraphs_removed": len(removed),
                              "removed": removed}
            if best is None or measured.seconds < best.seconds:
                best = measured
    assert best is not None
    return Row.of(target, tool, workers, scope, best)


def removed_ids(log: Path) -> list[str]:
    """`id#paragraph` of every removed paragraph; a removed document counts all its paragraphs."""
    ids = []
    for record in map(json.loads, log.open(encoding="utf-8")):
        paragraphs = [record["paragraph"]] if "paragraph" in record else range(record.get("paragraphs", 1))
        ids.extend(f"{record['id']}#{index}" for index in paragraphs)
    return ids


def anchor_row(target: Corpus, tool: str, python: str) -> Row:
    with tempfile.TemporaryDirectory(dir=BENCH / "work") as tmp:
        if tool == "naive":
            command = [python, str(BENCH / "naive.py"), str(target.path), str(Path(tmp) / "out")]
        else:
            command = [python, str(BENCH / "datatrove_anchor.py"), str(target.path), str(Path(tmp) / "work"),
                       "--workers", str(os.cpu_count() or 1)]
        measured = run(command)
    if measured.returncode != 0:
        return Row.skipped(target, tool, 0, "corpus", measured.stderr.strip().splitlines()[-1:])
    measured.stats = json.loads(measured.stdout.strip().splitlines()[-1])
    return Row.of(target, tool, 0, "corpus", measured)


def versions(python: str, packages: list[str]) -> dict[str, str]:
    code = ("import importlib.metadata as m, json, sys; "
            "print(json.dumps({p: m.version(p) for p in sys.argv[1:]}))")
    try:
        return json.loads(subprocess.run([python, "-c", code, *packages], capture_output=True, text=True,
                                         check=True).stdout)
    except (OSError, subprocess.CalledProcessError, json.JSONDecodeError):
        return {}


def machine() -> dict[str, str]:
    cpu = platform.processor() or "?"
    with contextlib.suppress(OSError, StopIteration):
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    return {"cpu": cpu, "cores": str(os.cpu_count()), "os": platform.platform(),
            "python": platform.python_version(), "load": " ".join(f"{x:.2f}" for x in os.getloadavg())}


def corpus_rows(name: str, present: dict[str, Path], args: argparse.Namespace, cluster: Any) -> list[Row]:
    """Every row of one corpus, at each of its scales."""
    if name not in present:
        print(f"bench: skipping {name}: not in {Path('../shared/data')}", file=sys.stderr)
        return []
    rows: list[Row] = []
    for scale in (_scales(args.scales) if name in args.scaled_corpora.split(",") else [1]):
        target = corpus(name, present[name], scale, BENCH / "work")
        print(f"bench: {name} x{scale}: {target.documents} documents, {target.mb:.1f} MB", file=sys.stderr)
        plan = [(0, "corpus", None)] + ([(1, "corpus", None)] if scale in _scales(args.one_worker_scales) else [])
        plan += [(0, "document", None)] + ([(0, "corpus", cluster)] if cluster and scale in _scales(args.ray_scales)
                                           else [])
        for workers, scope, ray in plan:
            rows.append(cleaner_row(target, workers, scope, args.repeat, ray))
            print(rows[-1].line(), file=sys.stderr)
        if scale in _scales(args.anchor_scales):
            for tool in [a for a in args.anchors.split(",") if a]:
                rows.append(anchor_row(target, tool, args.anchor_python))
                print(rows[-1].line(), file=sys.stderr)
    return rows


def _scales(text: str) -> list[int]:
    return [int(s) for s in text.split(",") if s]


def start_ray() -> Any:
    """The two-node local cluster of `make test-ray`, started; None (and a note) without Ray."""
    try:
        import ray  # noqa: F401
    except ImportError:
        print("bench: no Ray row: Ray is not installed (pip install -e '.[ray]')", file=sys.stderr)
        return None
    cluster = Cluster()
    cluster.start()
    return cluster


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--anchor-python", default=str(BENCH / ".venv" / "bin" / "python"),
                        help="Python with datatrove, datasketch, ftfy (the bench venv)")
    parser.add_argument("--corpora", default="bbc,reuters", help="which shared corpora (those present)")
    parser.add_argument("--scales", default="1,4", help="corpus sizes, as multiples of the original")
    parser.add_argument("--scaled-corpora", default="bbc,reuters", help="corpora run at every scale; the others at x1")
    parser.add_argument("--anchor-scales", default="1", help="scales at which the anchors run too")
    parser.add_argument("--one-worker-scales", default="1", help="scales at which cleaner --workers 1 runs too")
    parser.add_argument("--anchors", default="naive,datatrove")
    parser.add_argument("--ray-scales", default="1",
                        help="scales at which cleaner also runs on a two-node local Ray cluster ('': none)")
    parser.add_argument("--repeat", type=int, default=1, help="runs of cleaner per row; the fastest counts")
    parser.add_argument("--output", type=Path, default=BENCH / "RESULTS.md")
    parser.add_argument("--index-sizes", default="20MB,200MB",
                        help="generated corpus sizes of the persistent-index RSS table ('': keep the old section)")
    parser.add_argument("--index-paragraphs", type=int, default=10_000_000,
                        help="committed paragraphs of the index lookup figures (0: none)")
    parser.add_argument("--redis-url", default=None, help="a Redis for the same figures (redis://127.0.0.1:PORT/0)")
    args = parser.parse_args()
    index_section = index_report.kept(args.output)
    (BENCH / "work").mkdir(exist_ok=True)
    before = machine()
    rows: list[Row] = []
    present = available()
    wanted = [name for name in args.corpora.split(",") if name]
    cluster = start_ray() if _scales(args.ray_scales) else None
    try:
        for name in wanted:
            rows += corpus_rows(name, present, args, cluster)
    finally:
        if cluster is not None:
            cluster.stop()
    info = {"machine": before, "load after": machine()["load"],
            "cleaner": versions(str(ROOT / ".venv" / "bin" / "python"),
                                ["cleaner", "datasketch", "ftfy", "numpy", "xxhash"]),
            "anchors": versions(args.anchor_python, ["datatrove", "datasketch", "ftfy", "numpy", "xxhash",
                                                     "tokenizers"]),
            "command": " ".join(["python", "bench/run.py", *sys.argv[1:]])}
    text = write_results(rows, info, args.output)
    subprocess.run([sys.executable, str(BENCH / "sentence_bench.py"), "--output", str(args.output)], check=False)
    print(text)
    if args.index_sizes or args.index_paragraphs:
        index_section = index_report.main_section(args.index_sizes, args.index_paragraphs, args.redis_url,
                                                  previous=index_section)
        print(index_section)
    if index_section:
        index_report.put_section(args.output, index_section)
    shutil.rmtree(BENCH / "work" / "tmp", ignore_errors=True)


if __name__ == "__main__":
    main()
