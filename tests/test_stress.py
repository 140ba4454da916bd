"""Heavy cases, run by `make stress` (CLEANER_STRESS=1): huge inputs with bounded memory,
floods of repeats, and the kill -9 / resume acceptance loops on the BBC folder, the Reuters
file and a folder of Reuters .jsonl.zst shards."""

import json
from pathlib import Path
import resource
import subprocess
import sys

import pytest

from tests.helpers import ROOT, SHARED, needs_shared, write_tree

pytestmark = pytest.mark.stress
BBC = SHARED / "data" / "bbc"
PARAGRAPH = "The council approved the new budget for the coming year after a long debate on Tuesday night."


def cli_peak(*args: str) -> tuple[subprocess.CompletedProcess, int]:
    """Run `cleaner clean` in a child; return the result and the child's peak memory in MB."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    result = subprocess.run([sys.executable, "-m", "cleaner", "clean", "--quiet", *args],
                            capture_output=True, text=True, cwd=ROOT)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return result, max(peak, before) // 1024


def rejects(dst: Path) -> list[dict]:
    return [json.loads(line) for line in (dst / ".cleaner/rejects.jsonl").open(encoding="utf-8")]


def test_a_500_mb_file_without_newline_is_rejected_in_bounded_memory(tmp_path: Path):
    src = tmp_path / "src"
    src.mkdir()
    with open(src / "huge.txt", "wb") as out:
        block = b"x" * 2**20
        for _ in range(500):
            out.write(block)
    write_tree(src, {"small.txt": PARAGRAPH})
    result, peak_mb = cli_peak(str(src), str(tmp_path / "out"))
    assert result.returncode == 1, result.stderr
    [reject] = rejects(tmp_path / "out")
    assert (reject["source"], reject["reason"]) == ("huge.txt", "too_large")
    assert peak_mb < 400, f"peak memory {peak_mb} MB"
    assert (tmp_path / "out/small.txt").exists()


def test_a_10_mb_paragraph_is_rejected_in_bounded_memory(tmp_path: Path):
    src = write_tree(tmp_path / "src", {"blob.txt": "Headline\n\n" + "word " * 2_000_000, "ok.txt": PARAGRAPH})
    result, peak_mb = cli_peak(str(src), str(tmp_path / "out"))
    assert result.returncode == 1
    [reject] = rejects(tmp_path / "out")
    assert (reject["reason"], reject["line"]) == ("paragraph_too_long", 3)
    assert peak_mb < 400, f"peak memory {peak_mb} MB"


def test_100000_copies_of_one_paragraph_leave_one(tmp_path: Path):
    src = write_tree(tmp_path / "src", {"copies.txt": "\n\n".join([PARAGRAPH] * 100_000)})
    result, _ = cli_peak(str(src), str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out/copies.txt").read_text() == PARAGRAPH + "\n"
    removed = (tmp_path / "out/.cleaner/removed.jsonl").read_text().splitlines()
    assert len(removed) == 99_999 and json.loads(removed[-1])["duplicate_of"]["paragraph"] == 0


@needs_shared(BBC)
def test_kill_9_at_20_random_moments_then_resume_equals_one_clean_run():
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "kill_resume.py"), "--src", str(BBC),
                             "--kills", "20", "--seed", "1"], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "20 kills; IDENTICAL" in result.stdout


REUTERS = SHARED / "data" / "reuters21578.jsonl.gz"


def kill_resume(src: Path, *options: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "bench" / "kill_resume.py"), "--src", str(src),
                           "--kills", "20", "--seed", "1", *options], capture_output=True, text=True, cwd=ROOT)


@needs_shared(REUTERS)
def test_kill_9_at_20_random_moments_of_a_record_file_run_then_resume_equals_one_clean_run():
    result = kill_resume(REUTERS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "20 kills; IDENTICAL" in result.stdout


@needs_shared(REUTERS)
def test_kill_9_at_20_random_moments_of_a_folder_of_zstd_shards_then_resume_equals_one_clean_run(tmp_path: Path):
    import gzip

    import zstandard

    lines = gzip.open(REUTERS, "rb").read().splitlines(keepends=True)
    shards = tmp_path / "shards"
    shards.mkdir()
    for part in range(8):
        chunk = b"".join(lines[part * len(lines) // 8:(part + 1) * len(lines) // 8])
        (shards / f"reuters-{part}.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress(chunk))
    result = kill_resume(shards, "--glob", "*.jsonl.zst")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "20 kills; IDENTICAL" in result.stdout
