"""Merging a run's spilled segments (cleaner.dedup.spills decides when): their slots are
global and contiguous, so a merge of adjacent segments is a concatenation (slots, shingles,
offsets, documents) plus a sorted merge of the band and exact tables (ties in slot order,
as `segment.merge` orders them).

A merge streams: it reads each segment's files in order, CHUNK entries at a time (read, not
mapped), and writes the new segment the same way, so its memory is a few chunks whatever
the level. The new segment is complete and fsynced before its record replaces the merged
ones; these are deleted only once no checkpoint can name them (`spills.Spills.checkpointed`).
"""

from __future__ import annotations

from collections.abc import Callable
import os
from pathlib import Path
from typing import Any

import numpy as np
import xxhash

from cleaner.dedup.keytable import directory_bits
from cleaner.io.atomic import fsync_folder

CHUNK = 1 << 18  # entries read from a file at a time (a merge holds a few of them a file)
DIRECTORY_STEP = 1 << 18  # bucket starts of a directory written at a time


def npy_header(stream: Any) -> tuple[tuple[int, ...], np.dtype]:
    """(shape, dtype) of the .npy file open in `stream`, which is left at its first entry."""
    version = np.lib.format.read_magic(stream)
    read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    shape, _, dtype = read(stream)
    return shape, dtype


class Reader:
    """A .npy file read in order, a chunk at a time."""

    def __init__(self, path: Path) -> None:
        self._stream = path.open("rb")
        shape, self.dtype = npy_header(self._stream)
        self.left = int(np.prod(shape))
        if not self.left:
            self._stream.close()

    def read(self, n: int | None = None) -> np.ndarray:
        """The next `n` entries (CHUNK if None), fewer at the end."""
        n = min(CHUNK if n is None else n, self.left)
        if not n:
            return np.empty(0, dtype=self.dtype)
        self.left -= n
        out = np.frombuffer(self._stream.read(n * self.dtype.itemsize), dtype=self.dtype)
        if not self.left:
            self._stream.close()
        return out

    def close(self) -> None:
        self._stream.close()


class Writer:
    """A file written in order, fsynced, its size and xxh3-128 (what `segment.checksum` reads) kept."""

    def __init__(self, path: Path, files: dict[str, list], dtype: Any = None, length: int = 0) -> None:
        self.path, self._files, self._digest, self._size = path, files, xxhash.xxh3_128(), 0
        self._stream = path.open("wb")
        if dtype is not None:
            header = {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)), "fortran_order": False,
                      "shape": (length,)}
            self._dtype = np.dtype(dtype)
            np.lib.format.write_array_header_1_0(self, header)

    def write(self, data: Any) -> None:
        if isinstance(data, np.ndarray):
            data = np.ascontiguousarray(data, dtype=self._dtype).tobytes()
        self._stream.write(data)
        self._digest.update(data)
        self._size += len(data)

    def close(self) -> None:
        self._stream.flush()
        os.fsync(self._stream.fileno())
        self._stream.close()
        self._files[self.path.name] = [self._size, self._digest.hexdigest()]


def merge_segments(sources: list[Path], folder: Path) -> dict[str, list]:
    """Write one segment into a new `folder` holding the segments in `sources` (ascending,
    adjacent slot ranges); return file -> [size, xxh3] as `segment.write_segment` does."""
    folder.mkdir(parents=True)
    files: dict[str, list] = {}
    for name in ("slots", "shingles", "para"):
        _concat(folder, files, name, sources)
    _concat(folder, files, "offsets", sources, cumulative=True)
    _concat(folder, files, "docs_at", sources, cumulative=True)
    docs = []
    for source in sources:
        reader = Reader(source / "docs_at.npy")
        docs.append(reader.left - 1)
        reader.close()
    _concat(folder, files, "doc_of", sources, shifts=np.cumsum([0, *docs[:-1]]).tolist())
    out = Writer(folder / "docs.bin", files)
    for source in sources:
        with (source / "docs.bin").open("rb") as stream:
            while block := stream.read(1 << 22):
                out.write(block)
    out.close()
    exact = ("exact_keys", "exact_slots")
    merge_sorted(folder, files, exact, [Rows(s, exact) for s in sources])
    merge_sorted(folder, files, ("bands",), [Rows(s, ("bands",)) for s in sources], directory=True)
    fsync_folder(folder)
    fsync_folder(folder.parent)
    return dict(sorted(files.items()))


def _concat(folder: Path, files: dict, name: str, sources: list[Path], shifts: list[int] | None = None,
            cumulative: bool = False) -> None:
    """Concatenate one file of each segment; `cumulative`: offsets from 0, each part's
    shifted by the end of the ones before (its leading 0 left out); `shifts`: added to each."""
    readers = [Reader(s / f"{name}.npy") for s in sources]
    length = sum(r.left for r in readers) - (len(readers) - 1 if cumulative else 0)
    out = Writer(folder / f"{name}.npy", files, readers[0].dtype, length)
    base = 0
    for i, reader in enumerate(readers):
        if cumulative and i:
            reader.read(1)
        shift, last = base if cumulative else shifts[i] if shifts else 0, 0
        while reader.left:
            chunk = reader.read()
            out.write(chunk + np.asarray(shift, dtype=chunk.dtype) if shift else chunk)
            last = int(chunk[-1])
        base += last
    out.close()


class Rows:
    """Parallel .npy files of one segment (entry i of each belongs together) read in order, a
    chunk at a time; with `keep` (a chunk's arrays -> which rows to keep), only the rows it
    keeps, `kept` of them in all."""

    def __init__(self, folder: Path, names: tuple[str, ...],
                 keep: Callable[[list[np.ndarray]], np.ndarray] | None = None, kept: int | None = None) -> None:
        self._readers = [Reader(folder / f"{n}.npy") for n in names]
        self.dtypes = [r.dtype for r in self._readers]
        self._keep = keep
        self.left = self._readers[0].left if keep is None or kept is None else kept

    def read(self) -> list[np.ndarray]:
        """The next chunk's rows (at least one while `left`)."""
        rows = [r.read() for r in self._readers]
        while self._keep is not None:
            mask = self._keep(rows)
            rows = [r[mask] for r in rows]
            if len(rows[0]) or not self._readers[0].left:
                break
            rows = [r.read() for r in self._readers]
        self.left -= len(rows[0])
        return rows

    def close(self) -> None:
        for reader in self._readers:
            reader.close()


def merge_sorted(folder: Path, files: dict, names: tuple[str, ...], parts: list[Rows],
                 directory: bool = False) -> None:
    """Merge the sorted file `names[0]` of each segment's `parts` (the other names ride
    along), ties in segment order; `directory`: write its bucket directory (keytable.directory) too."""
    length = sum(part.left for part in parts)
    outs = [Writer(folder / f"{n}.npy", files, d, length) for n, d in zip(names, parts[0].dtypes, strict=True)]
    starts = _Directory(folder / "directory.npy", files, length) if directory else None
    windows = [part.read() for part in parts]
    while any(len(w[0]) for w in windows):
        open_ = [i for i, part in enumerate(parts) if part.left]
        # Every entry below the smallest last entry of a window with more to read is read.
        limit = min(open_, key=lambda i: windows[i][0][-1]) if open_ else None
        taken = [len(w[0]) if limit is None else int(np.searchsorted(w[0], windows[limit][0][-1])) for w in windows]
        if not sum(taken):  # the limiting window is one key all through: read more of it
            windows[limit] = _extend(windows[limit], parts[limit])
            continue
        columns = [np.concatenate([w[j][:t] for w, t in zip(windows, taken, strict=True)]) for j in range(len(names))]
        if sum(t > 0 for t in taken) > 1:  # else one window's entries, sorted already
            order = np.argsort(columns[0], kind="stable")  # ties: the earlier segment first
            columns = [column[order] for column in columns]
        for out, column in zip(outs, columns, strict=True):
            out.write(column)
        if starts is not None:
            starts.add(columns[0])
        for i, (window, part, t) in enumerate(zip(windows, parts, taken, strict=True)):
            windows[i] = [w[t:] for w in window]
            if len(windows[i][0]) < CHUNK // 2 and part.left:
                windows[i] = _extend(windows[i], part)
    for out in outs:
        out.close()
    for part in parts:
        part.close()
    if starts is not None:
        starts.close()


class _Directory:
    """The bucket directory (keytable.directory) of a sorted file being written, written as
    its entries stream past: a merge's memory stays a few chunks, where counting every
    bucket first took 2**bits counts (8 bytes each, up to 2**24) several times over."""

    def __init__(self, path: Path, files: dict, length: int) -> None:
        self._bits = directory_bits(length)
        self._out = Writer(path, files, np.uint64, (1 << self._bits) + 1)
        self._next = 0  # the first bucket whose start is not written yet
        self._seen = 0  # entries streamed past so far

    def add(self, entries: np.ndarray) -> None:
        """The next sorted `entries`: every bucket up to the last one's start is known now."""
        if not len(entries):
            return
        buckets = entries >> np.uint64(64 - self._bits) if self._bits else np.zeros(len(entries), dtype=np.uint64)
        last = int(buckets[-1])
        for begin in range(self._next, last + 1, DIRECTORY_STEP):
            wanted = np.arange(begin, min(begin + DIRECTORY_STEP, last + 1), dtype=np.uint64)
            self._out.write(np.searchsorted(buckets, wanted).astype(np.uint64) + np.uint64(self._seen))
        self._next, self._seen = last + 1, self._seen + len(entries)

    def close(self) -> None:
        """The buckets after the last entry's start where every entry ends, then the end."""
        left = (1 << self._bits) + 1 - self._next
        for begin in range(0, left, DIRECTORY_STEP):
            self._out.write(np.full(min(DIRECTORY_STEP, left - begin), self._seen, dtype=np.uint64))
        self._out.close()


def _extend(window: list[np.ndarray], part: Rows) -> list[np.ndarray]:
    """A window of a segment's sorted files with the next chunk of its rows read onto it."""
    return [np.concatenate([w, r]) for w, r in zip(window, part.read(), strict=True)]
