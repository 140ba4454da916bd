"""cleaner.io.units: the work units of an input, read one after the other, are its documents."""

import gzip
import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cleaner.config import Config
from cleaner.io import units
from cleaner.io.sources import open_source
from tests.helpers import FIXTURES, SHARED, needs_shared, parquet_with_a_damaged_row_group, write_tree


def read_by_units(src, config: Config) -> list:
    stops = units.FileStops()
    return [doc for unit in open_source(src, config).units() for doc in stops(unit, units.read_unit(unit, config))]


def assert_same_documents(src: Path, config: Config) -> list:
    expected = list(open_source(src, config).documents())
    got = read_by_units(src, config)
    assert got == expected
    return got


def test_a_folder_of_text_and_record_files_in_small_units(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(units, "UNIT_BYTES", 300)
    records = "\n".join(json.dumps({"text": f"record {n} " * (n + 1)}) for n in range(30)) + "\n"
    src = write_tree(tmp_path / "src", {
        "a/one.txt": "First file.\n\nSecond paragraph.\n", "a/two.txt": b"\xff\xfe latin junk \xa3",
        "b/records.jsonl": records, "b/records.jsonl.gz": gzip.compress(records.encode()),
        "c/empty.txt": "", **{f"d/{n:03d}.txt": f"Story {n}.\n" * n for n in range(40)},
    })
    (src / "e").mkdir()
    (src / "e" / "link.txt").symlink_to(src / "a" / "one.txt")
    config = Config(glob="*")
    docs = assert_same_documents(src, config)
    assert len(list(open_source(src, config).units())) > 10
    assert any(doc.reject is not None and doc.reject.reason == "symlink" for doc in docs)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["", "   ", "{bad", '{"text": "x"}', '{"id": 7, "text": "a b c"}',
                                 '{"text": ' + json.dumps("long " * 40) + "}", '{"text": 3}', "\xff"]),
                min_size=1, max_size=60),
       st.booleans(), st.booleans(), st.integers(1, 400))
def test_jsonl_byte_ranges_give_the_same_ids_lines_and_rejects(tmp_path_factory, lines, bom, final_newline, unit):
    """Any mix of good, blank, malformed, oversized and non-UTF-8 lines, with or without a
    byte-order mark and a last newline, cut anywhere: the same documents as one read."""
    units.UNIT_BYTES, saved = unit, units.UNIT_BYTES
    try:
        path = tmp_path_factory.mktemp("jsonl") / "in.jsonl"
        body = "\n".join(lines).encode("utf-8", "surrogateescape").replace("\xff".encode(), b"\xff")
        path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + body + (b"\n" if final_newline else b""))
        assert_same_documents(path, Config(max_file_bytes=150))
    finally:
        units.UNIT_BYTES = saved


def test_a_truncated_compressed_file_stops_where_the_sequential_read_does(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(units, "UNIT_BYTES", 200)
    records = "".join(json.dumps({"text": f"line {n} of the stream"}) + "\n" for n in range(200)).encode()
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(gzip.compress(records)[:-40])
    docs = assert_same_documents(path, Config())
    assert docs[-1].reject is not None and docs[-1].reject.reason == "truncated"


def test_parquet_row_groups_number_their_rows_as_one_read(tmp_path: Path):
    table = pa.table({"id": [f"r{n}" for n in range(50)], "text": [f"row {n} text" for n in range(50)],
                      "n": list(range(50))})
    path = tmp_path / "rows.parquet"
    pq.write_table(table, path, row_group_size=7)
    docs = assert_same_documents(path, Config())
    assert len(list(open_source(path, Config()).units())) == 8 and docs[-1].origin.line == 50
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"not parquet at all")
    assert assert_same_documents(bad, Config())[0].reject.reason == "unreadable"


def test_a_broken_row_group_keeps_the_rows_before_it_and_ends_the_file(tmp_path: Path):
    """Row group 2 of 5 damaged: its groups' rows are kept, the reject is at its first row
    (41), the groups after it are not read, by one sequential read or by units alike."""
    path = parquet_with_a_damaged_row_group(tmp_path / "damaged.parquet")
    docs = assert_same_documents(path, Config())
    assert len(docs) == 41 and docs[-1].reject.reason == "unreadable" and docs[-1].reject.line == 41


@needs_shared(SHARED / "data" / "reuters21578.jsonl.gz")
def test_the_shared_corpora_in_units(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(units, "UNIT_BYTES", 1 << 16)
    reuters = SHARED / "data" / "reuters21578.jsonl.gz"
    assert_same_documents(reuters, Config())
    plain = tmp_path / "reuters.jsonl"
    plain.write_bytes(gzip.decompress(reuters.read_bytes()))
    assert len(assert_same_documents(plain, Config())) > 10_000
    assert_same_documents(SHARED / "data" / "bbc", Config())
    assert_same_documents(FIXTURES / "demo", Config())


def test_a_file_that_cannot_be_opened_is_one_reject(tmp_path: Path):
    path = tmp_path / "gone.jsonl"
    path.write_text('{"text": "x"}\n')
    path.chmod(0)
    try:
        if path.stat().st_mode and _readable(path):
            pytest.skip("running as a user that reads everything")
        assert assert_same_documents(path, Config())[0].reject.reason == "unreadable"
    finally:
        path.chmod(0o644)


def _readable(path: Path) -> bool:
    try:
        path.open("rb").close()
        return True
    except OSError:
        return False
