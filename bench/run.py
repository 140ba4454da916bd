"""`make bench`: cleaner against the naive script and datatrove, on the same corpora, in one run.

For each shared corpus present (BBC folder, Reuters JSONL) at each scale (copies made by
bench/corpora.py), it runs cleaner with all cores and with --workers 1, cleaner with
--scope document (no cross-document index: the memory that must stay flat), and, at the
anchor scales, bench/naive.py and bench/datatrove_anchor.py. It prints the table and
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

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpora import Corpus, available, corpus
from measure import Measured, run
from report import Row, write_results

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
CLEANER = ROOT / ".venv" / "bin" / "cleaner"


def cleaner_row(target: Corpus, workers: int, scope: str, repeat: int) -> Row:
    """Best of `repeat` runs of `cleaner clean` (the fastest run's memory is reported)."""
    best: Measured | None = None
    for _ in range(repeat):
        with tempfile.TemporaryDirectory(dir=BENCH / "work") as tmp:
            dst = Path(tmp) / "out"
            command = [str(CLEANER), "clean", str(target.path), str(dst), "-q", "--scope", scope]
            if workers:
                command += ["--workers", str(workers)]
            measured = run(command)
            if measured.returncode not in (0, 1):
                return Row.skipped(target, "cleaner", workers, scope, measured.stderr.strip().splitlines()[-1:])
            removed = removed_ids(dst / ".cleaner" / "removed.jsonl")
            report = json.loads((dst / ".cleaner" / "report.json").read_text())
            measured.stats = {"paragraphs_in": report["paragraphs"]["in"], "paragraphs_removed": len(removed),
                              "removed": removed}
            if best is None or measured.seconds < best.seconds:
                best = measured
    assert best is not None
    return Row.of(target, "cleaner", workers, scope, best)


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
    parser.add_argument("--repeat", type=int, default=1, help="runs of cleaner per row; the fastest counts")
    parser.add_argument("--output", type=Path, default=BENCH / "RESULTS.md")
    args = parser.parse_args()
    scales = [int(s) for s in args.scales.split(",")]
    anchor_scales = {int(s) for s in args.anchor_scales.split(",") if s}
    one_worker = {int(s) for s in args.one_worker_scales.split(",") if s}
    (BENCH / "work").mkdir(exist_ok=True)
    before = machine()
    rows: list[Row] = []
    present = available()
    wanted = [name for name in args.corpora.split(",") if name]
    for name in wanted:
        if name not in present:
            print(f"bench: skipping {name}: not in {Path('../shared/data')}", file=sys.stderr)
            continue
        for scale in (scales if name in args.scaled_corpora.split(",") else [1]):
            target = corpus(name, present[name], scale, BENCH / "work")
            print(f"bench: {name} x{scale}: {target.documents} documents, {target.mb:.1f} MB", file=sys.stderr)
            plan = [(0, "corpus")] + ([(1, "corpus")] if scale in one_worker else []) + [(0, "document")]
            for workers, scope in plan:
                rows.append(cleaner_row(target, workers, scope, args.repeat))
                print(rows[-1].line(), file=sys.stderr)
            if scale in anchor_scales:
                for tool in [a for a in args.anchors.split(",") if a]:
                    rows.append(anchor_row(target, tool, args.anchor_python))
                    print(rows[-1].line(), file=sys.stderr)
    info = {"machine": before, "load after": machine()["load"],
            "cleaner": versions(str(ROOT / ".venv" / "bin" / "python"),
                                ["cleaner", "datasketch", "ftfy", "numpy", "xxhash"]),
            "anchors": versions(args.anchor_python, ["datatrove", "datasketch", "ftfy", "numpy", "xxhash",
                                                     "tokenizers"]),
            "command": " ".join(["python", "bench/run.py", *sys.argv[1:]])}
    text = write_results(rows, info, args.output)
    print(text)
    shutil.rmtree(BENCH / "work" / "tmp", ignore_errors=True)


if __name__ == "__main__":
    main()
