from collections.abc import Iterator
import contextlib
import os
from pathlib import Path
import signal
import socket
import stat

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



@contextlib.contextmanager
def no_hang(seconds: int = 10) -> Iterator[None]:
    """A guard for a read that could block: SIGALRM raises instead of hanging the suite."""
    def raise_timeout(signum, frame):
        raise TimeoutError("the read blocked")
    previous = signal.signal(signal.SIGALRM, raise_timeout)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_a_fifo_or_socket_matching_the_glob_is_rejected_not_skipped(tmp_path: Path):
    write_tree(tmp_path, {"a.txt": "text"})
    os.mkfifo(tmp_path / "b.txt")
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(tmp_path / "c.txt"))
        with no_hang():
            docs = list(FolderSource(tmp_path, Config()).documents())
    assert [(d.source, d.reject and d.reject.reason) for d in docs] == [
        ("a.txt", None), ("b.txt", "not_regular_file"), ("c.txt", "not_regular_file")]
    assert "FIFO" in docs[1].reject.message and "socket" in docs[2].reject.message


def test_a_file_replaced_by_a_fifo_after_the_listing_never_blocks(tmp_path: Path):
    write_tree(tmp_path, {"a.txt": "text", "b.txt": "text"})
    docs = FolderSource(tmp_path, Config()).documents()
    assert next(docs).raw == b"text"  # b.txt is listed by now
    (tmp_path / "b.txt").unlink()
    os.mkfifo(tmp_path / "b.txt")  # no writer: a blocking open() would wait forever
    with no_hang():
        [doc] = list(docs)
    assert (doc.source, doc.reject.reason) == ("b.txt", "not_regular_file")


def test_a_device_matching_the_glob_is_rejected(tmp_path: Path):
    try:
        os.mknod(tmp_path / "null.txt", 0o600 | stat.S_IFCHR, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("creating a device node needs CAP_MKNOD")
    [doc] = list(FolderSource(tmp_path, Config()).documents())
    assert doc.reject.reason == "not_regular_file"
    assert doc.reject.message == "not a regular file (a character device); not read"


def test_a_link_to_a_fifo_is_followed_then_rejected_by_what_it_opens(tmp_path: Path):
    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "link.txt").symlink_to(tmp_path / "pipe")
    with no_hang():
        [doc] = list(FolderSource(tmp_path, Config(follow_symlinks=True)).documents())
    assert doc.reject.reason == "not_regular_file"
