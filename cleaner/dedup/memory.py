"""The in-memory index backend: kept texts in flat arrays.

Why not datasketch's `MinHashLSH`: its in-memory storage keeps, for every band of every
entry, a bytes key and a Python `set` in a dict, and every entry's band list again for
`remove()`. Here an entry is a few slots in flat arrays: the exact key, a key-table entry
per band, 4 bytes per shingle for verification, the reference and offset, and the key
filter of cleaner.dedup.keytable (bench/dedup_memory.py measures it). The state is plain
data, fully determined by the inputs in order and `Config.seed`.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from cleaner.dedup.index import (
    KEY_CAP,
    Banding,
    Found,
    Index,
    Match,
    Signer,
    best_verified,
    signed,
    sure_bands,
    to_verify,
)
from cleaner.dedup.keytable import SHIFT, SLOT_MASK, KeyTable
from cleaner.record import Fingerprint, Ref

_NONE = np.empty(0, dtype=np.uint32)


def _extend(values: array, more: np.ndarray) -> None:
    """Append a numpy array to an array of the same item type, converted if needed, with no
    copy in between."""
    values.frombytes(memoryview(np.ascontiguousarray(more, dtype=np.dtype(values.typecode))).cast("B"))


class Candidates(NamedTuple):
    """Index candidates of a batch of queries, as arrays: the earliest exact slot of each
    query (-1: none), and every (query position, slot, shared bands) pair, sorted by
    position then slot."""

    exact: np.ndarray
    owner: np.ndarray
    slots: np.ndarray
    shared: np.ndarray


class PerRow:
    """The candidates of a batch (`Candidates` with owners as rows) asked one row at a time,
    as (slots, shared bands) lists: made only for the rows asked about (most never are),
    where a dict of lists for every row with candidates cost more than the lookup itself."""

    def __init__(self, found: Candidates) -> None:
        self._owner, self._slots, self._shared = found.owner, found.slots, found.shared
        self.rows = np.unique(found.owner)

    def get(self, row: int, default: tuple[list[int], list[int]]) -> tuple[list[int], list[int] | None]:
        begin, end = np.searchsorted(self._owner, (row, row + 1)).tolist()
        if begin == end:
            return default
        return self._slots[begin:end].tolist(), self._shared[begin:end].tolist()


def query_columns(banding: Banding, fps: Sequence[Fingerprint],
                  band_keys: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """`fps` as the array methods take them: exact keys, the band keys of the signed ones
    (`band_keys` when the caller has them), and their positions."""
    keys = np.fromiter((fp.key for fp in fps), dtype=np.uint64, count=len(fps))
    sketched = np.flatnonzero(np.fromiter(map(signed, fps), dtype=bool, count=len(fps)))
    if len(sketched) and band_keys is None:
        band_keys = banding.keys(np.stack([fps[i].signature for i in sketched.tolist()]))
    return keys, band_keys, sketched


def founds(found: Candidates, n: int) -> list[Found]:
    """The `Found` of each of n queries, from their candidates in arrays."""
    candidates: list[list[int]] = [[] for _ in range(n)]
    shared: list[list[int]] = [[] for _ in range(n)]
    bounds = np.searchsorted(found.owner, np.arange(n + 1)).tolist()
    slots, counts = found.slots.tolist(), found.shared.tolist()
    for position in np.unique(found.owner).tolist():
        begin, end = bounds[position], bounds[position + 1]
        candidates[position], shared[position] = slots[begin:end], counts[begin:end]
    return [Found(e, c, k) for e, c, k in zip(found.exact.tolist(), candidates, shared, strict=True)]


class MemoryIndex(Index):
    """Kept texts in flat arrays and key tables (cleaner.dedup.keytable). The shingle sets
    of kept texts are kept (4 bytes per shingle) because verification needs them; MinHash
    signatures are not: the estimate reported for a match is recomputed from its shingles."""

    def __init__(self, threshold: float, banding: Banding, signer: Signer) -> None:
        super().__init__(threshold, banding, signer)
        self.bands = banding.bands
        self._exact = KeyTable()  # low 32 bits of the exact key; the full key is checked in _keys
        self._bands = KeyTable()
        self._keys = array("Q")
        self._documents: list[tuple[str, str]] = []
        self._document_of = array("I")
        self._paragraph_of = array("i")
        self._offsets = array("Q", [0])
        self._shingles = array("I")
        self._sure = sure_bands(banding, threshold)

    def __len__(self) -> int:
        return len(self._document_of)

    def in_arrays(self) -> bool:
        return True

    def lookup_many(self, fps: Sequence[Fingerprint], band_keys: np.ndarray | None = None) -> list[Found]:
        return founds(self.lookup_columns(*query_columns(self.banding, fps, band_keys)), len(fps))

    def lookup_columns(self, keys: np.ndarray, band_keys: np.ndarray | None, sketched: np.ndarray) -> Candidates:
        """`lookup_many` in arrays, for a batch: `keys` of n queries (uint64), `band_keys` of
        those at positions `sketched` (one row each, ascending positions)."""
        exact = np.full(len(keys), -1, dtype=np.int64)
        positions, slots = self._exact.lookup((keys & SLOT_MASK).astype(np.uint32))
        if len(slots):
            same = np.frombuffer(self._keys, dtype=np.uint64)[slots.astype(np.intp)] == keys[positions]
            if same.any():
                earliest = np.full(len(keys), np.iinfo(np.int64).max, dtype=np.int64)
                np.minimum.at(earliest, positions[same], slots[same].astype(np.int64))
                exact = np.where(earliest < np.iinfo(np.int64).max, earliest, -1)
        none = np.empty(0, dtype=np.int64)
        if not len(sketched) or band_keys is None:
            return Candidates(exact, none.astype(np.intp), none, none)
        positions, slots = self._bands.lookup(band_keys.ravel(), KEY_CAP)
        if not len(slots):
            return Candidates(exact, none.astype(np.intp), none, none)
        pairs, counts = np.unique((positions // self.bands).astype(np.uint64) << SHIFT | slots, return_counts=True)
        owner = sketched[(pairs >> SHIFT).astype(np.intp)]
        return Candidates(exact, owner, (pairs & SLOT_MASK).astype(np.int64), counts.astype(np.int64))

    def band_load(self, band_keys: np.ndarray) -> np.ndarray:
        """How many slots `lookup_many` finds under each of `band_keys` (at most KEY_CAP)."""
        positions, _ = self._bands.lookup(band_keys, KEY_CAP)
        return np.bincount(positions, minlength=len(band_keys))

    def verify(self, fp: Fingerprint, found: Found) -> Match | None:
        if found.exact >= 0:
            return Match(self.ref(found.exact), 1.0, 1.0, exact=True)
        if not signed(fp):
            return None
        slots, cut = to_verify(found, self._sure)
        self.capped += cut
        best = best_verified(fp.shingles, slots, *self.gather(slots), self.threshold)
        return None if best is None else self.matched(fp, best[1], best[0])

    def matched(self, fp: Fingerprint, slot: int, similarity: float) -> Match:
        """The match of `fp` with the kept text at `slot`, of verified `similarity`; the
        estimate is recomputed from the kept shingles (signatures are not kept)."""
        estimated = float(np.mean(self.signer(self.shingles(slot)) == fp.signature))
        return Match(self.ref(slot), similarity, estimated)

    def gather(self, slots: Sequence[int] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The shingles of `slots` end to end (a copy), and how many each has."""
        offsets = np.frombuffer(self._offsets, dtype=np.uint64)
        where = np.asarray(slots, dtype=np.intp)
        begin, lengths = offsets[where].astype(np.intp), (offsets[where + 1] - offsets[where]).astype(np.intp)
        flat = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths - begin, lengths)
        del offsets  # views of the arrays must not outlive the call: they could not grow while one exists
        return np.frombuffer(self._shingles, dtype=np.uint32)[flat], lengths

    def store(self, refs: Sequence[Ref], fps: Sequence[Fingerprint]) -> int:
        first = len(self._document_of)
        for ref in refs:
            if not self._documents or self._documents[-1] != (ref.source, ref.id):
                self._documents.append((ref.source, ref.id))
            self._document_of.append(len(self._documents) - 1)
            self._paragraph_of.append(-1 if ref.paragraph is None else ref.paragraph)
        self._keys.extend(fp.key for fp in fps)
        for fp in fps:
            if fp.signature is not None and fp.shingles is not None:  # signed(fp), inline: called per entry
                self._shingles.frombytes(np.asarray(fp.shingles, dtype=np.uint32).tobytes())
            self._offsets.append(len(self._shingles))
        return first

    def store_columns(self, documents: Sequence[tuple[str, str]], owner: np.ndarray, paragraph: np.ndarray,
                      keys: np.ndarray, fps: Sequence[Fingerprint]) -> int:
        """`store` in arrays, for a batch: entry i is paragraph[i] (-1: a whole document) of
        documents[owner[i]] (source, id), with exact key keys[i] and the shingles of fps[i].
        Entries of one document are side by side (`owner` ascending, as a batch adds)."""
        first = len(self._document_of)
        runs = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]]) if len(owner) else _NONE.astype(np.intp)
        numbers, last = [], self._documents[-1] if self._documents else None
        for source_id in map(documents.__getitem__, owner[runs].tolist()):
            if source_id != last:
                self._documents.append(source_id)
                last = source_id
            numbers.append(len(self._documents) - 1)
        counts = np.diff(np.r_[runs, len(owner)])
        _extend(self._document_of, np.repeat(np.asarray(numbers, dtype=np.uint32), counts))
        _extend(self._paragraph_of, paragraph)
        _extend(self._keys, keys)
        sets = [fp.shingles if fp.signature is not None and fp.shingles is not None else _NONE for fp in fps]
        lengths = np.fromiter(map(len, sets), dtype=np.uint64, count=len(sets))
        _extend(self._offsets, np.cumsum(lengths, dtype=np.uint64) + np.uint64(len(self._shingles)))
        if len(sets):
            _extend(self._shingles, np.concatenate(sets))
        return first

    def index_keys(self, first: int, fps: Sequence[Fingerprint], band_keys: np.ndarray | None = None) -> None:
        keys, band_keys, sketched = query_columns(self.banding, fps, band_keys)
        self.index_columns(first, keys, band_keys, sketched)

    def index_columns(self, first: int, keys: np.ndarray, band_keys: np.ndarray | None, sketched: np.ndarray) -> None:
        """`index_keys` in arrays: the entries at slots first.. have `keys`, and those at
        offsets `sketched` (ascending) the rows of `band_keys`."""
        slots = np.arange(first, first + len(keys), dtype=np.uint64)
        self._exact.add_many(keys, slots)  # the table keeps the low 32 bits
        if len(sketched) and band_keys is not None:
            self._bands.add_many(band_keys, slots[sketched])

    def ref(self, slot: int) -> Ref:
        source, doc_id = self._documents[self._document_of[slot]]
        paragraph = self._paragraph_of[slot]
        return Ref(source, doc_id, None if paragraph < 0 else paragraph)

    def shingles(self, slot: int) -> np.ndarray:
        return np.frombuffer(self._shingles[self._offsets[slot]:self._offsets[slot + 1]], dtype=np.uint32)

    def columns(self) -> dict[str, Any]:
        """The entries as arrays, slot order (for a persistent backend to write out): exact
        keys, packed band entries (cleaner.dedup.keytable), shingle offsets and shingles,
        each slot's document number and paragraph, and the (source, id) documents."""
        return {"keys": np.frombuffer(self._keys, dtype=np.uint64), "bands": self._bands.packed(),
                "offsets": np.frombuffer(self._offsets, dtype=np.uint64),
                "shingles": np.frombuffer(self._shingles, dtype=np.uint32),
                "doc_of": np.frombuffer(self._document_of, dtype=np.uint32),
                "para": np.frombuffer(self._paragraph_of, dtype=np.int32), "docs": list(self._documents)}

    def snapshot(self) -> dict[str, Any]:
        return {name: value for name, value in self.__dict__.items() if name not in ("signer", "banding", "capped")}

    def restore(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
