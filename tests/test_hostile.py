"""Hostile corpora through the command line (issue 16): what a scraper really produces. Each
case checks the accounting identity (every input is in the output, in removed.jsonl, or in
rejects.jsonl, once), a one-line message naming the file, and the exit status."""

from __future__ import annotations

import json
import os
from pathlib import Path
import random
import socket
import subprocess
import sys
import time

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cleaner import Config
from cleaner.io.sources import open_source
from tests.helpers import ROOT, parquet_with_a_damaged_row_group, write_tree
from tests.io.test_folder_reader import no_hang

TEXT = "The harbour board agreed on Monday to rebuild the northern pier before the winter storms."
OTHER = "A brass band played old marching songs in the park while the crowd sang along."
VOCABULARY = (TEXT + " " + OTHER).lower().rstrip(".").replace(".", "").split()


def sentence(seed: int) -> str:
    """A sentence of its own: random words, so that no two share a word 3-gram by design."""
    rng = random.Random(seed)
    return " ".join(rng.choice(VOCABULARY) for _ in range(16)).capitalize() + "."


def cli(*args: str, timeout: float = 120, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cleaner", "clean", "--quiet", *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=timeout, **kwargs)


def log(dst: Path, name: str) -> list[dict]:
    path = dst / ".cleaner" / name
    return [json.loads(line) for line in path.open(encoding="utf-8")] if path.exists() else []


def account_files(src: Path, dst: Path) -> dict[str, str]:
    """Where each input file (*.txt) went: 'out', 'removed' (whole) or 'rejected', exactly one
    each; and report.json agrees. Names are compared as the logs write them (surrogate escapes)."""
    names = {os.fsdecode(p.relative_to(src)) for p in src.rglob("*.txt") if not p.is_dir()}
    removed = {e["source"] for e in log(dst, "removed.jsonl") if e.get("paragraph") is None}
    rejected = {e["source"] for e in log(dst, "rejects.jsonl")}
    written = {os.fsdecode(p.relative_to(dst)) for p in dst.rglob("*")
               if not p.is_dir() and ".cleaner" not in p.relative_to(dst).parts}
    where = {}
    for name in names:
        places = [tag for tag, group in (("out", written), ("removed", removed), ("rejected", rejected))
                  if name in group]
        assert len(places) == 1, (name, places)
        where[name] = places[0]
    assert written <= names
    docs = json.loads((dst / ".cleaner/report.json").read_text())["documents"]
    assert docs["in"] == len(names) == docs["out"] + docs["removed"] + docs["rejected"] + docs["emptied"]
    return where


def account_records(lines: int, dst: Path) -> dict[int, str]:
    """Where each input record (by line or row) went, exactly one place each."""
    out = [json.loads(line) for part in sorted(dst.glob("part-*.jsonl")) for line in part.open()]
    out_lines = [record["line"] for record in out] if out and "line" in out[0] else None
    removed = {e["line"] for e in log(dst, "removed.jsonl") if e.get("paragraph") is None}
    rejected = {e["line"] for e in log(dst, "rejects.jsonl")}
    docs = json.loads((dst / ".cleaner/report.json").read_text())["documents"]
    assert docs["in"] == lines == docs["out"] + docs["removed"] + docs["rejected"] + docs["emptied"]
    assert docs["rejected"] == len(rejected) and docs["removed"] + docs["emptied"] == len(removed)
    where = {line: "rejected" for line in rejected} | {line: "removed" for line in removed}
    if out_lines is not None:
        where |= {line: "out" for line in out_lines}
        assert len(where) == lines
    return where


@pytest.mark.parametrize(("column", "expected_rejects"), [
    (pa.array([TEXT, None, OTHER]), {2: "not_text"}),
    (pa.array([1, 2, 3]), {1: "not_text", 2: "not_text", 3: "not_text"}),
    (None, {1: "missing_text", 2: "missing_text", 3: "missing_text"}),
])
def test_parquet_with_null_non_string_or_missing_text_rejects_those_rows(tmp_path: Path, column, expected_rejects):
    columns = {"id": pa.array(["a", "b", "c"])}
    columns["text" if column is not None else "body"] = column if column is not None else pa.array(["x"] * 3)
    pq.write_table(pa.table(columns), tmp_path / "in.parquet")
    result = cli(str(tmp_path / "in.parquet"), str(tmp_path / "out"))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert {e["line"]: e["reason"] for e in log(tmp_path / "out", "rejects.jsonl")} == expected_rejects
    for line in expected_rejects:
        assert f"in.parquet:{line}: " in result.stderr
    kept = [row for part in (tmp_path / "out").glob("part-*.parquet") for row in pq.read_table(part).to_pylist()]
    assert len(kept) + len(expected_rejects) == 3
    assert {row["id"] for row in kept} == {"abc"[i - 1] for i in {1, 2, 3} - set(expected_rejects)}


def test_parquet_with_zero_rows_is_a_complete_empty_run(tmp_path: Path):
    pq.write_table(pa.table({"id": pa.array([], pa.string()), "text": pa.array([], pa.string())}),
                   tmp_path / "zero.parquet")
    result = cli(str(tmp_path / "zero.parquet"), str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out/.cleaner/_SUCCESS").exists()
    assert json.loads((tmp_path / "out/.cleaner/report.json").read_text())["documents"]["in"] == 0


def test_jsonl_with_a_byte_order_mark_and_crlf_line_ends_is_read_whole(tmp_path: Path):
    lines = [json.dumps({"id": str(i), "text": sentence(i)}) for i in range(3)]
    (tmp_path / "in.jsonl").write_bytes(b"\xef\xbb\xbf" + "\r\n".join(lines).encode() + b"\r\n")
    result = cli(str(tmp_path / "in.jsonl"), str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    out = [json.loads(line) for line in (tmp_path / "out/part-00000.jsonl").open(encoding="utf-8")]
    assert [record["id"] for record in out] == ["0", "1", "2"]  # the BOM is not part of the first key
    assert all("\r" not in record["text"] and "\ufeff" not in record["text"] for record in out)
    assert account_records(3, tmp_path / "out") == {}  # nothing removed or rejected


def test_txt_output_rejects_empty_too_long_and_duplicate_ids_per_record(tmp_path: Path):
    records = [("a", "first"), ("a", "second"), ("", "third"), ("x" * 300, "fourth"), ("ok", "fifth")]
    (tmp_path / "in.jsonl").write_text("".join(json.dumps({"id": i, "text": f"{sentence(n)} The {t} one."}) + "\n"
                                               for n, (i, t) in enumerate(records)))
    result = cli("--format", "txt", str(tmp_path / "in.jsonl"), str(tmp_path / "out"))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert {e["line"]: e["reason"] for e in log(tmp_path / "out", "rejects.jsonl")} == {
        2: "duplicate_id", 3: "empty_id", 4: "id_too_long"}
    assert sorted(p.name for p in (tmp_path / "out").iterdir() if p.is_file()) == ["a.txt", "ok.txt"]
    assert "first" in (tmp_path / "out/a.txt").read_text()  # never overwritten by the second
    assert len([line for line in result.stderr.splitlines() if line.startswith("cleaner: skipped in.jsonl:")]) == 3


def test_closed_stdout_is_one_line_and_exit_3(tmp_path: Path):
    line = json.dumps({"id": "1", "text": TEXT}) + "\n"
    result = subprocess.run(f"{sys.executable} -m cleaner clean - - --log-dir {tmp_path / 'logs'} >&-",
                            shell=True, input=line, capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.returncode == 3
    assert result.stderr.strip().splitlines() == ["Error: <stdout>: standard output is closed"]


def test_resume_after_the_input_or_the_options_changed_is_refused_in_one_line(tmp_path: Path):
    src = write_tree(tmp_path / "src", {f"{i}.txt": sentence(i) for i in range(3)})
    assert cli(str(src), str(tmp_path / "out")).returncode == 0
    (src / "3.txt").write_text(sentence(3))
    changed = cli("--resume", str(src), str(tmp_path / "out"))
    (src / "3.txt").unlink()
    options = cli("--resume", "--threshold", "0.8", str(src), str(tmp_path / "out"))
    for result, words in ((changed, "the input files changed"), (options, "the options differ")):
        assert result.returncode == 2
        [line] = result.stderr.strip().splitlines()
        assert "cannot resume" in line and words in line
    assert account_files(src, tmp_path / "out") == {f"{i}.txt": "out" for i in range(3)}


def test_a_second_run_on_the_same_destination_is_refused_while_the_first_holds_it(tmp_path: Path):
    src = write_tree(tmp_path / "src", {"a.txt": TEXT})
    first = subprocess.Popen([sys.executable, "-m", "cleaner", "clean", "--quiet", "-", str(tmp_path / "out")],
                             stdin=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    try:
        first.stdin.write((json.dumps({"id": "1", "text": TEXT}) + "\n").encode())
        first.stdin.flush()
        deadline = time.monotonic() + 60
        while not (tmp_path / "out/.cleaner").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1)  # it holds the lock while it waits for more input
        second = cli(str(src), str(tmp_path / "out"))
    finally:
        first.stdin.close()
        first.wait(timeout=60)
    assert second.returncode == 2
    assert second.stderr.strip().splitlines() == [f"Error: {tmp_path / 'out'}: another cleaner run is writing "
                                                  "to this folder"]
    assert first.returncode == 0
    assert [json.loads(line)["id"] for line in (tmp_path / "out/part-00000.jsonl").open()] == ["1"]


def test_source_and_destination_the_same_folder_through_a_link_is_refused(tmp_path: Path):
    src = write_tree(tmp_path / "src", {"a.txt": TEXT})
    (tmp_path / "link").symlink_to(src)
    for args in ((str(src), str(tmp_path / "link")), (str(tmp_path / "link"), str(src)),
                 (str(tmp_path / "link"), str(tmp_path / "link/out"))):
        result = cli(*args)
        assert result.returncode == 2
        assert len(result.stderr.strip().splitlines()) == 1 and "must not be the input folder" in result.stderr
    assert sorted(p.name for p in src.iterdir()) == ["a.txt"]  # nothing written into SRC


def test_folders_300_levels_deep_are_read_and_mirrored(tmp_path: Path):
    deep = "/".join(["d"] * 300) + "/x.txt"
    src = write_tree(tmp_path / "src", {deep: TEXT, "top.txt": OTHER})
    result = cli(str(src), str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / deep).read_text() == TEXT + "\n"
    assert account_files(src, tmp_path / "out") == {deep: "out", "top.txt": "out"}


def test_file_names_with_newlines_and_invalid_utf8_keep_their_bytes(tmp_path: Path):
    src = tmp_path / "src"
    src.mkdir()
    names = [b"new\nline.txt", b"bad\xff\xfe.txt", b"tab\tand\rcr.txt"]
    for i, name in enumerate(names):
        (src / os.fsdecode(name)).write_text(sentence(i))
    (src / os.fsdecode(b"nul\n\xff.txt")).write_bytes(b"\0" * 64)  # rejected: its name is in the message
    result = cli(str(src), str(tmp_path / "out"))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    for name in names:
        assert (tmp_path / "out" / os.fsdecode(name)).read_text() == sentence(names.index(name)) + "\n"
    [line] = result.stderr.strip().splitlines()[:-1]  # the skip line stays one line; then the summary
    assert line.startswith("cleaner: skipped nul\\n\\udcff.txt: binary")
    where = account_files(src, tmp_path / "out")
    assert where[os.fsdecode(b"nul\n\xff.txt")] == "rejected"


@pytest.mark.parametrize("size", [2, 4096, 1 << 20])
def test_nul_filled_files_are_rejected_as_binary(tmp_path: Path, size: int):
    src = write_tree(tmp_path / "src", {"nul.txt": b"\0" * size, "ok.txt": TEXT})
    result = cli(str(src), str(tmp_path / "out"))
    assert result.returncode == 1
    assert [(e["source"], e["reason"]) for e in log(tmp_path / "out", "rejects.jsonl")] == [("nul.txt", "binary")]
    assert account_files(src, tmp_path / "out") == {"nul.txt": "rejected", "ok.txt": "out"}


def test_a_document_of_only_punctuation_is_kept_as_it_is(tmp_path: Path):
    """Paragraphs without a word carry layout, not content: never removed, even repeated."""
    punctuation = "!!! ... ???\n\n* * *\n\n* * *"
    src = write_tree(tmp_path / "src", {"a.txt": punctuation, "b.txt": punctuation})
    result = cli(str(src), str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out/a.txt").read_text() == (tmp_path / "out/b.txt").read_text() == punctuation + "\n"
    assert account_files(src, tmp_path / "out") == {"a.txt": "out", "b.txt": "out"}


def test_a_fifo_and_a_socket_in_a_folder_run_are_rejected_and_exit_1(tmp_path: Path):
    src = write_tree(tmp_path / "src", {"a.txt": TEXT, "records/r.jsonl": ""})
    os.mkfifo(src / "b.txt")
    os.mkfifo(src / "records/fifo.jsonl")
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(src / "c.txt"))
        result = cli(str(src), str(tmp_path / "out"), timeout=60)
        records = cli("--glob", "*.jsonl", str(src / "records"), str(tmp_path / "records"), timeout=60)
    assert result.returncode == 1 and records.returncode == 1
    assert {(e["source"], e["reason"]) for e in log(tmp_path / "out", "rejects.jsonl")} == {
        ("b.txt", "not_regular_file"), ("c.txt", "not_regular_file")}
    assert "cleaner: skipped b.txt: not a regular file (a FIFO)" in result.stderr
    assert [(e["source"], e["reason"]) for e in log(tmp_path / "records", "rejects.jsonl")] == [
        ("fifo.jsonl", "not_regular_file")]
    assert account_files(src, tmp_path / "out")["a.txt"] == "out"


@pytest.mark.parametrize("name", ["b.jsonl", "b.jsonl.gz", "b.jsonl.zst", "b.parquet"])
def test_a_record_file_replaced_by_a_fifo_after_the_listing_never_blocks(tmp_path: Path, name: str):
    write_tree(tmp_path, {"a.jsonl": json.dumps({"id": "1", "text": TEXT}) + "\n", name: ""})
    docs = open_source(tmp_path, Config(glob="[ab].*")).documents()
    assert next(docs).text == TEXT  # b is listed by now
    (tmp_path / name).unlink()
    os.mkfifo(tmp_path / name)  # no writer: a blocking open() would wait for ever
    with no_hang():
        [doc] = list(docs)
    assert (doc.source, doc.reject.reason) == (name, "not_regular_file")


def test_a_damaged_parquet_row_group_is_one_line_naming_file_and_row(tmp_path: Path):
    """pyarrow's error text spans lines; the message a user sees is still one line."""
    path = parquet_with_a_damaged_row_group(tmp_path / "damaged.parquet")
    run = cli(str(path), str(tmp_path / "out"))
    assert run.returncode == 1, run.stderr
    skipped = [line for line in run.stderr.splitlines() if "damaged.parquet" in line]
    assert len(skipped) == 1 and skipped[0].startswith("cleaner: skipped damaged.parquet:41: cannot read Parquet: ")
    [reject] = log(tmp_path / "out", "rejects.jsonl")
    assert reject["line"] == 41 and "\n" not in reject["message"]
