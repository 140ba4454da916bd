"""One immutable segment of an on-disk index: sorted numpy arrays, memory-mapped, with a
checksum per file.

    bands.npy        uint64, sorted: band key << 32 | slot (8 bytes a band key)
    directory.npy    uint64: where each bucket of band keys begins (cleaner.dedup.keytable)
    exact_keys.npy   uint64, sorted; exact_slots.npy uint32 beside it (earliest slot first)
    slots.npy        uint32, sorted: the slots this segment holds; per slot, in that order:
    offsets.npy      uint64 into shingles.npy (uint32), for verification
    doc_of.npy       uint32 into docs.bin (one JSON [source, id] a line, docs_at.npy offsets)
    para.npy         int32 paragraph number (-1: a whole document)

A batch of queries is answered with a few `searchsorted` calls per segment. Files are
written and fsynced before the manifest that names them is published, and read back only
after their size and xxh3-128 match the manifest (a truncated or damaged file is refused).

A run's own spills (`scattered=True`) read an entry's fields with `os.pread`, not through
the mapping: a page fault maps the whole cached folio around the page (large folios of
the page cache, up to 2 MB each, whatever `madvise` says), so a few hundred scattered
reads through a map would make hundreds of MB of spilled files resident.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
import json
import mmap
import os
from pathlib import Path

import numpy as np
import xxhash

from cleaner.dedup.keytable import SHIFT, SLOT_MASK, directory, search
from cleaner.errors import UsageError
from cleaner.io.atomic import fsync_folder

MAPPED = 1 << 16  # files above this size are memory-mapped, smaller ones read
_ENCODE = json.JSONEncoder(ensure_ascii=False).encode  # json.dumps(doc, ensure_ascii=False), built once
ARRAYS = ("bands", "exact_keys", "exact_slots", "slots", "offsets", "shingles", "doc_of", "para", "docs_at")


@dataclass
class Columns:
    """A segment's content in memory, before it is written or after it is merged."""

    bands: np.ndarray
    exact_keys: np.ndarray
    exact_slots: np.ndarray
    slots: np.ndarray
    offsets: np.ndarray
    shingles: np.ndarray
    doc_of: np.ndarray
    para: np.ndarray
    docs: list[tuple[str, str]]


def from_memory(columns: dict, first: int) -> Columns:
    """A segment of a `MemoryIndex.columns()` whose slot 0 is global slot `first`."""
    n = len(columns["doc_of"])
    slots = np.arange(first, first + n, dtype=np.uint32)
    order = np.lexsort((slots, columns["keys"]))
    return Columns(columns["bands"] + np.uint64(first), columns["keys"][order], slots[order], slots,
                   columns["offsets"], columns["shingles"], columns["doc_of"], columns["para"], columns["docs"])


def checksum(path: Path) -> str:
    digest = xxhash.xxh3_128()
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


def write_segment(folder: Path, columns: Columns) -> dict[str, list]:
    """Write `columns` into a new `folder`, every file fsynced; return file -> [size, xxh3]."""
    folder.mkdir(parents=True)
    blobs = [_ENCODE(doc).encode() + b"\n" for doc in columns.docs]
    docs_at = np.zeros(len(blobs) + 1, dtype=np.uint64)
    np.cumsum([len(b) for b in blobs], out=docs_at[1:])
    files: dict[str, list] = {}
    for name in ARRAYS:
        array = docs_at if name == "docs_at" else getattr(columns, name)
        _write(folder / f"{name}.npy", lambda out, a=array: np.save(out, np.ascontiguousarray(a)))
    _write(folder / "directory.npy", lambda out: np.save(out, directory(columns.bands)))
    _write(folder / "docs.bin", lambda out: out.writelines(blobs))
    for path in sorted(folder.iterdir()):
        files[path.name] = [path.stat().st_size, checksum(path)]
    fsync_folder(folder)
    return files


def _write(path: Path, fill) -> None:
    with path.open("wb") as out:
        fill(out)
        out.flush()
        os.fsync(out.fileno())


class Segment:
    """A written segment, checked against its manifest entry and memory-mapped; with
    `scattered`, its entries (`entry`, `shingle_sets`) are read from the files, copied."""

    def __init__(self, folder: Path, files: dict[str, list], scattered: bool = False) -> None:
        self.folder = folder
        self._reads: dict[str, _Reads] = {}
        for name, (size, digest) in files.items():
            path = folder / name
            if not path.exists() or path.stat().st_size != size or checksum(path) != digest:
                raise UsageError(f"{path}: damaged index file (size or checksum differs from the manifest); "
                                 "restore the index from a copy or start a new one")
        try:
            for name in ARRAYS:
                setattr(self, name, _load(folder / f"{name}.npy"))
            docs = folder / "docs.bin"
            small = docs.stat().st_size <= MAPPED
            self.docs = (np.fromfile(docs, dtype=np.uint8) if small else np.memmap(docs, dtype=np.uint8, mode="r")) \
                if self.docs_at[-1] else None
            if scattered:  # the files an entry is read from; small ones are in memory already
                paths = {name: folder / f"{name}.npy" for name in ("offsets", "shingles", "doc_of", "para", "docs_at")}
                arrays = {name: getattr(self, name) for name in paths} | {"docs": self.docs}
                reads = {name: _Reads.of(paths.get(name, docs), array) for name, array in arrays.items()}
                self._reads = {name: read for name, read in reads.items() if read is not None}
        except (OSError, ValueError) as err:
            raise UsageError(f"{folder}: unreadable index segment ({err})") from err
        listed = "directory.npy" in files
        self.directory = _load(folder / "directory.npy") if listed else directory(self.bands)
        self.first = int(self.slots[0]) if len(self.slots) else 0
        self._contiguous = not len(self.slots) or int(self.slots[-1]) - self.first + 1 == len(self.slots)
        self._documents: dict[int, tuple[str, str]] = {}  # decoded, most recent first out

    def __len__(self) -> int:
        return len(self.slots)

    def exact(self, keys: np.ndarray) -> np.ndarray:
        """The earliest slot holding each exact key here, -1 if none."""
        out = np.full(len(keys), -1, dtype=np.int64)
        if not len(self.exact_keys):
            return out
        order = np.argsort(keys)  # searched in ascending order, each search starts where the last ended: fewer misses
        at = np.empty(len(keys), dtype=np.intp)
        at[order] = np.searchsorted(self.exact_keys, keys[order])
        inside = at < len(self.exact_keys)
        hit = np.flatnonzero(inside)[self.exact_keys[at[inside]] == keys[inside]]
        out[hit] = self.exact_slots[at[hit]]
        return out

    def bands_of(self, low: np.ndarray, order: np.ndarray,
                 room: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray] | None:
        return search(self.bands, self.directory, low, order, room, load=True)  # see keytable._compiled

    def release(self) -> None:
        """Drop this process's mapping of the files' pages (they stay in the page cache): a
        batch's lookups touch most band pages, and a mapped page counts in the RSS."""
        for array in (self.directory, *(getattr(self, name) for name in ARRAYS), self.docs):
            mapped = _mapping(array)
            if mapped is not None:
                mapped.madvise(mmap.MADV_DONTNEED)

    def columns(self, keep: np.ndarray | None = None) -> Columns:
        """This segment in memory, only the slots where `keep` (over `slots`) is True."""
        keep = np.ones(len(self.slots), dtype=bool) if keep is None else keep
        lengths = np.diff(self.offsets).astype(np.int64)
        shingles = np.asarray(self.shingles)[np.repeat(keep, lengths)]
        offsets = np.zeros(int(keep.sum()) + 1, dtype=np.uint64)
        np.cumsum(lengths[keep], out=offsets[1:])
        kept_slots = np.asarray(self.slots)[keep]
        exact_keep = np.isin(self.exact_slots, kept_slots)
        band_keep = np.isin(np.asarray(self.bands) & SLOT_MASK, kept_slots.astype(np.uint64))
        used, doc_of = np.unique(np.asarray(self.doc_of)[keep], return_inverse=True)
        docs = [self.document(int(d)) for d in used]
        return Columns(np.asarray(self.bands)[band_keep], np.asarray(self.exact_keys)[exact_keep],
                       np.asarray(self.exact_slots)[exact_keep], kept_slots, offsets, shingles,
                       doc_of.astype(np.uint32), np.asarray(self.para)[keep], docs)

    def _take(self, name: str, begin: int, end: int) -> np.ndarray:
        """Entries begin..end of the array `name`: read from its file (a copy) when this
        segment is `scattered`, else a view into the mapping."""
        reads = self._reads.get(name)
        return reads.take(begin, end) if reads is not None else getattr(self, name)[begin:end]

    def document(self, number: int) -> tuple[str, str]:
        found = self._documents.get(number)
        if found is None:
            start, end = self._take("docs_at", number, number + 2).tolist()
            source, doc_id = json.loads(self._take("docs", start, end).tobytes())
            if len(self._documents) >= 4096:
                self._documents.clear()
            found = self._documents[number] = (source, doc_id)
        return found

    def _rows(self, slots: np.ndarray) -> np.ndarray:
        """The row of each slot held here in the per-slot files."""
        if self._contiguous:
            return slots - self.first
        return np.asarray(self.slots).searchsorted(slots.astype(np.uint32))

    def shingle_sets(self, slots: np.ndarray) -> list[np.ndarray]:
        """The shingles of slots held here (views into the file), no references looked up."""
        i = self._rows(slots)
        if self._reads:  # two reads a slot: its offsets, then its shingles
            bounds = [self._take("offsets", at, at + 2).tolist() for at in i.tolist()]
            return [self._take("shingles", begin, end) for begin, end in bounds]
        offsets = np.asarray(self.offsets)
        shingles = np.asarray(self.shingles)  # a plain view: slicing a memmap makes a memmap a slice
        return [shingles[begin:end] for begin, end in zip(offsets[i].tolist(), offsets[i + 1].tolist(), strict=True)]

    def gather(self, slots: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The shingles of slots held here end to end (a copy), and how many each has: what
        `shingle_sets` holds, concatenated, in one fancy index of the mapping."""
        if self._reads:
            sets = self.shingle_sets(slots)
            return _joined(sets)
        i = self._rows(slots)
        offsets = np.asarray(self.offsets)
        begin = offsets[i].astype(np.int64)
        lengths = (offsets[i + 1].astype(np.int64) - begin).astype(np.intp)
        ends = np.cumsum(lengths)
        at = np.arange(int(ends[-1]) if len(ends) else 0, dtype=np.int64) + np.repeat(begin - (ends - lengths), lengths)
        return np.asarray(self.shingles)[at], lengths

    def places(self, slots: np.ndarray) -> list[tuple[str, str, int]]:
        """(source, id, paragraph) of each slot held here: what `entry` says of it, for many
        slots in a few array reads (no shingles: an exact copy's reference needs none)."""
        if self._reads:
            return [self.entry(slot)[:3] for slot in slots.tolist()]
        i = self._rows(slots)
        documents = np.asarray(self.doc_of)[i].tolist()
        return [(*self.document(number), paragraph)
                for number, paragraph in zip(documents, np.asarray(self.para)[i].tolist(), strict=True)]

    def entry(self, slot: int) -> tuple[str, str, int, np.ndarray]:
        """(source, id, paragraph, shingles) of a slot held here."""
        if self._contiguous:  # one run's segment, or a compaction of runs never forgotten
            i = slot - self.first
        else:
            i = int(self.slots.searchsorted(np.uint32(slot)))  # a Python int would cast the whole array
        if self._reads:
            begin, end = self._take("offsets", i, i + 2).tolist()
            source, doc_id = self.document(int(self._take("doc_of", i, i + 1)[0]))
            return source, doc_id, int(self._take("para", i, i + 1)[0]), self._take("shingles", begin, end)
        source, doc_id = self.document(int(self.doc_of[i]))
        return source, doc_id, int(self.para[i]), self.shingles[int(self.offsets[i]):int(self.offsets[i + 1])]


class _Reads:
    """A mapped array's file read a few entries at a time with `os.pread` (see the module
    docstring): nothing of it is mapped by a read."""

    def __init__(self, path: Path, offset: int, dtype: np.dtype) -> None:
        self._path, self._offset, self._dtype = path, offset, dtype
        self._fd: int | None = None

    @classmethod
    def of(cls, path: Path, array: np.ndarray | None) -> _Reads | None:
        """The reads of `array`, mapped from `path`; None if it was read into memory."""
        base = array
        while base is not None and not isinstance(base, np.memmap):
            base = base.base
        return None if base is None else cls(path, int(base.offset), array.dtype)

    def take(self, begin: int, end: int) -> np.ndarray:
        out = np.empty(max(end - begin, 0), dtype=self._dtype)
        if not len(out):
            return out
        if self._fd is None:
            self._fd = os.open(self._path, os.O_RDONLY | os.O_CLOEXEC)
        wanted = out.nbytes
        if os.preadv(self._fd, [out], self._offset + begin * self._dtype.itemsize) != wanted:
            raise UsageError(f"{self._path}: index file shorter than its manifest says")
        return out

    def __del__(self) -> None:
        if self._fd is not None:
            os.close(self._fd)


def _joined(sets: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Shingle sets end to end (uint32), and their lengths."""
    lengths = np.fromiter(map(len, sets), dtype=np.intp, count=len(sets))
    flat = np.concatenate(sets) if sets else np.empty(0, dtype=np.uint32)
    return flat.astype(np.uint32, copy=False), lengths


def _mapping(array: np.ndarray) -> mmap.mmap | None:
    base = array
    while base is not None and not isinstance(base, (mmap.mmap, bytes)):
        base = getattr(base, "_mmap", None) or getattr(base, "base", None)
    return base if isinstance(base, mmap.mmap) else None


def _load(path: Path) -> np.ndarray:
    """A file's array: memory-mapped when large (a plain view: no np.memmap overhead on every
    access), read when small (a map holds a file descriptor; a run may spill many small ones)."""
    array = np.asarray(np.load(path, mmap_mode="r" if path.stat().st_size > MAPPED else None))
    mapped = _mapping(array)
    if mapped is not None:
        mapped.madvise(mmap.MADV_RANDOM)  # lookups jump: no read-ahead around each page touched
    return array


def merge(parts: Sequence[Columns]) -> Columns:
    """Segments holding disjoint slot ranges, in slot order, as one."""
    docs: list[tuple[str, str]] = []
    doc_of, offsets, base = [], [np.zeros(1, dtype=np.uint64)], np.uint64(0)
    for part in parts:
        doc_of.append(part.doc_of + np.uint32(len(docs)))
        docs.extend(part.docs)
        offsets.append(part.offsets[1:] + base)
        base += np.uint64(part.offsets[-1])
    slots = np.concatenate([p.slots for p in parts])
    if np.any(np.diff(slots.astype(np.int64)) <= 0):
        raise ValueError("segments to merge must hold ascending disjoint slots")
    bands = np.sort(np.concatenate([p.bands for p in parts]))
    keys = np.concatenate([p.exact_keys for p in parts])
    exact_slots = np.concatenate([p.exact_slots for p in parts])
    order = np.lexsort((exact_slots, keys))
    return Columns(bands, keys[order], exact_slots[order], slots, np.concatenate(offsets),
                   np.concatenate([p.shingles for p in parts]), np.concatenate(doc_of),
                   np.concatenate([p.para for p in parts]), docs)


__all__ = ["SHIFT", "Columns", "Segment", "from_memory", "merge", "write_segment"]
