"""cleaner.run.job: one driver for every source and sink; a resumed record run equals one
that never stopped, whatever the format; every output path is checked; nothing is lost."""

import gzip
import hashlib
import json
import os
from pathlib import Path
import random

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard

from cleaner import Config, RunOptions, clean
from cleaner.cli import main
from cleaner.errors import Interrupted, UsageError
from cleaner.io.compress import FrameWriter
from tests.helpers import FIXTURES, SHARED, needs_shared, stop_after, without_timing

REUTERS = SHARED / "data" / "reuters21578.jsonl.gz"


def demo_paragraphs() -> list[str]:
    """The paragraphs of our own demo articles: real prose, with the repeats they hold."""
    texts = [p.read_text(encoding="utf-8", errors="replace") for p in sorted((FIXTURES / "demo").rglob("*.txt"))]
    return [part.strip() for text in texts for part in text.replace("\r\n", "\n").split("\n\n") if part.strip()]


def records(seed: int, count: int) -> list[dict]:
    """Records of 1-4 demo paragraphs each, some repeated, some emptied by repeats, with an
    extra field that must come back as it was."""
    rng, pool = random.Random(seed), demo_paragraphs()
    out = []
    for n in range(count):
        paragraphs = rng.sample(pool, rng.randint(1, 4))
        if rng.random() < 0.3:
            paragraphs.append(f"Record {n} adds a sentence of its own about the number {rng.randint(0, 10**6)}.")
        out.append({"id": f"r{n:03d}", "text": "\n\n".join(paragraphs), "lang": "en"})
    return out


def write_input(root: Path, kind: str, rows: list[dict]) -> tuple[Path, str]:
    """`rows` as one input of `kind`; returns (SRC, the --glob for a folder)."""
    root.mkdir(parents=True, exist_ok=True)
    lines = "".join(json.dumps(row) + "\n" for row in rows).encode()
    if kind == "parquet":
        pq.write_table(pa.Table.from_pylist(rows), root / "in.parquet", row_group_size=7)
        return root / "in.parquet", "*.txt"
    if kind == "zst-folder":
        folder = root / "shards"
        folder.mkdir()
        for part in range(3):
            chunk = "".join(json.dumps(row) + "\n" for row in rows[part::3]).encode()
            (folder / f"part-{part}.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress(chunk))
        return folder, "*.jsonl.zst"
    name = {"jsonl": "in.jsonl", "gz": "in.jsonl.gz", "zst": "in.jsonl.zst"}[kind]
    data = {"jsonl": lines, "gz": gzip.compress(lines), "zst": zstandard.ZstdCompressor().compress(lines)}[kind]
    (root / name).write_bytes(data)
    return root / name, "*.txt"


def digest(root: Path) -> dict[str, str]:
    """sha256 of every file a reader sees under `root`; report.json and report.html without their timing."""
    return {path.relative_to(root).as_posix(): hashlib.sha256(without_timing(path.name, path.read_bytes())).hexdigest()
            for path in sorted(p for p in root.rglob("*") if p.is_file())}


class Crash(Exception):
    """A failure after some work that no checkpoint holds (as a kill -9 would leave)."""


def crash_after(j: int):
    seen = []

    def on_document(doc):
        seen.append(doc)
        if len(seen) == j:
            raise Crash

    return on_document


KINDS = ["jsonl", "gz", "zst", "zst-folder", "parquet"]


EXAMPLES = int(os.environ.get("CLEANER_EXAMPLES", "12"))  # more for a longer search


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(KINDS), seed=st.integers(0, 10**6), stop=st.integers(1, 40), crash=st.integers(1, 40))
def test_a_record_run_stopped_then_crashed_then_resumed_equals_one_clean_run(tmp_path_factory, monkeypatch,
                                                                           kind, seed, stop, crash):
    """SIGTERM at document `stop` (a checkpoint there), resume, then a crash `crash`
    documents later with no checkpoint since, resume again: the same bytes as one run.
    Small shards and frames, so the cuts fall inside shards and inside frames."""
    monkeypatch.setattr(FrameWriter, "BLOCK", 300)
    root = tmp_path_factory.mktemp("run")
    src, glob = write_input(root / "in", kind, records(seed, 45))
    config = Config(glob=glob, shard_records=7)
    clean(src, root / "reference", config)
    dst = root / "out"
    with pytest.raises(Interrupted):
        clean(src, dst, config, RunOptions(stop=stop_after(stop), checkpoint_seconds=3600))
    with pytest.raises(Crash):  # somewhere in the documents left
        clean(src, dst, config, RunOptions(resume=True, on_document=crash_after(1 + crash % (45 - stop)),
                                           checkpoint_seconds=3600))
    clean(src, dst, config, RunOptions(resume=True))
    assert digest(dst) == digest(root / "reference")


def test_every_record_ends_in_the_output_or_at_document_level_in_a_log(tmp_path: Path):
    src, _ = write_input(tmp_path / "in", "jsonl", records(7, 80))
    report = clean(src, tmp_path / "out", Config())
    kept = {json.loads(line)["id"] for line in (tmp_path / "out/part-00000.jsonl").open()}
    logged = {json.loads(line)["id"]: json.loads(line) for line in (tmp_path / "out/.cleaner/removed.jsonl").open()
              if "paragraph" not in json.loads(line)}
    emptied = [e for e in logged.values() if e["reason"] == "emptied"]
    assert emptied and report.documents_emptied == len(emptied)
    assert all(sum(e["removed_by_reason"].values()) == e["paragraphs"] > 0 for e in emptied)
    assert kept.isdisjoint(logged) and kept | set(logged) == {f"r{n:03d}" for n in range(80)}


@pytest.mark.parametrize("with_log_dir", [False, True])
def test_a_link_inside_dst_never_lets_a_folder_run_write_outside_it(tmp_path: Path, with_log_dir: bool):
    (tmp_path / "SRC/sub").mkdir(parents=True)
    (tmp_path / "SRC/sub/a.txt").write_text("The harbour council met on Tuesday to approve the new budget.\n")
    (tmp_path / "OUTSIDE").mkdir()
    (tmp_path / "DST").mkdir()
    (tmp_path / "DST/sub").symlink_to(tmp_path / "OUTSIDE")
    args = ["--log-dir", str(tmp_path / "LOGS")] if with_log_dir else []
    command = ["clean", "-q", str(tmp_path / "SRC"), str(tmp_path / "DST"), "--overwrite", *args]
    result = CliRunner().invoke(main, command)
    assert result.exit_code == 1
    assert list((tmp_path / "OUTSIDE").iterdir()) == []
    logs = tmp_path / ("LOGS" if with_log_dir else "DST/.cleaner")
    [reject] = [json.loads(line) for line in (logs / "rejects.jsonl").open()]
    assert (reject["source"], reject["reason"]) == ("sub/a.txt", "unsafe_path")


def test_a_link_inside_dst_never_lets_a_record_run_write_through_it(tmp_path: Path):
    """A record becomes `<id>.txt`; a link of that name in DST is replaced, never followed."""
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"id": "a", "text": "The harbour council met on Tuesday to approve the budget."}) + "\n")
    (tmp_path / "outside.txt").write_text("kept as it was\n")
    (tmp_path / "DST").mkdir()
    (tmp_path / "DST/a.txt").symlink_to(tmp_path / "outside.txt")
    clean(src, tmp_path / "DST", Config(format="txt"), RunOptions(overwrite=True))
    assert (tmp_path / "outside.txt").read_text() == "kept as it was\n"
    assert not (tmp_path / "DST/a.txt").is_symlink()
    assert (tmp_path / "DST/a.txt").read_text().startswith("The harbour council")


def test_record_ids_that_cannot_be_file_names_are_rejected_one_by_one(tmp_path: Path):
    rows = [{"id": "same", "text": "The first story about the harbour council and its budget."},
            {"id": "same", "text": "A second story, about the railway and its new timetable."},
            {"id": "x" * 300, "text": "A third story, about the museum and its winter opening hours."},
            {"id": "", "text": "A fourth story, about the festival and its music programme."}]
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(row) + "\n" for row in rows))
    report = clean(src, tmp_path / "out", Config(format="txt"))
    reasons = [(r["line"], r["reason"]) for r in map(json.loads, (tmp_path / "out/.cleaner/rejects.jsonl").open())]
    assert reasons == [(2, "duplicate_id"), (3, "id_too_long"), (4, "empty_id")]
    assert [p.name for p in (tmp_path / "out").iterdir() if p.is_file()] == ["same.txt"]
    assert "first story" in (tmp_path / "out/same.txt").read_text() and report.documents_rejected == 3


def test_a_run_from_standard_input_cannot_resume_and_says_so(tmp_path: Path):
    with open(FIXTURES / "records" / "wire.jsonl", "rb") as stream, pytest.raises(UsageError, match="standard input"):
        clean(stream, tmp_path / "out", Config(), RunOptions(resume=True))
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
@needs_shared(REUTERS)
def test_every_reuters_id_is_in_the_output_or_a_log_through_a_pipe(tmp_path: Path):
    """The whole corpus through standard input: each of its ids is written, or has a
    document-level line in removed.jsonl (duplicate_document or emptied), or a reject."""
    with gzip.open(REUTERS, "rb") as stream, open(tmp_path / "out.jsonl", "wb") as out:
        report = clean(stream, out, Config(), RunOptions(log_dir=tmp_path / "logs"))
    ids = [json.loads(line)["id"] for line in gzip.open(REUTERS, "rt", encoding="utf-8")]
    written = {json.loads(line)["id"] for line in open(tmp_path / "out.jsonl", encoding="utf-8")}
    removed = {json.loads(line)["id"]: json.loads(line)["reason"] for line in open(tmp_path / "logs/removed.jsonl")
               if "paragraph" not in json.loads(line)}
    rejected = {json.loads(line)["id"] for line in open(tmp_path / "logs/rejects.jsonl")}
    assert len(ids) == len(set(ids)) == report.documents_in
    assert all(i in written or i in removed or i in rejected for i in ids)
    assert set(removed.values()) <= {"duplicate_document", "emptied", "empty"}
    assert list(removed.values()).count("emptied") == report.documents_emptied


def test_every_run_commits_its_html_report_and_cleaner_report_renders_it_again(tmp_path: Path):
    clean(FIXTURES / "demo", tmp_path / "out", Config())
    page = tmp_path / "out/.cleaner/report.html"
    first = page.read_bytes()
    assert b"council-budget.txt" in first and b"exact_duplicate" in first
    page.unlink()
    result = CliRunner().invoke(main, ["report", str(tmp_path / "out")])
    assert result.exit_code == 0 and result.output.strip() == str(page)
    assert page.read_bytes() == first  # the same run renders to the same bytes
    with open(FIXTURES / "records" / "wire.jsonl", "rb") as stream, open(tmp_path / "out.jsonl", "wb") as out:
        clean(stream, out, Config(), RunOptions(log_dir=tmp_path / "logs"))
    assert (tmp_path / "logs/report.html").read_bytes().count(b"wire-") > 0


def test_cleaner_report_of_a_folder_without_a_run_is_one_line_and_exit_2(tmp_path: Path):
    result = CliRunner().invoke(main, ["report", str(tmp_path)])
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1
    assert "report.json" in result.output
