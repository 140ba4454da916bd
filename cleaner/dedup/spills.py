"""A run's spilled segments of one kind (cleaner.dedup.layered), merged as they come, tiered
like an LSM tree: a spill is of level 0, and when the last FAN segments are of one level
they become one segment of the next (cleaner.dedup.merge). A run then searches
O(log(spilled / budget)) segments, not one per spill, and answers the same.

With `background`, writing a spill and the merges it completes run on one writer thread
(numpy's writes, sorts and checksums release the GIL), so the ordered decide stage does not
wait for the disk. Until its files are written and reopened, a spill is answered from its
columns in memory (`MemorySegment`: the same arrays and search code as the written
segment), so the answers never depend on how far the writer is. The writer thread alone
changes the records, levels and layers while it has work; the main thread adopts each
finished state in order (`layers`), and `settle` waits for all of it (a checkpoint, a commit).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
import os
import threading

import numpy as np

from cleaner.dedup.committed import Committed
from cleaner.dedup.keytable import directory
from cleaner.dedup.segment import ARRAYS, Columns, Segment

FAN = 4  # the last FAN spilled segments of one level merge into one of the next
# Spills of one kind held in memory while the writer is behind; one more waits for the oldest.
PENDING = 1

Layer = tuple[Committed, int, int]  # a read-only layer, its first slot, its end
Write = Callable[[Columns], dict]  # segment columns -> the record that names the written segment
Reopen = Callable[[list], Committed]  # records -> the spilled segments as one layer
Merge = Callable[[list], dict]  # records of adjacent spilled segments -> the record of one holding them
Drop = Callable[[list], None]  # records of spilled segments merged away -> their files deleted

_writer: ThreadPoolExecutor | None = None
_writer_lock = threading.Lock()


def _forget_writer() -> None:  # a forked child has no writer thread: it starts its own if it needs one
    global _writer, _writer_lock
    _writer, _writer_lock = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_writer)


def writer() -> ThreadPoolExecutor:
    """The process's one writer thread (every index's spills, in the order submitted)."""
    global _writer
    with _writer_lock:
        if _writer is None:
            _writer = ThreadPoolExecutor(1, thread_name_prefix="cleaner-spill")
        return _writer


class MemorySegment(Segment):
    """A spill's columns, answered in memory exactly as its written segment answers."""

    def __init__(self, columns: Columns) -> None:
        for name in ARRAYS:
            if name != "docs_at":  # documents are answered from the list (`document`)
                setattr(self, name, getattr(columns, name))
        self.folder, self._reads, self.docs = None, {}, None
        self.directory = directory(columns.bands)
        self.first = int(self.slots[0]) if len(self.slots) else 0
        self._contiguous = True  # one run's consecutive slots
        self._listed = columns.docs

    def document(self, number: int) -> tuple[str, str]:
        source, doc_id = self._listed[number]
        return source, doc_id

    def release(self) -> None:
        """Nothing mapped."""


class Spills:
    """A run's spilled segments of one kind, in slot order: the records a checkpoint names,
    their levels, and their layers (Committed, first slot, end). `write` stores a spill's
    columns and `reopen` opens records as a layer; `merge` (records -> the record of one
    segment holding them; None: the backend does not merge) and `drop` (delete records
    merged away) come with it."""

    def __init__(self, write: Write | None, reopen: Reopen | None, merge: Merge | None = None,
                 drop: Drop | None = None, background: bool = False) -> None:
        self._write, self._reopen, self._merge, self._drop = write, reopen, merge, drop
        self.background = background
        self._records: list[dict] = []
        self._levels: list[int] = []
        self._layers: list[Layer] = []
        self._merges = 0
        self._retired: list[dict] = []  # merged away since the last checkpoint was taken
        self._doomed: list[dict] = []  # merged away before it: no checkpoint on disk names them
        self._pending: deque[tuple[Layer, Future]] = deque()  # in memory, the writer at work on them
        self._adopted: list[Layer] = []  # the writer's layers when it last finished a spill

    @property
    def records(self) -> list[dict]:
        self.settle()
        return self._records

    @property
    def levels(self) -> list[int]:
        self.settle()
        return self._levels

    @property
    def merges(self) -> int:
        """Merges done so far (for tests and reports)."""
        self.settle()
        return self._merges

    @property
    def layers(self) -> list[Layer]:
        """Every layer in slot order: the written ones, then those still in memory."""
        while self._pending and self._pending[0][1].done():
            self._adopt_oldest()
        if not self._pending:
            return self._layers  # the writer is idle: its state is this thread's
        return self._adopted + [layer for layer, _ in self._pending]

    def settle(self) -> None:
        """Wait until every spill is written (and merged as due); raise what failed there."""
        while self._pending:
            self._adopt_oldest()

    def drain(self) -> None:
        """Wait until the writer is done with every spill of this index, failed or not: the
        store is closing, and nothing may write into it once it is unlocked or deleted."""
        wait([future for _, future in self._pending])

    def _adopt_oldest(self) -> None:
        """Wait for the oldest spill in memory to be written; its layers become this thread's view."""
        self._adopted = self._pending.popleft()[1].result()

    def add(self, columns: Columns, first: int, end: int) -> None:
        """Spill `columns` (slots first..end), then do the merges it completes."""
        if self._write is None:
            raise ValueError("no spilled segments can be written without a store")
        if not self.background:
            self._add(columns, first, end)
            return
        while len(self._pending) >= PENDING:
            self._adopt_oldest()
        layer = (_in_memory(columns), first, end)
        self._pending.append((layer, writer().submit(self._add, columns, first, end)))

    def _add(self, columns: Columns, first: int, end: int) -> list[Layer]:
        """Write `columns` and merge (on the writer thread when in the background); return the layers."""
        record = self._write(columns)
        self._records.append(record)
        self._levels.append(0)
        self._layers.append((self._open([record]), first, end))
        while self._merge is not None and len(self._levels) >= FAN and len(set(self._levels[-FAN:])) == 1:
            merged = self._merge(self._records[-FAN:])
            first, end, level = self._layers[-FAN][1], self._layers[-1][2], self._levels[-1] + 1
            self._retired.extend(self._records[-FAN:])
            del self._records[-FAN:], self._levels[-FAN:], self._layers[-FAN:]
            self._records.append(merged)
            self._levels.append(level)
            self._layers.append((self._open([merged]), first, end))
            self._merges += 1
        return list(self._layers)

    def checkpointed(self) -> None:
        """A checkpoint is being taken: the one before, written durably since (a job takes a
        snapshot only to write it before the next), names none of what was merged away
        before it, so that is deleted; what was merged away since goes at the next one."""
        self.settle()
        if self._drop is not None and self._doomed:
            self._drop(self._doomed)
        self._doomed, self._retired = self._retired, []

    def restore(self, records: list[dict], levels: list[int] | None, first: int, end: int) -> None:
        """The spills a checkpoint names (slots first..end): a layer each when their counts
        are known (so they go on merging), else one layer."""
        self.settle()
        self._records, self._levels = list(records), list(levels or [0] * len(records))
        self._retired, self._doomed = [], []
        if not records:
            self._layers = []
        elif self._merge is not None and all("count" in r for r in records):
            bounds = np.cumsum([first] + [r["count"] for r in records]).tolist()
            if bounds[-1] != end:
                raise ValueError(f"spilled segments hold slots {first}..{bounds[-1]}, the checkpoint says ..{end}")
            pairs = zip(records, bounds[:-1], bounds[1:], strict=True)
            self._layers = [(self._open([r]), lo, hi) for r, lo, hi in pairs]
        else:
            self._layers = [(self._open(self._records), first, end)]

    def _open(self, records: list[dict]) -> Committed:
        if self._reopen is None:
            raise ValueError("no spilled segments can be opened without a store")
        return self._reopen(records)


def _in_memory(columns: Columns) -> Committed:
    from cleaner.dedup.disk import DiskCommitted  # disk imports this module's users

    return DiskCommitted([MemorySegment(columns)], None)


__all__ = ["FAN", "MemorySegment", "Spills", "writer"]
