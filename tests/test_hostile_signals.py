"""Hostile corpora through the command line (issue 16), under signals: a run stopped at any
moment, then resumed, ends as an uninterrupted run would; standard input stops at once."""

from __future__ import annotations

import json
from pathlib import Path
import random
import signal
import subprocess
import sys
import time

from tests.helpers import ROOT, without_timing, write_tree
from tests.test_hostile import OTHER, TEXT, cli


def test_sigterm_while_waiting_on_standard_input_stops_at_once_in_one_line(tmp_path: Path):
    """Standard input cannot be resumed and its read may wait for ever: the first signal
    stops the run (exit 143), and the folder is free for the next run."""
    run = subprocess.Popen([sys.executable, "-m", "cleaner", "clean", "--quiet", "-", str(tmp_path / "out")],
                           stdin=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    run.stdin.write((json.dumps({"id": "1", "text": TEXT}) + "\n").encode())
    run.stdin.flush()
    time.sleep(2)  # it now waits for the next line
    run.send_signal(signal.SIGTERM)
    try:
        status = run.wait(timeout=20)
    finally:
        run.kill()
        run.stdin.close()
    assert status == 143
    assert run.stderr.read().decode().strip().splitlines() == [
        "cleaner: interrupted by signal 15; the output is incomplete (standard input is not resumable)"]
    again = cli("--overwrite", "-", str(tmp_path / "out"), input=json.dumps({"id": "2", "text": OTHER}) + "\n")
    assert again.returncode == 0, again.stderr


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under `root`, the reports without their timing (what must equal a clean run)."""
    return {path.relative_to(root).as_posix(): without_timing(path.name, path.read_bytes())
            for path in sorted(p for p in root.rglob("*") if p.is_file())}


def sigterm_then_resume(src: Path, dst: Path, after: float) -> int:
    """Start a run, SIGTERM it after `after` seconds (if still running), then resume it to
    the end. The exit status of the interrupted run (143 when the signal stopped it)."""
    run = subprocess.Popen([sys.executable, "-m", "cleaner", "clean", "--quiet", "--checkpoint-every", "0",
                            str(src), str(dst)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)
    try:
        status = run.wait(timeout=after)
    except subprocess.TimeoutExpired:
        run.send_signal(signal.SIGTERM)
        status = run.wait(timeout=60)
    stderr = run.stderr.read().decode()
    assert "Traceback" not in stderr and len(stderr.strip().splitlines()) <= 1, stderr
    if status != 0:
        assert status == 143, stderr
        assert cli("--resume", str(src), str(dst)).returncode == 0
    return status


def hostile_corpus(root: Path, files: int, seed: int) -> Path:
    """Text files with exact and near copies across them, and templated lines."""
    rng = random.Random(seed)
    words = TEXT.split()
    tree = {}
    for i in range(files):
        paragraphs = [" ".join(rng.sample(words, len(words))) for _ in range(rng.randint(1, 4))]
        paragraphs.append(f"Document number {i} says hello to the world today.")
        tree[f"{i // 50:02d}/{i:04d}.txt"] = "\n\n".join(paragraphs)
    return write_tree(root, tree)


def test_sigterm_at_random_moments_then_resume_equals_an_uninterrupted_run(tmp_path: Path):
    src = hostile_corpus(tmp_path / "src", 400, seed=3)
    started = time.monotonic()
    assert cli(str(src), str(tmp_path / "reference")).returncode == 0
    full = time.monotonic() - started
    want = snapshot(tmp_path / "reference")
    rng, stopped = random.Random(16), 0
    for attempt in range(3):
        dst = tmp_path / f"run{attempt}"
        stopped += sigterm_then_resume(src, dst, rng.uniform(0.3, full)) == 143
        assert snapshot(dst) == want
    assert stopped, "no run was stopped by the signal: the moments were all too late"
