"""Acceptance loop for resume: kill `cleaner clean` with SIGKILL at random moments, resume
each time, and check that the final output is byte-identical to one uninterrupted run.

    python bench/kill_resume.py --src ../shared/data/bbc --kills 20
    python bench/kill_resume.py --src ../shared/data/reuters21578.jsonl.gz --kills 20
    python bench/kill_resume.py --src shards/ --glob '*.jsonl.zst' --kills 20

Each kill lands at a random moment of the work still left (the reference run's time, scaled by
the share of documents not yet behind the checkpoint, at least MIN_SHARE of it): every attempt
dies mid-work more often than it finishes, so the loop costs a few runs, not one per kill.
Compared: every file under DST, byte for byte; report.json and report.html without their `seconds`.
Exit status 0 when every comparison holds.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from cleaner.errors import UsageError
from cleaner.run.checkpoint import load_checkpoint

CLEANER = [sys.executable, "-m", "cleaner", "clean", "--quiet"]
MIN_SHARE = 0.5  # a resume's start-up (the checkpoint, the input skipped) stays inside every kill's span


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under `root` by relative path, report.json and report.html without their timing."""
    files = {}
    for path in sorted(root.rglob("*")):
        name = path.relative_to(root).as_posix()
        if path.is_file():
            data = path.read_bytes()
            if name == ".cleaner/report.json":
                report = json.loads(data)
                report.pop("seconds", None)
                data = json.dumps(report, sort_keys=True).encode()
            if name == ".cleaner/report.html":
                data = re.sub(rb'data-key="seconds">[^<]*<', b"<", data)
            files[name] = data
    return files


def differences(want: dict[str, bytes], got: dict[str, bytes]) -> list[str]:
    names = sorted(set(want) | set(got))
    return [f"{n}: {'missing' if n not in got else 'extra' if n not in want else 'differs'}"
            for n in names if want.get(n) != got.get(n)]


def done(dst: Path) -> int | str:
    """How many input documents the checkpoint in `dst` has behind it."""
    try:
        return load_checkpoint(dst / ".cleaner" / "checkpoint.pkl").documents
    except (AttributeError, OSError, UsageError):
        return "no"


def left(dst: Path, documents: int) -> float:
    """The share of the input not behind the checkpoint in `dst` (1 without one)."""
    behind = done(dst)
    return 1.0 if isinstance(behind, str) or not documents else max(0.0, 1 - behind / documents)


def run_killed(src: Path, dst: Path, options: list[str], after: float) -> tuple[bool, int]:
    """Start a resuming run; SIGKILL it after `after` seconds. (killed?, exit status)."""
    proc = subprocess.Popen([*CLEANER, "--resume", *options, str(src), str(dst)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        return False, proc.wait(timeout=after)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        return True, proc.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", type=Path, required=True)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--checkpoint-every", default="1")
    parser.add_argument("--glob", default=None, help="the runs' --glob (records in a folder: '*.jsonl.zst')")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    same = ["--glob", args.glob] if args.glob else []
    options = ["--checkpoint-every", args.checkpoint_every, *same]
    work = Path(tempfile.mkdtemp(prefix="kill-resume-"))
    try:
        started = time.monotonic()
        status = subprocess.run([*CLEANER, *same, str(args.src), str(work / "reference")]).returncode
        full = time.monotonic() - started
        print(f"reference run: exit {status}, {full:.1f}s")
        want = snapshot(work / "reference")
        documents = json.loads(want[".cleaner/report.json"])["documents"]["in"]
        dst, kills, attempts = work / "resumed", 0, 0
        while kills < args.kills:
            after = rng.uniform(0.05, full * max(left(dst, documents), MIN_SHARE))
            killed, code = run_killed(args.src, dst, options, after)
            attempts += 1
            kills += killed
            state = f"killed; checkpoint at {done(dst)} documents" if killed else f"finished (exit {code})"
            print(f"attempt {attempts}: SIGKILL at {after:.2f}s: {state}")
            if not killed:  # it finished before the kill: start over to keep killing
                problems = differences(want, snapshot(dst))
                if problems:
                    print("FAIL: a finished run differs from the reference")
                    for line in problems[:20]:
                        print("  " + line)
                    return 1
                shutil.rmtree(dst)
        code = subprocess.run([*CLEANER, "--resume", *options, str(args.src), str(dst)]).returncode
        problems = differences(want, snapshot(dst))
        print(f"final resume: exit {code} (reference {status}); {len(want)} files compared; "
              f"{kills} kills; {'IDENTICAL' if not problems else 'DIFFERENT'}")
        for line in problems[:20]:
            print("  " + line)
        return 1 if problems or code != status else 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
