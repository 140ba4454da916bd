import gzip
import io
import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard

from cleaner.config import Config
from cleaner.errors import UsageError
from cleaner.io.record_reader import ZstdReader, parse_object, read_dicts, read_jsonl
from cleaner.io.sources import open_source
from tests.helpers import FIXTURES, write_tree

WIRE = FIXTURES / "records" / "wire.jsonl"
BAD = FIXTURES / "records" / "bad.jsonl"

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)


def wire_lines() -> list[str]:
    return WIRE.read_text(encoding="utf-8").splitlines()


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(max_size=6), JSON_VALUES, max_size=5), st.text(), st.booleans(), st.booleans())
def test_parse_object_agrees_with_json_loads_and_finds_the_text(fields, text, ascii_only, spaced):
    record = {**fields, "text": text}
    line = json.dumps(record, ensure_ascii=ascii_only, separators=(", ", ": ") if spaced else (",", ":"))
    parsed, span = parse_object(line, "text")
    assert parsed == json.loads(line) and list(parsed) == list(json.loads(line))
    assert json.loads(line[span[0]:span[1]]) == text


@pytest.mark.parametrize("line", ['{"a": 1', '{"a" 1}', '{"a": 1,}', '{"a": 1} x', '{a: 1}', '', '{"a": [}'])
def test_parse_object_refuses_what_json_loads_refuses(line):
    with pytest.raises(json.JSONDecodeError):
        json.loads(line)
    with pytest.raises(json.JSONDecodeError):
        parse_object(line, "text")


def test_a_record_must_be_an_object():
    with pytest.raises(json.JSONDecodeError, match=r"Expecting '\{'"):
        parse_object("[1, 2]", "text")


def test_jsonl_records_keep_their_fields_and_line():
    docs = list(open_source(WIRE, Config()).documents())
    assert [d.id for d in docs] == ["wire-1", "wire-2", "wire-3", "wire-4"]
    first = json.loads(wire_lines()[0])
    assert docs[0].text == first["text"] and docs[0].raw is None
    record, line = docs[0].origin, wire_lines()[0]
    assert record.fields == {**first, "text": None} and list(record.fields) == list(first)  # in place
    assert record.line == 1
    start, end = record.span  # the line without its text value, which the document holds
    assert start == end and line.startswith(record.raw[:start]) and line.endswith(record.raw[start:])
    assert json.loads(line[start:len(line) - len(record.raw) + start]) == first["text"]
    assert all(d.source == "wire.jsonl" for d in docs)


def test_every_kind_of_bad_record_is_rejected_with_its_line():
    docs = list(open_source(BAD, Config()).documents())
    got = [(d.reject.line, d.reject.reason) if d.reject else d.id for d in docs]
    assert got == ["ok-1", (2, "malformed_json"), (3, "missing_text"), (4, "not_text"),
                   (5, "lone_surrogate"), "ok-2"]
    assert "U+D83D" in docs[4].reject.message


def test_a_line_of_invalid_utf8_is_rejected_not_the_file(tmp_path: Path):
    path = write_tree(tmp_path, {"x.jsonl": b'{"text": "ok"}\n{"text": "caf\xe9"}\n{"text": "fine"}\n'}) / "x.jsonl"
    docs = list(open_source(path, Config()).documents())
    assert [d.reject.reason if d.reject else d.text for d in docs] == ["ok", "not_utf8", "fine"]
    assert docs[1].reject.line == 2


def test_a_missing_id_is_made_from_file_and_line(tmp_path: Path):
    path = write_tree(tmp_path, {"x.jsonl": '{"text": "a"}\n\n{"text": "b", "id": 7}\n'}) / "x.jsonl"
    assert [d.id for d in open_source(path, Config()).documents()] == ["x.jsonl:1", "7"]


def test_other_field_names(tmp_path: Path):
    path = write_tree(tmp_path, {"x.jsonl": '{"body": "words here", "doc_id": "d1", "text": 3}\n'}) / "x.jsonl"
    [doc] = open_source(path, Config(text_field="body", id_field="doc_id")).documents()
    assert (doc.id, doc.text, doc.reject) == ("d1", "words here", None)


def compressed_copies(tmp_path: Path) -> list[Path]:
    data = WIRE.read_bytes()
    (tmp_path / "w.jsonl.gz").write_bytes(gzip.compress(data))
    (tmp_path / "w.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress(data))
    table = pa.Table.from_pylist([json.loads(line) for line in wire_lines()])
    pq.write_table(table, tmp_path / "w.parquet")
    return [WIRE, tmp_path / "w.jsonl.gz", tmp_path / "w.jsonl.zst", tmp_path / "w.parquet"]


def test_every_format_gives_the_same_documents(tmp_path: Path):
    paths = compressed_copies(tmp_path)
    results = [[(d.id, d.text) for d in open_source(path, Config()).documents()] for path in paths]
    assert all(r == results[0] for r in results) and len(results[0]) == 4


def test_parquet_is_read_in_batches_with_its_schema(tmp_path: Path, monkeypatch):
    monkeypatch.setattr("cleaner.io.record_reader.PARQUET_BATCH_ROWS", 2)
    path = compressed_copies(tmp_path)[-1]
    docs = list(open_source(path, Config()).documents())
    assert [d.origin.line for d in docs] == [1, 2, 3, 4]
    assert docs[0].origin.schema == pq.read_schema(path)


@pytest.mark.parametrize("suffix", [".jsonl.gz", ".jsonl.zst"])
def test_a_truncated_stream_is_rejected_at_the_line_where_it_stops(tmp_path: Path, suffix: str):
    data = b"".join(b'{"id": %d, "text": "record number %d of many"}\n' % (i, i) for i in range(5000))
    packed = gzip.compress(data) if suffix.endswith("gz") else zstandard.ZstdCompressor().compress(data)
    path = tmp_path / f"cut{suffix}"
    path.write_bytes(packed[: len(packed) * 2 // 3])
    docs = list(open_source(path, Config()).documents())
    *good, last = docs
    assert last.reject is not None and last.reject.reason == "truncated"
    assert all(d.reject is None for d in good[:-1])  # the last line read may be cut mid-record
    assert last.reject.line == len(good) + 1 and len(good) < 5000


def test_zstd_reader_reads_every_frame_and_notices_a_cut():
    one, two = b'{"text": "a"}\n' * 1000, b'{"text": "b"}\n' * 1000
    frames = zstandard.ZstdCompressor().compress(one) + zstandard.ZstdCompressor().compress(two)
    assert io.BufferedReader(ZstdReader(io.BytesIO(frames))).read() == one + two
    with pytest.raises(EOFError):
        io.BufferedReader(ZstdReader(io.BytesIO(frames[:-3]))).read()


def test_stdin_stream_is_jsonl():
    docs = list(read_jsonl(io.BytesIO(WIRE.read_bytes()), "<stdin>", Config()))
    assert len(docs) == 4 and docs[0].source == "<stdin>"
    assert list(open_source(io.BytesIO(WIRE.read_bytes()), Config()).documents())[3].id == "wire-4"


def test_a_folder_mixes_record_files_and_text_files_in_path_order(tmp_path: Path):
    write_tree(tmp_path, {"b/part.jsonl": '{"id": "r1", "text": "one"}\n{"id": "r2", "text": "two"}\n',
                          "a.txt": "plain text", "c.md": "not matched"})
    docs = list(open_source(tmp_path, Config(glob="*.*[lt]")).documents())  # .jsonl and .txt
    assert [(d.source, d.id) for d in docs] == [("a.txt", "a.txt"), ("b/part.jsonl", "r1"), ("b/part.jsonl", "r2")]
    assert docs[0].raw == b"plain text" and docs[1].text == "one"


def test_input_format_by_name_or_glob(tmp_path: Path):
    (tmp_path / "x.parquet").write_bytes(b"")
    assert open_source(io.BytesIO(), Config()).format == "jsonl"
    assert open_source(tmp_path / "x.parquet", Config()).format == "parquet"
    assert open_source(tmp_path, Config(glob="*.jsonl.zst")).format == "jsonl"
    assert open_source(tmp_path, Config(glob="*.jsonl.zst")).compression == "zstd"
    assert open_source(tmp_path, Config()).format == "txt"


def test_a_text_file_as_source_is_refused(tmp_path: Path):
    path = write_tree(tmp_path, {"a.txt": "x"}) / "a.txt"
    with pytest.raises(UsageError, match=r"text files are read from a folder \(give the folder that holds it\)"):
        list(open_source(path, Config()).documents())


def test_dicts_from_python_are_records():
    docs = list(read_dicts([{"text": "a", "id": 1}, "not a dict", {"text": "b"}], Config(), "batch"))
    assert [d.id for d in docs] == ["1", "batch:2", "batch:3"]
    assert docs[1].reject.reason == "not_a_record"


def test_a_byte_order_mark_and_crlf_line_ends_are_accepted(tmp_path: Path):
    data = b'\xef\xbb\xbf{"id": "a", "text": "one"}\r\n{"id": "b", "text": "two"}\r\n'
    path = write_tree(tmp_path, {"x.jsonl": data})
    docs = list(open_source(path / "x.jsonl", Config()).documents())
    assert [(d.id, d.text, d.reject) for d in docs] == [("a", "one", None), ("b", "two", None)]
    assert docs[0].origin.raw == '{"id": "a", "text": }'  # no BOM, no CR (the text value is out)


def test_a_file_that_is_not_parquet_is_rejected(tmp_path: Path):
    path = write_tree(tmp_path, {"x.parquet": b"PAR1 but not really"}) / "x.parquet"
    [doc] = open_source(path, Config()).documents()
    assert doc.reject.reason == "unreadable" and doc.reject.line == 1 and "Parquet" in doc.reject.message
