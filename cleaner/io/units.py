"""Work units: an input cut, before any work starts, into pieces a worker reads by itself.

A source's `units()` gives them in input order, from its sorted manifest; reading them one
after the other (`read_unit`) gives exactly the documents of `Source.documents()`, with
the same ids, line numbers and rejects. What a unit is:

- `TextFiles`: a run of consecutive text files of a folder (about UNIT_BYTES in all);
- `LineRange`: a byte range of an uncompressed JSONL file, cut after a newline, with the
  number of its first line (the main process counts the newlines: a memchr-speed scan);
- `RowGroup`: one row group of a Parquet file, with the number of its first row;
- `LineBlock`: lines the main process has already read, for what cannot be cut without
  reading it (a .gz or .zst stream, standard input): the main process only decompresses
  and cuts, the worker parses;
- `Fixed`: documents the planning itself made (a file that cannot be opened: its reject).

A read error ends a file as a sequential read does: `FileStops` drops the later units of
a file after a unit that ended with one.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
import contextlib
from dataclasses import dataclass
import io
import os
from pathlib import Path
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq

from cleaner.config import Config
from cleaner.io.folder_reader import NotRegularFile, open_regular, read_file
from cleaner.io.paths import LinkGuard
from cleaner.io.record_reader import (
    STREAM_ERRORS,
    file_compression,
    file_format,
    open_jsonl,
    parse_line,
    read_jsonl,
    read_lines,
    read_parquet,
    rejected,
    stream_error,
)
from cleaner.record import Document

UNIT_BYTES = 1 << 20  # input bytes a unit holds, about (one line or file may exceed it)
UNIT_FILES = 512  # ... and at most this many text files
_SCAN_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class TextFiles:
    root: str
    follow_symlinks: bool
    files: tuple[tuple[str, str], ...]  # (absolute path, relative name)


@dataclass(frozen=True, slots=True)
class LineRange:
    path: str
    source: str
    start: int
    end: int
    first_line: int


@dataclass(frozen=True, slots=True)
class RowGroup:
    path: str
    source: str
    group: int
    first_row: int


@dataclass(frozen=True, slots=True)
class LineBlock:
    source: str
    first_line: int
    lines: list[bytes | int]
    error: tuple[str, str] | None = None  # (reason, message): the stream failed after these lines


@dataclass(frozen=True, slots=True)
class Fixed:
    docs: tuple[Document, ...]


Unit = TextFiles | LineRange | RowGroup | LineBlock | Fixed


# --- planning (the main process) --------------------------------------------------------

class TextRun:
    """Consecutive text files of a folder, gathered into `TextFiles` units."""

    def __init__(self, root: Path, follow_symlinks: bool) -> None:
        self.root, self.follow = str(root.absolute()), follow_symlinks
        self.files: list[tuple[str, str]] = []
        self.size = 0

    def add(self, path: Path, name: str) -> Iterator[Unit]:
        """Add one file; the run as a unit when it is full."""
        self.files.append((os.path.abspath(path), name))
        with contextlib.suppress(OSError):  # read (and rejected) by the worker
            self.size += (path.stat() if self.follow else path.lstat()).st_size
        if self.size >= UNIT_BYTES or len(self.files) >= UNIT_FILES:
            yield from self.flush()

    def flush(self) -> Iterator[Unit]:
        """The run so far as a unit (nothing if empty), and a new run."""
        if self.files:
            yield TextFiles(self.root, self.follow, tuple(self.files))
        self.files, self.size = [], 0


def record_file_units(path: Path, source: str, config: Config) -> Iterator[Unit]:
    """The units of one JSONL or Parquet file: byte ranges, row groups, or blocks of lines
    read here (a compressed file); a file that cannot be opened is its reject."""
    kind = file_format(path.name)
    split = kind == "parquet" or file_compression(path.name) == "none"
    try:
        stream = open_regular(path) if split else open_jsonl(path)
    except NotRegularFile as err:
        yield Fixed((rejected(source, 1, "not_regular_file", str(err)),))
        return
    except OSError as err:
        yield Fixed((rejected(source, 1, "unreadable", err.strerror or str(err)),))
        return
    with stream:
        if kind == "parquet":
            yield from _row_groups(stream, os.path.abspath(path), source)
        elif split:
            yield from _line_ranges(stream, os.path.abspath(path), source)
        else:
            yield from line_blocks(stream, source, config)


def _row_groups(stream: BinaryIO, path: str, source: str) -> Iterator[Unit]:
    try:
        with pq.ParquetFile(stream) as parquet:
            counts = [parquet.metadata.row_group(g).num_rows for g in range(parquet.metadata.num_row_groups)]
    except (OSError, pa.ArrowException) as err:
        yield Fixed((rejected(source, 1, "unreadable", f"cannot read Parquet: {err}"),))
        return
    first = 1
    for group, rows in enumerate(counts):
        yield RowGroup(path, source, group, first)
        first += rows


def _line_ranges(stream: BinaryIO, path: str, source: str) -> Iterator[Unit]:
    """Ranges of about UNIT_BYTES, each ending after a newline (the last: at the end)."""
    start = pos = pending = 0  # pending: newlines in [start, pos)
    line = 1
    try:
        while block := stream.read(min(_SCAN_BYTES, UNIT_BYTES)):
            pos += len(block)
            pending += block.count(b"\n")
            cut = block.rfind(b"\n") if pos - start >= UNIT_BYTES else -1
            if cut < 0:
                continue
            end = pos - len(block) + cut + 1  # the newline at `cut` is the last of the block
            yield LineRange(path, source, start, end, line)
            line, start, pending = line + pending, end, 0
    except OSError as err:
        yield Fixed((rejected(source, line, *stream_error(err)),))
        return
    if pos > start:
        yield LineRange(path, source, start, pos, line)


def line_blocks(stream: BinaryIO, source: str, config: Config) -> Iterator[Unit]:
    """The lines of a stream that cannot be cut unread, in blocks of about UNIT_BYTES."""
    lines: list[bytes | int] = []
    first, size, error = 1, 0, None
    try:
        for line, raw in enumerate(read_lines(stream, config.max_file_bytes), 1):
            lines.append(raw)
            size += raw if isinstance(raw, int) else len(raw)
            if size >= UNIT_BYTES:
                yield LineBlock(source, first, lines)
                lines, first, size = [], line + 1, 0
    except STREAM_ERRORS as err:
        error = stream_error(err)
    if lines or error is not None:
        yield LineBlock(source, first, lines, error)


# --- reading (a worker) -----------------------------------------------------------------

def read_unit(unit: Unit, config: Config) -> list[Document]:
    """The documents of `unit`, as the source's sequential read gives them."""
    if isinstance(unit, TextFiles):
        links = LinkGuard(Path(unit.root), unit.follow_symlinks)
        return [read_file(Path(path), name, config.max_file_bytes, links) for path, name in unit.files]
    if isinstance(unit, LineRange):
        with io.BufferedReader(_Range(open_regular(Path(unit.path)), unit.start, unit.end)) as stream:
            return list(read_jsonl(stream, unit.source, config, unit.first_line))
    if isinstance(unit, RowGroup):
        with open_regular(Path(unit.path)) as stream:
            return list(read_parquet(stream, unit.source, config, unit.group, unit.first_row))
    if isinstance(unit, LineBlock):
        return _parse_block(unit, config)
    return list(unit.docs)


def _parse_block(block: LineBlock, config: Config) -> list[Document]:
    docs = [doc for line, raw in enumerate(block.lines, block.first_line)
            if (doc := parse_line(raw, line, block.source, config)) is not None]
    if block.error is not None:
        docs.append(rejected(block.source, block.first_line + len(block.lines), *block.error))
    return docs


class _Range(io.RawIOBase):
    """Bytes [start, end) of an open file, as a stream of their own."""

    def __init__(self, raw: BinaryIO, start: int, end: int) -> None:
        self._raw, self._left = raw, end - start
        raw.seek(start)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        size = min(len(buffer), self._left)
        if size <= 0:
            return 0
        got = self._raw.readinto(memoryview(buffer)[:size])  # type: ignore[attr-defined]
        self._left -= got or 0
        return got or 0

    def close(self) -> None:
        self._raw.close()
        super().close()


class FileStops:
    """In input order: drop the units of a file after one whose read failed (its last
    document is the `unreadable` reject), as the sequential read stops at the failure."""

    def __init__(self, stopped: str | None = None) -> None:
        self.stopped = stopped

    def __call__(self, unit: Unit, docs: list[Document]) -> list[Document]:
        source = getattr(unit, "source", None)
        if source is None:
            return docs
        if source == self.stopped:
            return []
        last = docs[-1].reject if docs else None
        if isinstance(unit, (LineRange, RowGroup)) and last is not None and last.reason == "unreadable":
            self.stopped = source
        return docs


Position = tuple[int, int, "str | None"]  # (unit, documents before it, the file stopped by then)


class Cursor:
    """Where a run is in its units. `documents` yields the documents of the prepared units
    in order (as `FileStops` leaves them); `position(n)` is the unit to restart from once
    `n` documents are finished: a resume starts there, not at the first unit."""

    def __init__(self, start: Position | None = None) -> None:
        self.unit, self.before, stopped = start or (0, 0, None)
        self.stops = FileStops(stopped)
        self._starts: deque[Position] = deque()

    def documents(self, prepared: Iterable[tuple[Unit, list[Document]]]) -> Iterator[Document]:
        for unit, docs in prepared:
            self._starts.append((self.unit, self.before, self.stops.stopped))
            docs = self.stops(unit, docs)
            self.unit, self.before = self.unit + 1, self.before + len(docs)
            yield from docs

    def position(self, finished: int) -> Position:
        """The last unit begun whose documents before it are all finished."""
        while len(self._starts) > 1 and self._starts[1][1] <= finished:
            self._starts.popleft()
        if self._starts and self._starts[0][1] <= finished:
            return self._starts[0]
        return self.unit, self.before, self.stops.stopped
