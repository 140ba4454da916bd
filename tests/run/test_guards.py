"""Guards: where a run may write, one run per DST, links, safe paths, pathological text."""

import json
import os
from pathlib import Path
import re
import signal
import subprocess
import sys
import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st
import pytest

from cleaner import Config, clean_folder
from cleaner.errors import UnsafePathError, UsageError
from cleaner.io.paths import safe_output_path
from cleaner.record import Document
from cleaner.run.guards import DestinationLock
from cleaner.text.limits import _NON_STARTER, LAST_COMBINING, check_limits, longest_paragraph
from tests.helpers import write_tree

TEXT = "The river council met on Tuesday to discuss the new bridge over the old canal."


def rejects(dst: Path) -> list[dict]:
    return [json.loads(line) for line in (dst / ".cleaner/rejects.jsonl").open(encoding="utf-8")]


def tree(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*"))


# -- locations ---------------------------------------------------------------------------

def test_destination_reached_through_a_link_into_the_source_is_refused(tmp_path: Path):
    src = write_tree(tmp_path / "src", {"a.txt": TEXT})
    (tmp_path / "sneaky").symlink_to(src / "sub", target_is_directory=True)
    with pytest.raises(UsageError, match="must not be the input folder or inside it"):
        clean_folder(src, tmp_path / "sneaky", Config())
    assert tree(src) == ["a.txt"]


def test_source_inside_destination_is_refused(tmp_path: Path):
    src = write_tree(tmp_path / "out" / "src", {"a.txt": TEXT})
    with pytest.raises(UsageError, match="must not contain the input folder"):
        clean_folder(src, tmp_path / "out", Config(), overwrite=True)
    assert tree(tmp_path / "out") == ["src", "src/a.txt"]


def test_destination_that_is_a_file_is_refused(tmp_path: Path):
    src = write_tree(tmp_path / "src", {"a.txt": TEXT})
    (tmp_path / "out").write_text("x")
    with pytest.raises(UsageError, match="exists and is not a folder"):
        clean_folder(src, tmp_path / "out", Config())


def test_incomplete_destination_is_named_and_resume_suggested(tmp_path: Path):
    src = write_tree(tmp_path / "src", {"a.txt": TEXT, "b.txt": TEXT + " Again."})

    def crash(doc):
        raise RuntimeError("power cut")

    with pytest.raises(RuntimeError):
        clean_folder(src, tmp_path / "out", Config(), on_document=crash)
    with pytest.raises(UsageError, match=r"incomplete run \(no .cleaner/_SUCCESS\): use --resume"):
        clean_folder(src, tmp_path / "out", Config())


def test_overwrite_and_resume_together_are_refused(tmp_path: Path):
    src = write_tree(tmp_path / "src", {"a.txt": TEXT})
    with pytest.raises(UsageError, match="contradict"):
        clean_folder(src, tmp_path / "out", Config(), overwrite=True, resume=True)
    assert not (tmp_path / "out").exists()


# -- one run per destination ---------------------------------------------------------------

def test_a_second_run_on_a_locked_destination_is_refused_before_writing(tmp_path: Path):
    src = write_tree(tmp_path / "src", {"a.txt": TEXT})
    lock = DestinationLock(tmp_path / "out")  # another run holds DST
    try:
        with pytest.raises(UsageError, match="another cleaner run is writing to this folder"):
            clean_folder(src, tmp_path / "out", Config())
        assert tree(tmp_path / "out") == []
    finally:
        lock.release()
    clean_folder(src, tmp_path / "out", Config())
    assert (tmp_path / "out/.cleaner/_SUCCESS").exists()


def test_the_lock_of_a_killed_run_is_never_stale(tmp_path: Path):
    src = write_tree(tmp_path / "src", {"a.txt": TEXT})
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from pathlib import Path; from cleaner.run.guards import "
         "DestinationLock; DestinationLock(Path(sys.argv[1])); print('locked', flush=True); time.sleep(60)",
         str(tmp_path / "out")], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    with pytest.raises(UsageError, match="another cleaner run"):
        clean_folder(src, tmp_path / "out", Config())
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    holder.stdout.close()
    clean_folder(src, tmp_path / "out", Config())
    assert (tmp_path / "out/a.txt").read_text() == TEXT + "\n"


# -- links and names -----------------------------------------------------------------------

def test_links_are_rejected_unless_followed(tmp_path: Path):
    src = write_tree(tmp_path / "src", {"real/a.txt": TEXT})
    (src / "link.txt").symlink_to(src / "real" / "a.txt")
    (src / "dirlink").symlink_to(src / "real", target_is_directory=True)
    clean_folder(src, tmp_path / "out", Config())
    assert {(r["source"], r["reason"]) for r in rejects(tmp_path / "out")} == {
        ("dirlink", "symlink"), ("link.txt", "symlink")}
    assert tree(tmp_path / "out") == [".cleaner", *sorted(f".cleaner/{n}" for n in (
        "_SUCCESS", "files.jsonl", "rejects.jsonl", "removed.jsonl", "report.html", "report.json")),
        "real", "real/a.txt"]

    clean_folder(src, tmp_path / "followed", Config(follow_symlinks=True, scope="document"))
    assert (tmp_path / "followed/link.txt").read_text() == TEXT + "\n"
    assert (tmp_path / "followed/dirlink/a.txt").read_text() == TEXT + "\n"
    assert not (tmp_path / "followed/.cleaner/rejects.jsonl").read_text()


def test_followed_links_never_leave_the_source_nor_loop(tmp_path: Path):
    secret = write_tree(tmp_path / "secret", {"key.txt": "private words that must never be read here"})
    src = write_tree(tmp_path / "src", {"a/doc.txt": TEXT})
    (src / "out.txt").symlink_to(secret / "key.txt")
    (src / "outdir").symlink_to(secret, target_is_directory=True)
    (src / "a" / "up").symlink_to(src, target_is_directory=True)  # a loop back to the root
    (src / "a" / "self").symlink_to(src / "a", target_is_directory=True)
    clean_folder(src, tmp_path / "out", Config(follow_symlinks=True))
    reasons = {(r["source"], r["reason"]) for r in rejects(tmp_path / "out")}
    assert reasons == {("out.txt", "symlink_outside"), ("outdir", "symlink_outside"),
                       ("a/up", "symlink_loop"), ("a/self", "symlink_loop")}
    written = tree(tmp_path / "out")
    assert "a/doc.txt" in written and not any("key" in name for name in written)


def test_non_utf8_file_names_work_end_to_end(tmp_path: Path):
    src = tmp_path / "src"
    src.mkdir()
    name = os.fsdecode(b"caf\xe9 \xff.txt")  # Latin-1 bytes: not UTF-8
    (src / name).write_text(TEXT)
    report = clean_folder(src, tmp_path / "out", Config())
    assert report.documents_out == 1
    assert os.listdir(os.fsencode(tmp_path / "out")).count(b"caf\xe9 \xff.txt") == 1
    [entry] = [json.loads(line) for line in (tmp_path / "out/.cleaner/files.jsonl").open(encoding="utf-8")]
    assert os.fsencode(entry["source"]) == b"caf\xe9 \xff.txt"


@pytest.mark.parametrize("name", ["", "/etc/passwd", "../up.txt", "a/../../b.txt", "a//b.txt", "./a.txt",
                                  ".cleaner/_SUCCESS", "a/.", "nul\x00.txt"])
def test_unsafe_output_names_are_refused(tmp_path: Path, name: str):
    with pytest.raises(UnsafePathError, match="unsafe output path"):
        safe_output_path(tmp_path, name)


def test_output_path_through_a_link_out_of_the_destination_is_refused(tmp_path: Path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "escape").symlink_to(tmp_path, target_is_directory=True)
    with pytest.raises(UnsafePathError, match="through a link"):
        safe_output_path(tmp_path / "out", "escape/x.txt")
    assert safe_output_path(tmp_path / "out", "fine/x.txt") == tmp_path / "out/fine/x.txt"


def test_a_writer_resolves_each_output_folder_once_and_still_refuses_each_link(tmp_path: Path):
    (tmp_path / "out" / "fine").mkdir(parents=True)
    (tmp_path / "out" / "escape").symlink_to(tmp_path, target_is_directory=True)
    safe: set[str] = set()
    for name in ("fine/a.txt", "fine/b.txt", "top.txt"):
        assert safe_output_path(tmp_path / "out", name, safe_folders=safe) == tmp_path / "out" / name
    assert safe == {"fine", ""}
    for _ in range(2):
        with pytest.raises(UnsafePathError, match="through a link"):
            safe_output_path(tmp_path / "out", "escape/x.txt", safe_folders=safe)
    assert "escape" not in safe


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["a", "..", ".", "", ".cleaner", "b.txt", "/", "\x00", "é"]), max_size=6))
def test_a_safe_output_path_always_stays_inside_the_destination(parts):
    root = Path("/nonexistent-root/out")
    name = "/".join(parts)
    try:
        path = safe_output_path(root, name)
    except UnsafePathError:
        return
    resolved = Path(os.path.normpath(path))
    assert root in resolved.parents and resolved.relative_to(root).parts[0] != ".cleaner"


# -- pathological text ---------------------------------------------------------------------

def test_longest_paragraph_counts_any_blank_line_convention():
    assert longest_paragraph("ab\n\ncdef\r\n\r\nxyz\n \t\nq") == (4, 4)
    assert longest_paragraph("one\u2029two words") == (9, 4)


def test_a_giant_paragraph_is_rejected_with_its_line(tmp_path: Path):
    src = write_tree(tmp_path / "src", {"blob.txt": "Title\n\nshort\n\n" + "word " * 2_100_000, "ok.txt": TEXT})
    clean_folder(src, tmp_path / "out", Config())
    [reject] = rejects(tmp_path / "out")
    assert (reject["source"], reject["reason"], reject["line"]) == ("blob.txt", "paragraph_too_long", 5)
    assert "limit 1,000,000" in reject["message"] and (tmp_path / "out/ok.txt").exists()


def test_combining_mark_floods_are_rejected_but_real_scripts_pass():
    zalgo = "fine\nline two\nH" + "\u0301\u0302\u0303" * 40 + "ello"
    doc = check_limits(Document("z", "z.txt", text=zalgo), Config())
    assert (doc.reject.reason, doc.reject.line) == ("combining_flood", 3)
    real = "Tiếng Việt có dấu. हिन्दी भाषा. ཀྲྀ Ελληνικά ᾅ"  # stacked marks, all well under 30
    assert check_limits(Document("r", "r.txt", text=real), Config()).reject is None


def test_the_flood_pattern_knows_every_combining_mark():
    marks = [c for c in range(sys.maxunicode + 1) if unicodedata.combining(chr(c))]
    assert max(marks) <= LAST_COMBINING
    flood = re.compile(_NON_STARTER + "+")
    assert all(flood.fullmatch(chr(c)) for c in marks)
    assert not flood.search("plain ASCII, Ελληνικά, 中文, ٣ ☃")


def test_files_over_the_size_limit_are_rejected_without_reading(tmp_path: Path):
    src = write_tree(tmp_path / "src", {"big.txt": "x" * 5000, "small.txt": TEXT})
    clean_folder(src, tmp_path / "out", Config(max_file_bytes=4096))
    [reject] = rejects(tmp_path / "out")
    assert (reject["source"], reject["reason"]) == ("big.txt", "too_large")
    assert reject["message"] == "5,000 bytes, over the limit of 4,096 (max_file_bytes)"
