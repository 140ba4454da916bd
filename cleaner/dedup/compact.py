"""Compaction of an on-disk index (cleaner.dedup.disk): the committed segments of one kind
streamed into one new segment, the slots of forgotten runs left out.

The new segment's files are the ones `segment.merge` of each segment's `Segment.columns`
(its kept slots) and `segment.write_segment` would write, byte for byte, but nothing is
loaded whole: every file is read in order a chunk at a time (cleaner.dedup.merge), so
memory is a few chunks whatever the index size. A first pass over the per-slot files counts
what is kept (each .npy header names its length); the second writes it: the per-slot files
(slots, para, offsets, shingles, doc_of) and the documents they still name (renumbered in
order, unnamed ones dropped), then the exact and band tables as sorted merges of the kept
rows. Documents are numbered in the order their paragraphs come (doc_of ascending), so the
documents kept are found in one pass too.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
import os
from pathlib import Path

import numpy as np

from cleaner.dedup.keytable import SLOT_MASK
from cleaner.dedup.merge import Reader, Rows, Writer, merge_sorted, npy_header
from cleaner.io.atomic import fsync_folder

Spans = list[tuple[int, int]]  # [first, end) slot ranges left out
BLOCK = 1 << 22  # bytes copied at a time


def kept(slots: np.ndarray, spans: Spans) -> np.ndarray:
    """Which of `slots` lie in no span."""
    slots = slots.astype(np.int64)
    keep = np.ones(len(slots), dtype=bool)
    for first, end in spans:
        keep &= (slots < first) | (slots >= end)
    return keep


@dataclass
class _Plan:
    """What one segment keeps: how many slots, shingles, documents, exact and band rows."""

    folder: Path
    slots: int = 0
    shingles: int = 0
    docs: int = 0
    exact: int = 0
    bands: int = 0
    whole: bool = True  # no slot of it is left out
    last: int = -1  # its last slot (-1: none after the segments before)


def compact_segments(sources: list[Path], spans: Spans, folder: Path) -> tuple[dict[str, list], int] | None:
    """Write into a new `folder` one segment holding the slots of the segments in `sources`
    (ascending, disjoint slot ranges) that lie in no span; return file -> [size, xxh3] (as
    `segment.write_segment` does) and how many slots it holds, or None (and no folder) if none."""
    plans: list[_Plan] = []
    for source in sources:
        plans.append(_plan(source, spans, plans[-1].last if plans else -1))
    plans = [plan for plan in plans if plan.slots]
    if not plans:
        return None
    folder.mkdir(parents=True)
    files: dict[str, list] = {}
    _write_per_slot(folder, files, plans, spans)

    def exact_kept(rows: list[np.ndarray]) -> np.ndarray:
        return kept(rows[1], spans)

    def bands_kept(rows: list[np.ndarray]) -> np.ndarray:
        return kept(rows[0] & SLOT_MASK, spans)

    merge_sorted(folder, files, ("exact_keys", "exact_slots"),
                 [Rows(p.folder, ("exact_keys", "exact_slots"), None if p.whole else exact_kept, p.exact)
                  for p in plans])
    merge_sorted(folder, files, ("bands",), [Rows(p.folder, ("bands",), None if p.whole else bands_kept, p.bands)
                                             for p in plans], directory=True)
    fsync_folder(folder)
    fsync_folder(folder.parent)
    return dict(sorted(files.items())), sum(p.slots for p in plans)


def _per_slot(folder: Path, spans: Spans) -> Iterator[tuple[np.ndarray, ...]]:
    """A segment's per-slot files a chunk at a time: (keep, slots, para, doc_of, starts, ends),
    starts..ends the chunk's slots' shingles."""
    readers = [Reader(folder / f"{name}.npy") for name in ("slots", "para", "doc_of", "offsets")]
    start = readers[3].read(1)
    while readers[0].left:
        slots, para, doc_of, ends = (reader.read() for reader in readers)
        starts, start = np.concatenate([start, ends[:-1]]), ends[-1:]
        yield kept(slots, spans), slots, para, doc_of, starts, ends
    for reader in readers:
        reader.close()


class _Numbers:
    """Documents renumbered as the kept slots' doc_of stream past (ascending, so a document
    is new when it differs from the last one): the new numbers, and the old ones kept."""

    def __init__(self, count: int = 0) -> None:
        self.count = count  # documents kept so far (in every segment)
        self._last = -1  # this segment's last document kept

    def segment(self) -> None:
        self._last = -1

    def __call__(self, doc_of: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        old = doc_of.astype(np.int64)
        if len(old) and (old[0] < self._last or np.any(old[1:] < old[:-1])):
            raise ValueError("a segment to compact numbers its documents out of slot order")
        fresh = np.empty(len(old), dtype=bool)
        fresh[:1] = old[:1] != self._last
        fresh[1:] = old[1:] != old[:-1]
        numbers = self.count + np.cumsum(fresh) - 1
        if len(old):
            self.count, self._last = int(numbers[-1]) + 1, int(old[-1])
        return numbers, old[fresh]


def _plan(folder: Path, spans: Spans, last: int) -> _Plan:
    """Count what the segment in `folder` keeps, checking its slots ascend from after `last`."""
    plan, numbers, total = _Plan(folder, last=last), _Numbers(), 0
    for keep, slots, _, doc_of, starts, ends in _per_slot(folder, spans):
        total += len(slots)
        if np.any(np.diff(slots.astype(np.int64)) <= 0) or (len(slots) and int(slots[0]) <= last):
            raise ValueError("segments to compact must hold ascending disjoint slots")
        last = plan.last = int(slots[-1])
        plan.slots += int(keep.sum())
        plan.shingles += int((ends - starts)[keep].sum())
        numbers(doc_of[keep])
    plan.docs, plan.whole = numbers.count, plan.slots == total
    for name, key in (("exact", lambda rows: rows[0]), ("bands", lambda rows: rows[0] & SLOT_MASK)):
        rows = Rows(folder, ("exact_slots",) if name == "exact" else ("bands",))
        count = rows.left
        if plan.slots and not plan.whole:
            count = 0
            while rows.left:
                count += int(kept(key(rows.read()), spans).sum())
        rows.close()
        setattr(plan, name, count)
    return plan


def _write_per_slot(folder: Path, files: dict, plans: list[_Plan], spans: Spans) -> None:
    """Write the per-slot files and the documents of the kept slots of `plans`' segments."""
    slots, docs = sum(p.slots for p in plans), sum(p.docs for p in plans)
    dtypes = [_Ranges(plans[0].folder / f"{name}.npy").close() for name in ("slots", "para", "shingles")]
    outs = {name: Writer(folder / f"{name}.npy", files, dtype, length) for name, dtype, length in (
        ("slots", dtypes[0], slots), ("para", dtypes[1], slots), ("doc_of", np.uint32, slots),
        ("offsets", np.uint64, slots + 1), ("shingles", dtypes[2], sum(p.shingles for p in plans)),
        ("docs_at", np.uint64, docs + 1))}
    outs["docs.bin"] = Writer(folder / "docs.bin", files)
    outs["offsets"].write(np.zeros(1, dtype=np.uint64))
    outs["docs_at"].write(np.zeros(1, dtype=np.uint64))
    numbers, written = _Numbers(), [0, 0]  # shingles and document bytes written so far
    for plan in plans:
        numbers.segment()
        _copy_per_slot(outs, plan.folder, spans, numbers, written)
    for out in outs.values():
        out.close()


def _copy_per_slot(outs: dict[str, Writer], folder: Path, spans: Spans, numbers: _Numbers, written: list[int]) -> None:
    """Write the kept slots of the segment in `folder` after what `outs` hold (`written`:
    the shingles and document bytes they hold, updated)."""
    shingles, blobs, docs_at = (_Ranges(folder / name) for name in ("shingles.npy", "docs.bin", "docs_at.npy"))
    for keep, slot, para, doc_of, starts, ends in _per_slot(folder, spans):
        if not keep.any():
            continue
        outs["slots"].write(slot[keep])
        outs["para"].write(para[keep])
        lengths = (ends - starts)[keep]
        outs["offsets"].write(np.cumsum(lengths, dtype=np.uint64) + np.uint64(written[0]))
        written[0] += int(lengths.sum())
        for begin, end in _runs(np.flatnonzero(keep)):
            shingles.copy(outs["shingles"], int(starts[begin]), int(ends[end - 1]))
        renumbered, used = numbers(doc_of[keep])
        outs["doc_of"].write(renumbered)
        for begin, end in _runs(used):
            bounds = docs_at.take(begin, end + 1).astype(np.uint64)
            outs["docs_at"].write(bounds[1:] - bounds[0] + np.uint64(written[1]))
            blobs.copy(outs["docs.bin"], int(bounds[0]), int(bounds[-1]))
            written[1] += int(bounds[-1] - bounds[0])
    for source in (shingles, blobs, docs_at):
        source.close()


def _runs(ascending: np.ndarray) -> list[tuple[int, int]]:
    """Ascending distinct integers as [begin, end) runs of consecutive ones."""
    if not len(ascending):
        return []
    breaks = np.flatnonzero(np.diff(ascending) != 1) + 1
    begins = ascending[np.concatenate([[0], breaks])]
    ends = ascending[np.concatenate([breaks - 1, [len(ascending) - 1]])] + 1
    return list(zip(begins.tolist(), ends.tolist(), strict=True))


class _Ranges:
    """A file (a .npy one's entries, or docs.bin's bytes) read at given ranges with `os.pread`."""

    def __init__(self, path: Path) -> None:
        self._path, self._base, self.dtype = path, 0, np.dtype(np.uint8)
        self._fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        if path.suffix == ".npy":
            with path.open("rb") as stream:
                self.dtype = npy_header(stream)[1]
                self._base = stream.tell()

    def take(self, begin: int, end: int) -> np.ndarray:
        """Entries begin..end (a copy)."""
        out = np.empty(end - begin, dtype=self.dtype)
        if len(out) and os.preadv(self._fd, [out], self._base + begin * self.dtype.itemsize) != out.nbytes:
            raise ValueError(f"{self._path}: shorter than its segment says")
        return out

    def copy(self, out: Writer, begin: int, end: int) -> None:
        """Entries begin..end written to `out`, BLOCK bytes at a time."""
        step = max(BLOCK // self.dtype.itemsize, 1)
        for at in range(begin, end, step):
            out.write(self.take(at, min(at + step, end)).tobytes())

    def close(self) -> np.dtype:
        """Close the file; return the dtype of its entries."""
        os.close(self._fd)
        return self.dtype
