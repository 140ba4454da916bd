import gzip
import io
import json
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard

from cleaner.config import Config
from cleaner.errors import OutputError
from cleaner.io.atomic import write_atomic
from cleaner.io.logs import RunLogs
from cleaner.io.sinks import (
    JsonlShards,
    ParquetShards,
    StreamSink,
    TextFiles,
    output_line,
    output_record,
    remove_old_shards,
)
from cleaner.io.sources import open_source
from cleaner.record import Document, Paragraph, Removal
from tests.helpers import FIXTURES, write_tree

WIRE = FIXTURES / "records" / "wire.jsonl"


def cleaned(doc: Document, *paragraphs: str) -> Document:
    doc.paragraphs = [Paragraph(i, t) for i, t in enumerate(paragraphs)]
    return doc


def test_output_line_replaces_only_the_text_value():
    line = WIRE.read_text(encoding="utf-8").splitlines()[3]  # \u escapes, nested metadata
    [doc] = [d for d in open_source(WIRE, Config()).documents() if d.id == "wire-4"]
    out = output_line(cleaned(doc, "Café “new”", "Second."), Config())
    start, _ = doc.origin.span
    end = len(line) - len(doc.origin.raw) + start  # where the text value ended in the line
    assert json.loads(line[start:end]) == doc.text
    assert out.endswith("\n") and out.count("\n") == 1
    assert out[:start] == line[:start] and out.rstrip("\n").endswith(line[end:])
    assert json.loads(out)["text"] == "Café “new”\n\nSecond."


def test_a_made_id_is_added_and_other_fields_kept(tmp_path: Path):
    path = write_tree(tmp_path, {"x.jsonl": '{"text": "a b", "n": 1.50}\n'}) / "x.jsonl"
    [doc] = open_source(path, Config()).documents()
    out = output_line(cleaned(doc, "a b"), Config())
    assert out == '{"text": "a b", "n": 1.50, "id": "x.jsonl:1"}\n'
    assert output_record(doc, Config()) == {"text": "a b", "n": 1.5, "id": "x.jsonl:1"}


def test_a_text_file_document_becomes_an_id_and_text_record():
    doc = cleaned(Document(id="a/b.txt", source="a/b.txt"), "One.", "Two.")
    assert output_record(doc, Config(text_field="body")) == {"id": "a/b.txt", "body": "One.\n\nTwo."}


def docs_from(lines: int) -> list[Document]:
    docs = []
    for i in range(lines):
        doc = Document(id=str(i), source="s")
        docs.append(cleaned(doc, f"record {i} " + "word " * 20))
    return docs


@pytest.mark.parametrize("compression", ["none", "gzip", "zstd"])
def test_shards_split_by_count_and_read_back(tmp_path: Path, compression: str):
    shards = JsonlShards(tmp_path, compression, Config(shard_records=4))
    for doc in docs_from(10):
        shards.write(doc)
    shards.commit()
    names = sorted(p.name for p in tmp_path.iterdir())
    suffix = {"none": "", "gzip": ".gz", "zstd": ".zst"}[compression]
    assert names == [f"part-0000{i}.jsonl{suffix}" for i in range(3)]
    ids = [d.id for name in names for d in open_source(tmp_path / name, Config()).documents()]
    assert ids == [str(i) for i in range(10)]


def test_shards_split_by_bytes_on_disk(tmp_path: Path):
    shards = JsonlShards(tmp_path, "none", Config(shard_bytes=300))
    for doc in docs_from(10):
        shards.write(doc)
    shards.commit()
    sizes = [p.stat().st_size for p in sorted(tmp_path.iterdir())]
    assert len(sizes) > 2 and all(size < 300 + 200 for size in sizes)


@pytest.mark.parametrize("compression", ["gzip", "zstd"])
def test_compressed_shards_split_where_plain_ones_do(tmp_path: Path, compression: str):
    """--shard-bytes counts JSONL bytes before compression, so the split does not depend
    on how far the compressing thread has got."""
    for name, kind in (("plain", "none"), ("packed", compression)):
        shards = JsonlShards(tmp_path / name, kind, Config(shard_bytes=300))
        for doc in docs_from(10):
            shards.write(doc)
        shards.commit()
    plain = [[d.id for d in open_source(p, Config()).documents()] for p in sorted((tmp_path / "plain").iterdir())]
    packed = [[d.id for d in open_source(p, Config()).documents()] for p in sorted((tmp_path / "packed").iterdir())]
    assert len(plain) > 2 and packed == plain


def test_gzip_shards_are_the_same_bytes_every_run(tmp_path: Path):
    for run in ("a", "b"):
        shards = JsonlShards(tmp_path / run, "gzip", Config())
        for doc in docs_from(3):
            shards.write(doc)
        shards.commit()
    assert (tmp_path / "a/part-00000.jsonl.gz").read_bytes() == (tmp_path / "b/part-00000.jsonl.gz").read_bytes()


def test_an_abandoned_shard_leaves_only_complete_shards_in_sight(tmp_path: Path):
    """After a failure a reader of part-* sees complete shards only; the shard in progress
    stays hidden for a resume, and a new run's clean-up removes it."""
    shards = JsonlShards(tmp_path, "zstd", Config(shard_records=2))
    for doc in docs_from(3):
        shards.write(doc)
    shards.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == [".part-00001.jsonl.zst.partial", "part-00000.jsonl.zst"]
    assert zstandard.ZstdDecompressor().decompressobj().decompress(
        (tmp_path / "part-00000.jsonl.zst").read_bytes()).count(b"\n") == 2
    assert remove_old_shards(tmp_path) == [".part-00001.jsonl.zst.partial", "part-00000.jsonl.zst"]
    assert list(tmp_path.iterdir()) == []


def test_parquet_shards_keep_the_input_schema(tmp_path: Path):
    schema = pa.schema([("id", pa.string()), ("text", pa.string()), ("n", pa.int32())])
    pq.write_table(pa.Table.from_pylist([{"id": "a", "text": "x y", "n": 1}, {"id": "b", "text": "z", "n": 2}],
                                        schema=schema), tmp_path / "in.parquet")
    shards = ParquetShards(tmp_path / "out", Config())
    for doc in open_source(tmp_path / "in.parquet", Config()).documents():
        shards.write(cleaned(doc, doc.text.upper()))
    shards.commit()
    table = pq.read_table(tmp_path / "out/part-00000.parquet")
    assert table.schema == schema
    assert table.to_pylist() == [{"id": "a", "text": "X Y", "n": 1}, {"id": "b", "text": "Z", "n": 2}]


def test_stream_sink_writes_lines_and_a_closed_pipe_is_an_output_error():
    stream = io.BytesIO()
    sink = StreamSink(stream, Config())
    sink.write(docs_from(1)[0])
    sink.commit()
    assert json.loads(stream.getvalue())["id"] == "0"
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader went away, as `cleaner ... - | head` does
    with open(write_end, "wb", buffering=0) as pipe, pytest.raises(OutputError, match="cannot write: Broken pipe"):
        StreamSink(pipe, Config()).write(docs_from(1)[0])


def test_text_files_are_named_by_a_safe_id(tmp_path: Path):
    src = write_tree(tmp_path, {"x.jsonl": '{"id": "../a b/c", "text": "t"}\n'}) / "x.jsonl"
    [doc] = open_source(src, Config()).documents()
    TextFiles(tmp_path / "out").write(cleaned(doc, "t"))
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["..%2Fa%20b%2Fc.txt"]


def test_logs_name_file_and_line_of_records(tmp_path: Path):
    docs = list(open_source(FIXTURES / "records" / "bad.jsonl", Config()).documents())
    removed = cleaned(docs[0], "x")
    removed.removal = Removal("exact_duplicate_document")
    logs = RunLogs(tmp_path / "logs", ("removed.jsonl", "rejects.jsonl"))
    for doc in docs:
        logs.write(doc)
    logs.commit()
    rejects = [json.loads(line) for line in (tmp_path / "logs/rejects.jsonl").open()]
    assert [(r["source"], r["line"], r["reason"]) for r in rejects][:2] == [
        ("bad.jsonl", 2, "malformed_json"), ("bad.jsonl", 3, "missing_text")]
    entries = [json.loads(line) for line in (tmp_path / "logs/removed.jsonl").open()]
    [entry] = [e for e in entries if e["reason"] != "empty"]  # the others were never segmented: nothing to write
    assert (entry["id"], entry["line"], entry["reason"]) == ("ok-1", 1, "exact_duplicate_document")
    assert all(e["paragraphs"] == 0 and e["duplicate_of"] is None for e in entries if e["reason"] == "empty")
    assert not (tmp_path / "logs/files.jsonl").exists()


def test_written_files_are_readable_by_others(tmp_path: Path):
    write_atomic(tmp_path / "a.txt", b"x")
    assert (tmp_path / "a.txt").stat().st_mode & 0o044  # not mkstemp's 0600 (umask permitting)
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_gzip_output_is_a_real_gzip_stream(tmp_path: Path):
    shards = JsonlShards(tmp_path, "gzip", Config())
    shards.write(docs_from(1)[0])
    shards.commit()
    assert json.loads(gzip.decompress((tmp_path / "part-00000.jsonl.gz").read_bytes()))["id"] == "0"


def test_overwriting_removes_the_old_runs_shards_only(tmp_path: Path):
    write_tree(tmp_path, {"part-00000.jsonl": "old", "part-00007.parquet": "old", "notes.txt": "mine",
                          "part-1.jsonl": "not ours"})
    assert remove_old_shards(tmp_path) == ["part-00000.jsonl", "part-00007.parquet"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt", "part-1.jsonl"]


def test_parquet_from_mixed_records_keeps_every_field_or_says_why(tmp_path: Path, monkeypatch):
    monkeypatch.setattr("cleaner.io.shards.PARQUET_BATCH_ROWS", 2)
    lines = ['{"id": "a", "text": "x"}', '{"id": "b", "text": "y", "lang": "en"}', '{"id": "c", "text": "z"}',
             '{"id": "d", "text": "w", "url": "http://example.org"}']
    docs = list(open_source(write_tree(tmp_path, {"x.jsonl": "\n".join(lines)}) / "x.jsonl", Config()).documents())
    shards = ParquetShards(tmp_path / "out", Config())
    for doc in docs[:3]:
        shards.write(cleaned(doc, doc.text))
    with pytest.raises(OutputError, match="field 'url' is not in the Parquet schema"):
        shards.write(cleaned(docs[3], docs[3].text))
        shards.commit()
    shards.close()
    shards = ParquetShards(tmp_path / "ok", Config())
    for doc in docs[:3]:
        shards.write(cleaned(doc, doc.text))
    shards.commit()
    rows = pq.read_table(tmp_path / "ok/part-00000.parquet").to_pylist()
    assert rows[1] == {"id": "b", "text": "y", "lang": "en"} and rows[2]["lang"] is None
