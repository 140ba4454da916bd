from pathlib import Path

import pytest

from cleaner.config import Config
from cleaner.errors import UsageError
from cleaner.io.folder_reader import iter_files
from cleaner.io.sources import FolderSource, open_source
from tests.helpers import write_tree


def test_files_come_in_full_relative_path_order(tmp_path: Path):
    write_tree(tmp_path, {"b.txt": "b", "a/z.txt": "z", "a.txt": "a", "a/b/c.txt": "c", "a-b.txt": "x"})
    names = [name for _, name in iter_files(tmp_path, "*.txt")]
    assert names == sorted(names)
    assert names == ["a-b.txt", "a.txt", "a/b/c.txt", "a/z.txt", "b.txt"]


def test_glob_selects_by_file_name(tmp_path: Path):
    write_tree(tmp_path, {"keep.txt": "x", "skip.md": "y", "deep/also.txt": "z"})
    assert [name for _, name in iter_files(tmp_path, "*.txt")] == ["deep/also.txt", "keep.txt"]


def test_read_folder_yields_raw_bytes_and_sizes(tmp_path: Path):
    write_tree(tmp_path, {"one.txt": b"caf\xc3\xa9\n"})
    [doc] = list(FolderSource(tmp_path, Config()).documents())
    assert (doc.source, doc.raw, doc.bytes_in) == ("one.txt", b"caf\xc3\xa9\n", 6)


def test_reading_is_lazy(tmp_path: Path):
    write_tree(tmp_path, {f"{i:03}.txt": "x" for i in range(5)})
    docs = FolderSource(tmp_path, Config()).documents()
    first = next(docs)
    (tmp_path / "001.txt").write_text("changed")  # not read yet: a lazy reader sees the change
    (tmp_path / "004.txt").unlink()  # listed but gone: rejected, not lost
    rest = list(docs)
    assert first.raw == b"x"
    assert rest[0].raw == b"changed"
    assert [(d.source, d.reject and d.reject.reason) for d in rest[-1:]] == [("004.txt", "unreadable")]


def test_missing_source_is_a_usage_error(tmp_path: Path):
    with pytest.raises(UsageError, match="no such file or folder"):
        open_source(tmp_path / "nope", Config())
