"""Where a cleaner run's time goes: py-spy over the main process and its workers, summarised.

    python bench/profile.py CORPUS [--workers 2] [--svg bench/work/profile.svg]

Records `cleaner clean CORPUS DST -q --workers N` with `py-spy record --idle --subprocesses`
(py-spy from the bench venv: `bench/.venv/bin/pip install py-spy`) as collapsed stacks in
bench/work/profile.txt, then prints per process its samples, the share spent idle (waiting
on a queue, a pipe or a lock), and the functions with the most samples, self and inclusive
(cleaner's own). With --svg, a second run writes a flame graph there.
"""

from __future__ import annotations

import argparse
from collections import Counter, defaultdict
from pathlib import Path
import re
import subprocess
import sys
import tempfile

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "bench" / "work"
PY_SPY = ROOT / "bench" / ".venv" / "bin" / "py-spy"
IDLE = re.compile(r"^(?:\w+\.)?(wait|_exit_with_parent|_wait_for_tstate_lock|select|poll|recv|recv_bytes|_recv|"
                  r"_recv_bytes|read|acquire|sleep|get|_poll|accept|join)\b")


def record(corpus: Path, workers: int, out: Path, fmt: str) -> None:
    with tempfile.TemporaryDirectory(dir=WORK) as tmp:
        command = [str(PY_SPY), "record", "--idle", "--subprocesses", "--threads", "--rate", "50", "-f", fmt,
                   "-o", str(out), "--", str(ROOT / ".venv" / "bin" / "cleaner"), "clean", str(corpus),
                   str(Path(tmp) / "out"), "-q", "--workers", str(workers)]
        subprocess.run(command, check=False, stdout=subprocess.DEVNULL)


def load(path: Path) -> dict[str, list[tuple[list[str], int]]]:
    """Collapsed stacks by process and thread (the root frames of --subprocesses --threads)."""
    stacks: dict[str, list[tuple[list[str], int]]] = defaultdict(list)
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        frames, _, count = line.rpartition(" ")
        rest = frames.split(";")
        process = ""
        while rest and rest[0].startswith("process "):  # a worker's stack starts with its parent's frame
            process = rest.pop(0).split(":", 1)[0]
        thread = rest.pop(0) if rest and rest[0].startswith("thread ") else ""
        stacks[f"{process} {thread}"].append((rest, int(count)))
    return stacks


def summary(stacks: dict[str, list[tuple[list[str], int]]], top: int = 12) -> list[str]:
    lines = []
    total = sum(count for entries in stacks.values() for _, count in entries)
    for process, entries in sorted(stacks.items(), key=lambda item: -sum(c for _, c in item[1])):
        samples = sum(count for _, count in entries)
        own, inclusive = Counter(), Counter()
        idle = 0
        for frames, count in entries:
            leaf = frames[-1] if frames else "?"
            own[leaf] += count
            idle += count if IDLE.match(leaf) else 0
            for frame in set(frames):
                if "cleaner/" in frame:
                    inclusive[frame] += count
        lines.append(f"== {process}: {samples} samples ({samples / total:.0%} of all), idle {idle / samples:.0%}")
        lines += [f"  self {count / samples:6.1%}  {frame}" for frame, count in own.most_common(top)]
        lines += [f"  incl {count / samples:6.1%}  {frame}" for frame, count in inclusive.most_common(top)]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--svg", type=Path, default=None)
    parser.add_argument("--raw", type=Path, default=WORK / "profile.txt")
    parser.add_argument("--summary-only", action="store_true", help="summarise an existing --raw file")
    args = parser.parse_args()
    if not args.summary_only:
        if not PY_SPY.exists():
            sys.exit(f"profile: no {PY_SPY}; bench/.venv/bin/pip install py-spy")
        record(args.corpus, args.workers, args.raw, "raw")
        if args.svg:
            record(args.corpus, args.workers, args.svg, "flamegraph")
    print("\n".join(summary(load(args.raw))))


if __name__ == "__main__":
    main()
