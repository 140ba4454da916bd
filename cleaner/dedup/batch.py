"""Dedup decisions for a batch of documents with one index lookup, not one per document.

The decisions stay one document at a time, in input order, each seeing everything kept
before it. What is batched is the work that does not depend on those decisions:

- `Columns` (cleaner.dedup.columns): the fingerprints of a batch as arrays, and which rows
  share an exact or band key with another (only those can be candidates of one another). A
  row with neither is *untracked*: nothing else in the batch can ever match it, or be
  matched by it.
- `IndexWindow`: an `Index` as the batch's queries see it. Every query is looked up once,
  up front, against the index as it was; a query with no exact copy, no candidate there and
  an untracked row is *quiet*: its answer is None whatever the batch adds, so it is never
  asked (most rows of a corpus are quiet). The rest get what `Index.find` would return at
  their moment: the same earliest exact copy, the same candidates in the same (slot) order,
  verified the same way; the candidates of those whose answer the batch cannot change are
  verified up front too, all in one pass, and the index's candidates of the others
  (cleaner.dedup.ahead).
- `InDocumentRepeats` (cleaner.dedup.repeats): the kept tracked paragraphs of one document
  so far, with `find` answering as a fresh `Index` of all its kept paragraphs would.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Callable, Sequence

import numpy as np

from cleaner.dedup.ahead import copies, verify_ahead
from cleaner.dedup.columns import Columns, repeated
from cleaner.dedup.index import (
    KEY_CAP,
    Found,
    Index,
    Match,
    best_verified,
    sure_bands,
    to_verify,
)
from cleaner.dedup.memory import Candidates, PerRow
from cleaner.record import Fingerprint

Signer = Callable[[np.ndarray], np.ndarray]
ManySigner = Callable[[np.ndarray, np.ndarray], np.ndarray]
_SINCE = 1 << 40  # above every slot: a candidate the batch added, by row (_SINCE + row)


class IndexWindow:
    """`index` as the batch's queries (the `rows` of `columns`, ascending) see it while the
    batch adds to it; all additions must go through `add` until the batch is done, and
    `flush` must be called then (and before anything else looks the index up or adds to it,
    a checkpoint included). `loud` marks the rows `find` must be asked about.

    A row is *tracked* when another row has its exact key or shares a band key with it: a
    later query may find it once added, so `add` notes it (by row) in small dicts. What the
    batch adds is stored in the index (`Index.store`: what verification needs) at `flush`,
    or earlier when a query finds a row added since; and entered in the index's key tables
    only by `flush`, in one call for the whole batch: the batch's own queries never look
    there for it (they were looked up when the batch began, and what the batch added since
    is found through the dicts here), so only the cost changes.
    """

    def __init__(self, index: Index, columns: Columns, rows: np.ndarray, signatures: ManySigner | None = None) -> None:
        """`signatures`: the index's signer for many shingle sets at once (sets i is
        flat[starts[i]:starts[i + 1]]), for the estimates of the matches verified ahead."""
        self.index, self.columns, self._signatures = index, columns, signatures
        self._below: tuple[np.ndarray, np.ndarray] | None = None  # row -> its row of loads below the head; loads
        self._fast = index.in_arrays()  # then looked up and verified ahead for the whole batch at once
        n = len(columns.fps)
        self._rows = np.zeros(n, dtype=bool)
        self._rows[rows] = True
        tracked = np.zeros(n, dtype=bool)
        tracked[rows[repeated(columns.keys[rows])]] = True
        tracked[list(columns.shared)] = True
        tracked &= self._rows
        exact, self._before, found = self._lookup(rows)
        self.loud = tracked | (exact >= 0)
        self.loud[self._before.rows if isinstance(self._before, PerRow) else list(self._before)] = True
        self._exact_before = {row: int(exact[row]) for row in np.flatnonzero(exact >= 0).tolist()}
        self._exact_matches = copies(index, self._exact_before) if self._fast else {}
        self._sure = sure_bands(index.banding, index.threshold)
        self._verified, self._old_best = verify_ahead(index, columns, found, exact, tracked, signatures) \
            if found is not None and signatures else ({}, {})  # _old_best: tracked row -> its best in the index
        self.loud[[row for row, match in self._verified.items() if match is None]] = False  # known: no match
        self._tracked, self._tracked_mask = np.flatnonzero(tracked).tolist(), tracked
        self._next_tracked = 0  # the first of _tracked not before the rows added so far
        self._exact: dict[int, int] = {}  # exact key of a tracked row -> the earliest such row added since
        self._by_band: dict[int, list[int]] = {}  # shared band key -> tracked rows added since
        self._room = self._room_per_key()  # band key -> slots it may still return (KEY_CAP in all)
        self._pending = np.zeros(n, dtype=bool)  # added, not yet stored
        self._run = [0, 0]  # rows added as slices from .. to, not yet marked in _pending
        self._waiting = [n, 0]  # the rows from .. to where what waits is
        self._slot_of: dict[int, int] = {}  # tracked row -> its slot, once stored
        self._unkeyed: list[np.ndarray] = []  # stored since, not yet in the index's key tables
        self._first_unkeyed = self._count_unkeyed = 0  # the slot of the first of them, how many

    def _lookup(self, rows: np.ndarray) -> tuple[np.ndarray, dict[int, tuple[list[int], list[int] | None]] | PerRow,
                                                  Candidates | None]:
        """What the index holds for `rows`: the earliest exact slot of every row of `columns`
        (-1: none, or not a query), row -> (candidates, shared bands) for those with
        candidates (a `PerRow` from an index that answers in arrays), and the same as arrays,
        owners as rows (from such an index only)."""
        exact = np.full(len(self.columns.fps), -1, dtype=np.int64)
        band_keys, offsets = self.columns.bands_of(rows)
        if not self._fast:
            founds = self.index.lookup_many([self.columns.fps[i] for i in rows.tolist()], band_keys)
            exact[rows] = [found.exact for found in founds]
            return exact, {row: (found.candidates, found.shared)
                           for row, found in zip(rows.tolist(), founds, strict=True) if found.candidates}, None
        found, below = self.index.lookup_loads(self.columns.keys[rows], band_keys, offsets)
        if below is not None:  # what the read-only layers hold under each band key, for _room_per_key
            at = np.full(len(self.columns.fps), -1, dtype=np.intp)  # row -> its row of band keys here
            at[rows[offsets]] = np.arange(len(offsets))
            self._below = (at, below.reshape(len(offsets), self.index.banding.bands))
        found = found._replace(owner=rows[found.owner])
        exact[rows] = found.exact
        return exact, PerRow(found), found

    def find(self, row: int) -> Match | None:
        """What `Index.find` would answer for the query at `row` now."""
        copy = self._exact_matches.get(row)
        if copy is not None:
            return copy
        fp = self.columns.fps[row]
        exact = self._exact_before.get(row, -1)
        if exact < 0 and self._exact.get(fp.key) is not None:
            if self._fast:  # the copy added since, as the index would name it, without storing it first
                return Match(self.columns.ref(self._exact[fp.key]), 1.0, 1.0, exact=True)
            exact = self._slot(self._exact[fp.key])
        if exact < 0 and row in self._verified:  # (a row verified ahead has candidates)
            return self._verified[row]
        keys = self.columns.shared.get(row)
        candidates, shared = self._before.get(row, ([], []))
        if exact < 0 and not keys and not candidates:
            return None  # what verify would say, without the call
        if exact >= 0 or not keys:
            if row in self._old_best:  # (fast: an exact copy was returned above) verified ahead
                return self._match(fp, self._old_best[row])
            return self.index.verify(fp, Found(exact, candidates, shared))
        by_band = self._by_band
        since = Counter(added for key in by_band.keys() & keys for added in by_band[key])
        added = sorted(since)  # rows added later have later slots
        shared = (shared or [1] * len(candidates)) + [since[row] for row in added]
        if self._fast:
            return self._verify_since(fp, row, Found(-1, candidates + [_SINCE + row for row in added], shared))
        return self.index.verify(fp, Found(exact, candidates + [self._slot(row) for row in added], shared))

    def _verify_since(self, fp: Fingerprint, row: int, found: Found) -> Match | None:
        """`MemoryIndex.verify` of candidates some of which (_SINCE + row) the batch added
        and may not have stored yet: their shingles are the rows' own, their slots come after
        every other in the same order, and their references are the rows'. When every
        candidate is chosen and those in the index were verified ahead (`_old_best`), only
        the batch's are verified now: the best of both is the best of all (the index's
        first on a tie: their slots are smaller)."""
        chosen, cut = to_verify(found, self._sure)
        self.index.capped += cut
        old, new = [i for i in chosen if i < _SINCE], [i - _SINCE for i in chosen if i >= _SINCE]
        sets = [self.columns.fps[added].shingles for added in new]
        lengths = np.fromiter(map(len, sets), np.intp, len(sets))
        if cut or (old and row not in self._old_best):
            flat, held = self.index.gather(old)
            return self._match(fp, best_verified(fp.shingles, old + [_SINCE + added for added in new],
                                                 np.concatenate([flat, *sets]), np.concatenate([held, lengths]),
                                                 self.index.threshold))
        best = self._old_best.get(row)
        if new:
            fresh = best_verified(fp.shingles, [_SINCE + added for added in new], np.concatenate(sets), lengths,
                                  self.index.threshold)
            if fresh is not None and (best is None or fresh[0] > best[0]):
                best = fresh
        return self._match(fp, best)

    def _match(self, fp: Fingerprint, best: tuple[float, int] | None) -> Match | None:
        """The match of a verified (similarity, slot), or of a row the batch added (_SINCE + row)."""
        if best is None:
            return None
        similarity, found_id = best
        if found_id < _SINCE:
            return self.index.matched(fp, found_id, similarity)
        row = found_id - _SINCE
        estimated = float(np.mean(self.index.signer(self.columns.fps[row].shingles) == fp.signature))
        return Match(self.columns.ref(row), similarity, estimated)

    def _slot(self, row: int) -> int:
        """The slot of a tracked row added since the batch began (stored now if it waits)."""
        if row not in self._slot_of:
            self._store()
        return self._slot_of[row]

    def _room_per_key(self) -> dict[int, int]:
        """KEY_CAP less what the index finds already, for every shared band key of the rows:
        what the batch adds under a key beyond that, a lookup after `flush` would not return."""
        rows = np.fromiter((row for row in self.columns.shared if self._rows[row]), dtype=np.intp)
        if not len(rows):
            return {}
        keys, first = np.unique(self.columns.band_keys[self.columns.band_row[rows]], return_index=True)
        if self._below is None:
            loads = self.index.band_load(keys)
        else:  # every key here was looked up: its load below is what the lookup saw (at any of its places)
            at, below = self._below
            loads = self.index.band_load(keys, below[at[rows]].ravel()[first])
        return dict(zip(keys.tolist(), (KEY_CAP - loads).tolist(), strict=True))

    def add(self, rows: slice | Sequence[int]) -> None:
        """Keep the window's rows among `rows`: a slice, or ascending rows, all after any
        added before. Slices next to each other (documents kept whole) are joined first."""
        if isinstance(rows, slice):
            start, stop = rows.start, rows.stop
            if start == self._run[1]:
                self._run[1] = stop
            else:
                self._pending[self._run[0]:self._run[1]] = True
                self._run = [start, stop]
        elif rows:
            start, stop = rows[0], rows[-1] + 1
            self._pending[rows] = True
        else:
            return
        waiting = self._waiting
        if start < waiting[0]:
            waiting[0] = start
        if stop > waiting[1]:
            waiting[1] = stop
        tracked, at = self._tracked, self._next_tracked
        if at < len(tracked) and tracked[at] < stop:  # rows come ascending: the tracked ones since the last add
            at = bisect.bisect_left(tracked, start, at)
            end = bisect.bisect_left(tracked, stop, at)
            for row in tracked[at:end]:
                if self._run[0] <= row < self._run[1] or self._pending[row]:
                    self._note(row)
            self._next_tracked = end

    def _note(self, row: int) -> None:
        """Remember a tracked row added, for the queries after it."""
        self._exact.setdefault(self.columns.fps[row].key, row)
        by_band, room = self._by_band, self._room
        for key in self.columns.shared.get(row, ()):
            rows = by_band.get(key)
            if rows is None:
                rows = by_band[key] = []
            if len(rows) < room[key]:
                rows.append(row)

    def _store(self) -> None:
        start, stop = self._waiting
        if start >= stop:
            return
        self._pending[self._run[0]:self._run[1]] = True
        self._run = [0, 0]
        rows = np.flatnonzero(self._pending[start:stop] & self._rows[start:stop]) + start
        self._pending[start:stop] = False
        self._waiting = [len(self._pending), 0]
        if not len(rows):
            return
        columns, fps = self.columns, [self.columns.fps[i] for i in rows.tolist()]
        if self._fast:
            first = self.index.store_columns(columns.documents, columns.owner[rows], columns.paragraph[rows],
                                             columns.keys[rows], fps)
        else:
            first = self.index.store([columns.ref(i) for i in rows.tolist()], fps)
        if self._unkeyed and first != self._first_unkeyed + self._count_unkeyed:
            self._enter_keys()  # something else appended in between: what waits is keyed at its own slots
        if not self._unkeyed:
            self._first_unkeyed = first
        self._unkeyed.append(rows)
        self._count_unkeyed += len(rows)
        for offset in np.flatnonzero(self._tracked_mask[rows]).tolist():
            self._slot_of[int(rows[offset])] = first + offset

    def flush(self) -> None:
        """Store what waits, and enter everything the batch added so far in the index's key
        tables, in one call."""
        self._store()
        self._enter_keys()

    def _enter_keys(self) -> None:
        if not self._unkeyed:
            return
        rows = np.concatenate(self._unkeyed)
        band_keys, offsets = self.columns.bands_of(rows)
        if self._fast:
            self.index.index_columns(self._first_unkeyed, self.columns.keys[rows], band_keys, offsets)
        else:
            self.index.index_keys(self._first_unkeyed, [self.columns.fps[i] for i in rows.tolist()], band_keys)
        self._unkeyed, self._count_unkeyed = [], 0
