"""Dedup decisions for a batch of documents with one index lookup, not one per document.

The decisions stay one document at a time, in input order, each seeing everything kept
before it. What is batched is the work that does not depend on those decisions:

- `BandKeys`: the LSH band keys of many fingerprints in one numpy pass, and which of them
  share a band key with another one of the batch (only those can be candidates of one
  another: a sort, O(n log n), so a document of 100,000 copies of a paragraph stays fast).
- `IndexWindow`: a `Index` as a batch of queries sees it. Every query is looked
  up once, up front, against the index as it was; what the batch adds goes into the index
  as usual and into small dicts (exact keys; band keys shared within the batch), and a
  query's candidates are the up-front ones plus those. The result is what
  `Index.find` would return at that moment: the same earliest exact copy, the
  same candidates in the same (slot) order, verified the same way.
- `InDocumentRepeats`: the kept paragraphs of one document so far, with `find` answering
  as a fresh `Index` would, without building one per document.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence

import numpy as np

from cleaner.dedup.index import KEY_CAP, Banding, Found, Index, Match, best_verified, signed, sure_bands, to_verify
from cleaner.record import Fingerprint, Ref

Signer = Callable[[np.ndarray], np.ndarray]


class BandKeys:
    """Band keys of the signed fingerprints among `fps` (one row each, in order), and
    `shared`: id(fp) -> its band keys, for those with a key that another one also has.
    Like the index, a key matches whatever band it came from."""

    def __init__(self, banding: Banding, fps: Sequence[Fingerprint]) -> None:
        self.banding = banding
        rows = [fp for fp in fps if signed(fp)]
        self._row = {id(fp): row for row, fp in enumerate(rows)}
        if rows:
            self.keys = banding.keys(np.stack([fp.signature for fp in rows]))
        else:
            self.keys = np.empty((0, banding.bands), dtype=np.uint32)
        self.shared: dict[int, list[int]] = {}
        if len(rows) < 2:
            return
        # Every (key, row) as one uint64, sorted: equal keys side by side, one sort, no lexsort.
        owner = np.repeat(np.arange(len(rows), dtype=np.uint64), self.keys.shape[1])
        packed = np.sort((self.keys.ravel().astype(np.uint64) << np.uint64(32)) | owner)
        flat, owner = packed >> np.uint64(32), (packed & np.uint64(0xFFFFFFFF)).astype(np.intp)
        across = np.flatnonzero((flat[1:] == flat[:-1]) & (owner[1:] != owner[:-1]))
        if len(across):
            for row in np.union1d(owner[across], owner[across + 1]).tolist():
                self.shared[id(rows[row])] = self.keys[row].tolist()

    def of(self, fps: Sequence[Fingerprint]) -> np.ndarray | None:
        """The keys of the signed ones of `fps`, in order; None if one is not in this batch."""
        rows = [self._row.get(id(fp), -1) for fp in fps if signed(fp)]
        return None if -1 in rows else self.keys[rows]


class IndexWindow:
    """`index` as a batch of queries (`fps`) sees it while the batch adds to it; all
    additions must go through `add_many` until the batch is done, and `flush` must be
    called then (and before anything else looks the index up, a checkpoint included).

    What the batch adds is stored in the index at once (`Index.store`: its
    references and shingles, which verification needs), but entered in the index's key
    tables only by `flush`, in one call for the whole batch: the batch's own queries never
    look there for it (they were looked up when the batch began, and what the batch added
    since is found through the dicts here), so only the cost changes.
    """

    def __init__(self, index: Index, fps: Sequence[Fingerprint], bands: BandKeys | None = None) -> None:
        """`bands`: the BandKeys of `fps` (or of more fingerprints with the same signed
        ones) by this index's banding, when the caller has them already."""
        self.index = index
        self.bands = bands if bands is not None else BandKeys(index.banding, fps)
        self._before = dict(zip(map(id, fps), index.lookup_many(fps, self.bands.of(fps)), strict=True))
        self._exact: dict[int, int] = {}  # exact key -> earliest slot added since
        self._by_band: dict[int, list[int]] = {}  # shared band key -> slots added since
        self._room = self._room_per_key()  # band key -> slots it may still return (KEY_CAP in all)
        self._unkeyed: list[Fingerprint] = []  # added since, not yet in the index's key tables
        self._first_unkeyed = 0  # the slot of the first of them

    def find(self, fp: Fingerprint) -> Match | None:
        before = self._before.get(id(fp))
        if before is None:  # not one of the batch's queries: ask the index itself
            self.flush()
            return self.index.find(fp)
        exact = before.exact if before.exact >= 0 else self._exact.get(fp.key, -1)
        keys = self.bands.shared.get(id(fp))
        if exact < 0 and not keys and not before.candidates:
            return None  # what verify would say, without the call (most paragraphs of a corpus)
        if exact >= 0 or not keys:
            return self.index.verify(fp, Found(exact, before.candidates, before.shared))
        since = Counter(slot for key in keys for slot in self._by_band.get(key, ()))
        slots = sorted(since)
        shared = (before.shared or [1] * len(before.candidates)) + [since[slot] for slot in slots]
        return self.index.verify(fp, Found(exact, before.candidates + slots, shared))  # older slots first

    def _room_per_key(self) -> dict[int, int]:
        """KEY_CAP less what the index finds already, for every band key of `bands.shared`:
        what the batch adds under a key beyond that, a lookup after `flush` would not return."""
        keys = sorted({key for row in self.bands.shared.values() for key in row})
        if not keys:
            return {}
        loads = self.index.band_load(np.array(keys, dtype=np.uint32)).tolist()
        return {key: KEY_CAP - load for key, load in zip(keys, loads, strict=True)}

    def add_many(self, refs: Sequence[Ref], fps: Sequence[Fingerprint]) -> None:
        first = self.index.store(refs, fps)
        if self._unkeyed and first != self._first_unkeyed + len(self._unkeyed):
            self.flush()  # something else appended in between: what waits is keyed at its own slots
        if not self._unkeyed:
            self._first_unkeyed = first
        self._unkeyed.extend(fps)
        for slot, fp in enumerate(fps, first):
            self._exact.setdefault(fp.key, slot)
            for key in self.bands.shared.get(id(fp), ()):
                slots = self._by_band.setdefault(key, [])
                if len(slots) < self._room[key]:
                    slots.append(slot)

    def flush(self) -> None:
        """Enter everything the batch added so far in the index's key tables, in one call."""
        if self._unkeyed:
            self.index.index_keys(self._first_unkeyed, self._unkeyed, self.bands.of(self._unkeyed))
            self._unkeyed = []


class InDocumentRepeats:
    """The kept paragraphs of one document so far: `find` answers exactly as a fresh
    `Index` holding them would (the earliest exact copy, else the verified
    candidate of highest Jaccard, the earliest on a tie, within the same bounds). Exact
    keys go in a dict; only paragraphs in `bands.shared` (a band key in common with another
    paragraph of the batch) enter the dict of band keys, and most documents have none."""

    def __init__(self, threshold: float, signer: Signer, bands: BandKeys) -> None:
        self.threshold = threshold
        self._signer = signer
        self._shared = bands.shared
        self._sure = sure_bands(bands.banding, threshold)
        self._exact: dict[int, Ref] = {}
        self._by_band: dict[int, list[int]] = {}  # band key -> the first KEY_CAP added under it (order added)
        self._kept: list[tuple[Ref, Fingerprint]] = []
        self.capped = 0  # lookups whose verification budget left candidates out

    def find(self, fp: Fingerprint) -> Match | None:
        ref = self._exact.get(fp.key)
        if ref is not None:
            return Match(ref, 1.0, 1.0, exact=True)
        band_keys = self._shared.get(id(fp))
        if band_keys is None or not signed(fp):
            return None
        shared = Counter(order for key in band_keys for order in self._by_band.get(key, ()))
        orders = sorted(shared)  # the earliest first, as slots in an index
        orders, cut = to_verify(Found(-1, orders, [shared[order] for order in orders]), self._sure)
        self.capped += cut
        kept = [self._kept[order][1].shingles for order in orders]
        lengths = np.array([len(k) for k in kept], dtype=np.intp)
        flat = np.concatenate(kept) if kept else np.empty(0, dtype=np.uint32)
        best = best_verified(fp.shingles, orders, flat, lengths, self.threshold)
        if best is None:
            return None
        similarity, order = best
        ref, match = self._kept[order]
        estimated = float(np.mean(self._signer(match.shingles.astype(np.uint32)) == fp.signature))
        return Match(ref, similarity, estimated)

    def add(self, ref: Ref, fp: Fingerprint) -> None:
        self._exact.setdefault(fp.key, ref)
        for key in self._shared.get(id(fp), ()):
            orders = self._by_band.setdefault(key, [])
            if len(orders) < KEY_CAP:
                orders.append(len(self._kept))
        self._kept.append((ref, fp))
