"""A persistent index (--index) end to end: A then B against one index removes from B what
A+B as one run removes from B; a fresh index changes no output byte; resume and kill -9
leave the index as one uninterrupted run would."""

from __future__ import annotations

import json
import os
from pathlib import Path
import random
import shutil
import signal
import subprocess
import sys
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
import pytest

from cleaner.api import clean
from cleaner.config import Config
from cleaner.errors import Interrupted, UsageError
from tests.helpers import SHARED, needs_shared, stop_after
from tests.incremental import corpus, options, removed, split_and_whole, tree_digest, without_runs, write_docs

BBC = SHARED / "data" / "bbc"


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10**6), sizes=st.tuples(st.integers(1, 25), st.integers(1, 25)))
def test_a_then_b_removes_from_b_what_one_run_of_a_and_b_removes(tmp_path_factory, seed, sizes):
    tmp = tmp_path_factory.mktemp("ab")
    docs = corpus(seed, sum(sizes))
    got, want, out_b, out_ab = split_and_whole(tmp, docs[:sizes[0]], docs[sizes[0]:], str(tmp / "index"))
    assert without_runs(got, "A") == want
    assert tree_digest(out_b / "b") == tree_digest(out_ab / "b")  # the same kept text, byte for byte


@needs_shared(BBC)
def test_bbc_split_in_two_against_an_index_equals_one_run(tmp_path):
    files = sorted(BBC.glob("*/*.txt"))
    for i, path in enumerate(files):
        half = "a" if i < len(files) // 2 else "b"
        for root in (half.upper(), "AB"):
            target = tmp_path / root / half / f"{path.parent.name}_{path.name}"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes())
    config, index = Config(), str(tmp_path / "index")
    clean(tmp_path / "A", tmp_path / "outA", config, options(index, "A"))
    clean(tmp_path / "B", tmp_path / "outB", config, options(index, "B"))
    clean(tmp_path / "AB", tmp_path / "outAB", config, options(None))
    got = removed(tmp_path / "outB")
    want = [r for r in removed(tmp_path / "outAB") if r["source"].startswith("b/")]
    assert sum("run" in (r["duplicate_of"] or {}) for r in got) > 10  # BBC repeats articles across halves
    assert without_runs(got, "A") == want


def test_a_fresh_index_changes_no_output_byte(tmp_path):
    write_docs(tmp_path / "in", "a", corpus(7, 40))
    clean(tmp_path / "in", tmp_path / "plain", Config(), options(None))
    clean(tmp_path / "in", tmp_path / "indexed", Config(), options(str(tmp_path / "index"), "first"))
    assert tree_digest(tmp_path / "plain") == tree_digest(tmp_path / "indexed")
    assert removed(tmp_path / "plain")  # the corpus has repeats: the comparison is not of empty logs


def manifest_content(index: Path) -> dict:
    """What a manifest says apart from when runs were made and the segments' random names."""
    manifest = json.loads((index / "manifest.json").read_text())
    for run in manifest["runs"]:
        run.pop("created")
    for segments in manifest["segments"].values():
        for segment in segments:
            segment.pop("path")
    return manifest


def test_resume_gives_the_same_output_and_index_as_one_run(tmp_path):
    write_docs(tmp_path / "A", "a", corpus(3, 30))
    write_docs(tmp_path / "B", "b", corpus(4, 60))
    index = tmp_path / "index"
    clean(tmp_path / "A", tmp_path / "outA", Config(), options(str(index), "A"))
    shutil.copytree(index, tmp_path / "copy")
    clean(tmp_path / "B", tmp_path / "whole", Config(), options(str(tmp_path / "copy"), "B"))
    with pytest.raises(Interrupted):
        clean(tmp_path / "B", tmp_path / "outB", Config(), options(str(index), "B", stop=stop_after(25)))
    assert [r["id"] for r in manifest_content(index)["runs"]] == ["A"]  # nothing of B before B commits
    clean(tmp_path / "B", tmp_path / "outB", Config(), options(str(index), resume=True))
    assert tree_digest(tmp_path / "outB") == tree_digest(tmp_path / "whole")
    assert manifest_content(index) == manifest_content(tmp_path / "copy")


def test_a_resume_whose_spills_another_run_dropped_is_refused_and_the_index_stays_whole(tmp_path):
    """B spills and is interrupted; C begins on the index (dropping B's unpublished spills)
    and is interrupted too: resuming B says its entries are gone (not that the index is
    damaged), changes nothing, and B run again from the start gives B's output."""
    for name, seed, n in (("A", 3, 30), ("B", 4, 60), ("C", 5, 20)):
        write_docs(tmp_path / name, name.lower(), corpus(seed, n))
    index = tmp_path / "index"
    clean(tmp_path / "A", tmp_path / "outA", Config(), options(str(index), "A"))
    shutil.copytree(index, tmp_path / "copy")
    clean(tmp_path / "B", tmp_path / "whole", Config(), options(str(tmp_path / "copy"), "B"))
    spilling = {"index_memory": 2000, "checkpoint_seconds": 0}
    with pytest.raises(Interrupted):
        clean(tmp_path / "B", tmp_path / "outB", Config(), options(str(index), "B", stop=stop_after(25), **spilling))
    assert any((index / "spill" / "B").iterdir())
    with pytest.raises(Interrupted):
        clean(tmp_path / "C", tmp_path / "outC", Config(), options(str(index), "C", stop=stop_after(10)))
    before = manifest_content(index)
    with pytest.raises(UsageError, match=r"run B's spilled index entries are gone.*--overwrite"):
        clean(tmp_path / "B", tmp_path / "outB", Config(), options(str(index), resume=True, **spilling))
    assert manifest_content(index) == before
    clean(tmp_path / "B", tmp_path / "outB", Config(), options(str(index), "B", overwrite=True))
    assert tree_digest(tmp_path / "outB") == tree_digest(tmp_path / "whole")


def test_another_config_or_format_is_refused_in_one_line(tmp_path):
    write_docs(tmp_path / "A", "a", corpus(5, 10))
    index = tmp_path / "index"
    clean(tmp_path / "A", tmp_path / "outA", Config(), options(str(index), "A"))
    before = (index / "manifest.json").read_bytes()
    run = subprocess.run([sys.executable, "-m", "cleaner", "clean", str(tmp_path / "A"), str(tmp_path / "o2"),
                          "--index", str(index), "--num-perm", "64", "-q"], capture_output=True, text=True)
    assert run.returncode == 2 and "num_perm=128" in run.stderr and "num_perm=64" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1 and not (tmp_path / "o2").exists()
    manifest = json.loads(before)
    manifest["format"] = 99
    (index / "manifest.json").write_text(json.dumps(manifest))
    run = subprocess.run([sys.executable, "-m", "cleaner", "index", str(index), "info"], capture_output=True, text=True)
    assert run.returncode == 2 and "format 99" in run.stderr


def test_a_second_run_on_the_same_index_is_refused_while_the_first_holds_it(tmp_path):
    from cleaner.dedup.store import open_store

    holder = open_store(str(tmp_path / "index"), Config())
    holder.begin("first", keep_staged=False)
    try:
        write_docs(tmp_path / "A", "a", corpus(5, 5))
        with pytest.raises(Exception, match="in use by another run"):
            clean(tmp_path / "A", tmp_path / "outA", Config(), options(str(tmp_path / "index"), "second"))
    finally:
        holder.close()


def _cleaner(src: Path, dst: Path, index: Path, *more: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "cleaner", "clean", str(src), str(dst), "--index", str(index),
                             "--workers", "1", "--run-id", "B", "-q", *more],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _kill_when(run: subprocess.Popen, ready) -> bool:
    """SIGKILL `run` as soon as `ready()` holds; False if it ended first."""
    while run.poll() is None:
        if ready():
            os.kill(run.pid, signal.SIGKILL)
            run.wait()
            return True
    return False


def test_kill_9_during_the_commit_leaves_the_index_as_before_or_after(tmp_path):
    write_docs(tmp_path / "A", "a", corpus(11, 40))
    write_docs(tmp_path / "B", "b", corpus(12, 80))
    index = tmp_path / "index"
    clean(tmp_path / "A", tmp_path / "outA", Config(), options(str(index), "A"))
    pristine = tmp_path / "pristine"
    shutil.copytree(index, pristine)
    shutil.copytree(index, tmp_path / "copy")
    clean(tmp_path / "B", tmp_path / "whole", Config(), options(str(tmp_path / "copy"), "B"))
    before, after = manifest_content(pristine), manifest_content(tmp_path / "copy")
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "cleaner", "index", str(pristine), "info"], check=True, capture_output=True)
    startup = time.monotonic() - started
    rng, kills, in_commit, published = random.Random(0), 0, 0, 0
    # "staging": kill as soon as a segment of B appears (its commit has begun: prepare,
    # then publish, then _SUCCESS); "published": as soon as the manifest names B (between
    # publish and _SUCCESS); up to 8 tries each, as the windows are milliseconds; a number:
    # after that many seconds, around when the run commits (it starts like `index info`).
    delays = ["staging"] * 8 + ["published"] * 8 + [rng.uniform(0.8, 2.5) * startup for _ in range(4)]
    manifest = index / "manifest.json"
    for delay in delays:
        if (delay == "staging" and in_commit) or (delay == "published" and published):
            continue
        shutil.rmtree(index)
        shutil.copytree(pristine, index)
        shutil.rmtree(tmp_path / "outB", ignore_errors=True)
        start = time.monotonic()
        triggers = {"staging": lambda: any((index / "segments").glob("B.*")),
                    "published": lambda: b'"id": "B"' in manifest.read_bytes()}
        killed = _kill_when(_cleaner(tmp_path / "B", tmp_path / "outB", index),
                            triggers.get(delay, lambda d=delay, s=start: time.monotonic() - s > d))
        state = manifest_content(index)
        assert state in (before, after), "the index is neither as before nor as after the run"
        if killed:
            kills += 1
            unfinished = not (tmp_path / "outB" / ".cleaner" / "_SUCCESS").exists()
            in_commit += unfinished and (state == after or any((index / "segments").glob("B.*")))
            published += unfinished and state == after
            run = _cleaner(tmp_path / "B", tmp_path / "outB", index, "--resume")
            assert run.wait() == 0
        assert manifest_content(index) == after
        assert tree_digest(tmp_path / "outB") == tree_digest(tmp_path / "whole")
    assert kills >= 2 and in_commit >= 1, (kills, in_commit, published)
