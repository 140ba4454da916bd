"""Commit, accounting and resume: an interrupted run, resumed, equals one that never stopped."""

import json
import os
from pathlib import Path
import pickle
import random
import signal
import subprocess
import sys
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
import pytest

from cleaner import Config, clean_folder
from cleaner.errors import AccountingError, Interrupted, UsageError
from cleaner.io.sources import FolderSource
from cleaner.record import Document, Paragraph, Removal
from cleaner.run.accounts import Accounts
from tests.helpers import ROOT, without_timing, write_tree

WORDS = ("harbour council river budget storm bridge school market railway festival museum league "
         "minister hospital airport election winter summer rescue crews power homes valley").split()
SETTINGS = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def corpus(root: Path, documents: int, seed: int = 7) -> Path:
    """Documents of generated sentences that share paragraphs (exact and near copies) across
    files and inside them, with a file that is rejected and one that ends empty."""
    rng = random.Random(seed)
    shared = [" ".join(rng.choice(WORDS) for _ in range(14)) + "." for _ in range(12)]
    files: dict[str, str | bytes] = {}
    for i in range(documents):
        paragraphs = [f"Story {i}: " + " ".join(rng.choice(WORDS) for _ in range(12)) + "."]
        for _ in range(rng.randint(1, 5)):
            pick = rng.choice(shared)
            paragraphs.append(pick if rng.random() < 0.6 else pick.replace(".", " today."))
        files[f"{'abc'[i % 3]}/{i:03}.txt"] = "\n\n".join(paragraphs)
    files["b/bad.txt"] = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00" * 8  # binary: rejected
    files["c/only-shared.txt"] = shared[0]
    return write_tree(root, files)


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under `root`, byte for byte; report.json and report.html without their timing."""
    return {path.relative_to(root).as_posix(): without_timing(path.name, path.read_bytes())
            for path in sorted(root.rglob("*")) if path.is_file()}


class Stop(Exception):
    pass


def stop_after(k: int):
    seen = []

    def callback(doc: Document) -> None:
        seen.append(doc.source)
        if len(seen) == k:
            raise Stop(doc.source)

    return callback


def uninterrupted_run(tmp_path_factory, name: str, documents: int) -> tuple[Path, dict[str, bytes]]:
    """A corpus of `documents` files and the snapshot of one uninterrupted run over it."""
    root = tmp_path_factory.mktemp(name)
    src = corpus(root / "src", documents)
    clean_folder(src, root / "out", Config())
    return src, snapshot(root / "out")


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> tuple[Path, dict[str, bytes]]:
    return uninterrupted_run(tmp_path_factory, "reference", 40)


@SETTINGS
@given(st.lists(st.integers(1, 41), min_size=1, max_size=3), st.sampled_from([0.0, 1e9]))
def test_resume_from_any_interruption_points_equals_an_uninterrupted_run(
        tmp_path_factory, reference, stops, checkpoint_seconds):
    src, want = reference
    dst = tmp_path_factory.mktemp("resumed") / "out"
    for k in stops:  # k counts the documents of each resumed session; the last may finish
        try:
            clean_folder(src, dst, Config(), resume=True, on_document=stop_after(k),
                         checkpoint_seconds=checkpoint_seconds)
        except Stop:
            assert not (dst / ".cleaner/_SUCCESS").exists()
        else:
            break
    clean_folder(src, dst, Config(), resume=True, checkpoint_seconds=checkpoint_seconds)
    assert snapshot(dst) == want


@pytest.mark.parametrize("checkpoint_seconds", [0.0, 1e9])
def test_resume_keeps_the_first_pass_boilerplate_decisions(tmp_path: Path, checkpoint_seconds: float):
    src = corpus(tmp_path / "src", 30)
    config = Config(boilerplate_min_docs=3)
    clean_folder(src, tmp_path / "reference", config)
    with pytest.raises(Stop):
        clean_folder(src, tmp_path / "out", config, on_document=stop_after(17), checkpoint_seconds=checkpoint_seconds)
    clean_folder(src, tmp_path / "out", config, resume=True, checkpoint_seconds=checkpoint_seconds)
    want = snapshot(tmp_path / "reference")
    assert any(b'"boilerplate' in line for line in want[".cleaner/removed.jsonl"].splitlines())
    assert snapshot(tmp_path / "out") == want


def test_a_stop_request_checkpoints_and_resume_skips_what_was_done(tmp_path: Path, reference):
    src, want = reference
    done: list[str] = []
    with pytest.raises(Interrupted, match="SIGTERM after 10 documents") as stopped:
        clean_folder(src, tmp_path / "out", Config(), on_document=lambda d: done.append(d.source),
                     stop=lambda: signal.SIGTERM if len(done) == 10 else 0)
    assert stopped.value.signum == signal.SIGTERM
    again: list[str] = []
    clean_folder(src, tmp_path / "out", Config(), resume=True, on_document=lambda d: again.append(d.source))
    assert again[0] > done[-1] and len(done) + len(again) == 42  # not one document done twice
    assert snapshot(tmp_path / "out") == want


def test_success_marker_holds_config_manifest_and_counts(tmp_path: Path):
    src = corpus(tmp_path / "src", 6)
    report = clean_folder(src, tmp_path / "out", Config())
    success = json.loads((tmp_path / "out/.cleaner/_SUCCESS").read_text())
    assert success["config"] == Config().digest() and success["manifest"] == FolderSource(src, Config()).manifest()
    docs, paras = success["accounts"]["documents"], success["accounts"]["paragraphs"]
    assert docs["seen"] == 8 == docs["kept"] + docs["removed"] + docs["rejected"] + docs["empty"]
    assert (docs["rejected"], docs["empty"]) == (1, 1)
    assert paras["seen"] == report.paragraphs_in == paras["kept"] + paras["removed"] + paras["rejected"]
    assert paras["kept"] == report.paragraphs_out and paras["removed"] == report.paragraphs_removed


def test_resume_is_refused_when_options_or_inputs_changed(tmp_path: Path):
    src = corpus(tmp_path / "src", 6)
    with pytest.raises(Stop):
        clean_folder(src, tmp_path / "out", Config(), on_document=stop_after(3))
    before = snapshot(tmp_path / "out")
    with pytest.raises(UsageError, match="cannot resume: the options differ"):
        clean_folder(src, tmp_path / "out", Config(threshold=0.9), resume=True)
    (src / "a/000.txt").write_text("An edited story about the harbour council and its budget.")
    with pytest.raises(UsageError, match="cannot resume: the input files changed"):
        clean_folder(src, tmp_path / "out", Config(), resume=True)
    assert snapshot(tmp_path / "out") == before
    clean_folder(src, tmp_path / "out", Config(), overwrite=True)
    assert (tmp_path / "out/.cleaner/_SUCCESS").exists()


def test_resume_of_a_complete_run_changes_nothing(tmp_path: Path):
    src = corpus(tmp_path / "src", 6)
    first = clean_folder(src, tmp_path / "out", Config())
    before = {p: p.stat().st_mtime_ns for p in (tmp_path / "out").rglob("*")}
    again = clean_folder(src, tmp_path / "out", Config(), resume=True)
    assert again.as_dict()["paragraphs"] == first.as_dict()["paragraphs"]
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "out").rglob("*")} == before


def test_resume_after_a_crash_in_the_middle_of_the_commit(tmp_path: Path, reference):
    src, want = reference
    clean_folder(src, tmp_path / "out", Config())
    state = tmp_path / "out/.cleaner"
    # As if killed after renaming one log: the others still .partial, no report, no marker.
    (state / "_SUCCESS").unlink()
    (state / "report.json").unlink()
    for name in ("rejects.jsonl", "files.jsonl"):
        os.replace(state / name, state / f"{name}.partial")
    clean_folder(src, tmp_path / "out", Config(), resume=True)
    assert snapshot(tmp_path / "out") == want


def test_a_temporary_file_left_by_a_kill_is_cleared_on_resume(tmp_path: Path, reference):
    src, want = reference
    with pytest.raises(Stop):
        clean_folder(src, tmp_path / "out", Config(), on_document=stop_after(5))
    (tmp_path / "out/.cleaner/tmp/.a-half-written.txt.tmp").write_text("half")
    clean_folder(src, tmp_path / "out", Config(), resume=True)
    assert snapshot(tmp_path / "out") == want


@pytest.mark.parametrize("state_file", ["checkpoint.pkl", "report.json", "_SUCCESS"])
def test_a_half_written_state_file_left_by_a_kill_is_cleared_on_resume(tmp_path: Path, reference, state_file):
    src, want = reference
    with pytest.raises(Stop):
        clean_folder(src, tmp_path / "out", Config(), on_document=stop_after(5))
    (tmp_path / f"out/.cleaner/.{state_file}.1a2b3c4d.tmp").write_bytes(b"half")  # as write_atomic names it
    clean_folder(src, tmp_path / "out", Config(), resume=True)
    assert snapshot(tmp_path / "out") == want


def test_accounts_catch_a_paragraph_lost_between_stages():
    accounts = Accounts()
    doc = Document("d", "d.txt", paragraphs=[Paragraph(0, "one"), Paragraph(1, "two")])
    list(accounts.segmented(accounts.read([doc])))
    doc.paragraphs.pop()  # a buggy stage drops a paragraph instead of marking it removed
    with pytest.raises(AccountingError, match=r"d\.txt: 2 paragraphs segmented, but 1 decided"):
        accounts.settle(doc)


def test_accounts_catch_a_document_that_never_reached_the_end():
    accounts = Accounts()
    first, second = Document("1", "1.txt"), Document("2", "2.txt")
    list(accounts.segmented(accounts.read([first, second])))
    with pytest.raises(AccountingError, match=r"2\.txt: reached the end out of input order"):
        accounts.settle(second)


def test_accounts_compare_with_the_log_lines():
    accounts = Accounts()
    doc = Document("d", "d.txt", paragraphs=[Paragraph(0, "a"), Paragraph(1, "a", removal=Removal("exact_repeat"))])
    list(accounts.settled(accounts.segmented(accounts.read([doc]))))
    lines = {"files.jsonl": 1, "rejects.jsonl": 0, "removed.jsonl": 1}
    accounts.check(lines.__getitem__)
    with pytest.raises(AccountingError, match=r"removed\.jsonl holds 0 lines, expected 1"):
        accounts.check({**lines, "removed.jsonl": 0}.__getitem__)


def test_resume_is_refused_for_standard_input(tmp_path: Path):
    record = json.dumps({"id": "1", "text": "A story about the harbour council."}) + "\n"
    result = subprocess.run([sys.executable, "-m", "cleaner", "clean", "--quiet", "--resume", "-",
                             str(tmp_path / "out")], cwd=ROOT, capture_output=True, text=True, input=record)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "Error: standard input cannot be resumed: rerun the whole input with --overwrite"]
    assert not (tmp_path / "out").exists()


@pytest.fixture(scope="module")
def larger(tmp_path_factory) -> tuple[Path, dict[str, bytes]]:
    return uninterrupted_run(tmp_path_factory, "larger", 200)


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_stops_at_a_consistent_point_and_resume_finishes(tmp_path: Path, larger, signum: int, status: int):
    src, want = larger
    command = [sys.executable, "-m", "cleaner", "clean", "--quiet", str(src), str(tmp_path / "out")]
    slowly = ["--checkpoint-every", "0"]  # a checkpoint per document: the signal comes mid-run
    proc = subprocess.Popen([*command, *slowly], cwd=ROOT, stderr=subprocess.PIPE, text=True)
    files_log = tmp_path / "out/.cleaner/files.jsonl.partial"
    deadline = time.monotonic() + 60
    while (not files_log.exists() or files_log.stat().st_size == 0) and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signum)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == status, stderr
    [line] = stderr.strip().splitlines()
    assert line.startswith(f"cleaner: interrupted by {signal.Signals(signum).name} after ")
    assert line.endswith("run the same command with --resume to finish")
    assert not (tmp_path / "out/.cleaner/_SUCCESS").exists()
    assert subprocess.run([*command, "--resume"], cwd=ROOT, capture_output=True).returncode == 1
    assert snapshot(tmp_path / "out") == want


class _RunsACommand:
    """What a hostile checkpoint holds: unpickling it would run `touch MARKER`."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_checkpoint_naming_code_to_run_is_refused_and_never_run(tmp_path: Path, reference):
    """A checkpoint is plain data: one that names a function (here os.system) was not
    written by cleaner; resuming from it is refused in one line and runs nothing."""
    src, _ = reference
    with pytest.raises(Interrupted):
        clean_folder(src, tmp_path / "out", Config(), stop=lambda: signal.SIGTERM)
    checkpoint = tmp_path / "out" / ".cleaner" / "checkpoint.pkl"
    marker = tmp_path / "ran"
    checkpoint.write_bytes(pickle.dumps(_RunsACommand(marker)))
    refused = r"damaged checkpoint \(UnpicklingError: posix.system is not checkpoint data\)"
    with pytest.raises(UsageError, match=refused):
        clean_folder(src, tmp_path / "out", Config(), resume=True)
    assert not marker.exists()
