"""`make bench-scale`: cleaner at scale on a generated corpus, against its previous release and the anchors.

Generates (once) bench/work/scale-<size>-s<seed>.jsonl.zst with bench/generate.py, and a
slice of it (the same seed at a smaller size: a prefix of the same articles). Runs, each
`--repeat` times, interleaved (A B C ... A B C ...), the median reported:

- on the full corpus: cleaner --workers 1 and 2, and the previous release (`--previous REV`,
  extracted with `git archive` into bench/work/previous-REV and installed into its own venv);
- on the slice: cleaner --workers 2 again and the anchors (naive, careful, datatrove), whose
  time at the full size is the slice's time scaled by size, marked as extrapolated.

Recall of the injected copies comes from each tool's removals against the generator's truth.
The tables go into bench/RESULTS.md as its "At scale" section (the other sections are kept).

    python bench/scale.py [--size 200MB] [--slice 20MB] [--repeat 3] [--previous fb33995]
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
import json
import os
from pathlib import Path
import shutil
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate import generate, parse_size, sidecars
from measure import Measured, run
from run import machine, versions
from scale_report import write_scale_section
from truth import recall, removed_ids

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
WORK = BENCH / "work"
CLEANER = ROOT / ".venv" / "bin" / "cleaner"


@dataclass
class Job:
    """One tool on one corpus; its runs' measurements and its recall."""

    label: str
    corpus: Path
    command: list[str]  # DST (or WORK) is appended
    kind: str  # "cleaner" (removed.jsonl in DST) or "anchor" (JSON counts on stdout)
    runs: list[Measured] = field(default_factory=list)
    loads: list[float] = field(default_factory=list)  # the 1-minute load average as each run started
    recall: dict = field(default_factory=dict)
    removed: int = 0
    error: str = ""

    def median(self, name: str) -> float:
        return statistics.median(getattr(m, name) for m in self.runs) if self.runs else 0.0


def corpus_for(size: int, seed: int) -> Path:
    """The generated corpus of `size` bytes, made now if missing."""
    path = WORK / f"scale-{size // 10**6}MB-s{seed}.jsonl.zst"
    if not path.exists() or not sidecars(path)[0].exists():
        print(f"scale: generating {path.name}", file=sys.stderr)
        print(json.dumps(generate(path, size, seed)), file=sys.stderr)
    return path


def previous_cleaner(rev: str) -> Path:
    """`cleaner` of commit `rev`, from `git archive` into bench/work/previous-REV, in its own venv."""
    home = WORK / f"previous-{rev}"
    binary = home / ".venv" / "bin" / "cleaner"
    if binary.exists():
        return binary
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(home)], input=archive, check=True)
    subprocess.run([sys.executable, "-m", "venv", str(home / ".venv")], check=True)
    subprocess.run([str(home / ".venv" / "bin" / "python"), "-m", "pip", "install", "--quiet", str(home)], check=True)
    return binary


def plan(args: argparse.Namespace, full: Path, part: Path | None) -> list[Job]:
    """Every job, in the order one round runs them."""
    jobs = [Job(f"cleaner --workers {w}", full, [str(CLEANER), "clean", str(full), "-q", "--workers", str(w)],
                "cleaner") for w in (2, 1)]
    if args.previous:
        old = str(previous_cleaner(args.previous))
        jobs += [Job(f"cleaner {args.previous} --workers {w}", full,
                     [old, "clean", str(full), "-q", "--workers", str(w)], "cleaner") for w in (2, 1)]
    target = part or full
    if part is not None:
        jobs.append(Job("cleaner --workers 2", part, [str(CLEANER), "clean", str(part), "-q", "--workers", "2"],
                        "cleaner"))
    scripts = {"naive": ["naive.py"], "careful": ["careful.py"],
               "datatrove": ["datatrove_anchor.py", "--workers", str(os.cpu_count() or 1)]}
    for name in [a for a in args.anchors.split(",") if a]:
        script, *options = scripts[name]
        jobs.append(Job(name, target, [args.anchor_python, str(BENCH / script), *options, str(target)], "anchor"))
    return jobs


def run_once(job: Job) -> None:
    """Run `job` once in a fresh output folder; the first successful run also scores recall."""
    with tempfile.TemporaryDirectory(dir=WORK) as tmp:
        dst = Path(tmp) / "out"
        load = os.getloadavg()[0]
        measured = run([*job.command, str(dst)])
        if measured.returncode not in (0, 1):
            job.error = (measured.stderr.strip().splitlines() or ["failed"])[-1]
            return
        job.runs.append(measured)
        job.loads.append(load)
        if job.recall:
            return
        if job.kind == "cleaner":
            removed = removed_ids(dst / ".cleaner" / "removed.jsonl")
        else:
            removed = json.loads(measured.stdout.strip().splitlines()[-1])["removed"]
        job.removed = len(removed)
        job.recall = recall(sidecars(job.corpus)[0], removed)


def rounds(jobs: list[Job], repeat: int) -> None:
    """`repeat` rounds, each running every job once in order (A B C A B C ...)."""
    for number in range(1, repeat + 1):
        for job in jobs:
            if job.error:
                continue
            run_once(job)
            last = job.runs[-1] if job.runs and not job.error else None
            state = f"{last.seconds:.1f} s wall, {last.cpu_seconds:.1f} s CPU" if last else f"failed: {job.error}"
            print(f"scale: round {number}/{repeat}: {job.label} on {job.corpus.name}: {state}", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=parse_size, default=parse_size("200MB"), help="generated corpus size")
    parser.add_argument("--slice", type=parse_size, default=parse_size("20MB"),
                        help="size the anchors run at (0: the full size)")
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--repeat", type=int, default=3, help="runs of every tool, interleaved; medians count")
    parser.add_argument("--previous", default="fb33995", help="the release to run side by side ('' for none)")
    parser.add_argument("--anchors", default="naive,careful,datatrove")
    parser.add_argument("--anchor-python", default=str(BENCH / ".venv" / "bin" / "python"))
    parser.add_argument("--output", type=Path, default=BENCH / "RESULTS.md")
    args = parser.parse_args()
    WORK.mkdir(exist_ok=True)
    full = corpus_for(args.size, args.seed)
    part = corpus_for(args.slice, args.seed) if 0 < args.slice < args.size else None
    before = machine()
    jobs = plan(args, full, part)
    rounds(jobs, args.repeat)
    info = {"machine": before, "load after": machine()["load"], "repeat": args.repeat,
            "command": " ".join(["python", "bench/scale.py", *sys.argv[1:]]),
            "cleaner": versions(str(ROOT / ".venv" / "bin" / "python"), ["cleaner", "numpy", "datasketch"]),
            "anchors": versions(args.anchor_python, ["datatrove", "datasketch", "ftfy", "numpy"]),
            "previous": args.previous, "full": full, "slice": part}
    save(jobs, WORK / "scale-runs.json")
    print(write_scale_section(jobs, info, args.output))


def save(jobs: list[Job], path: Path) -> None:
    """Every run's numbers, for a later look (the section shows medians)."""
    keep = ("seconds", "cpu_seconds", "peak_mb", "max_rss_mb")
    path.write_text(json.dumps([{"label": j.label, "corpus": j.corpus.name, "loads": j.loads, "recall": j.recall,
                                 "runs": [{k: getattr(m, k) for k in keep} for m in j.runs]} for j in jobs],
                               indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
