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
import itertools
from typing import Any

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

    def lookup_many(self, fps: Sequence[Fingerprint], band_keys: np.ndarray | None = None) -> list[Found]:
        keys = np.array([fp.key for fp in fps], dtype=np.uint64)
        exact = [-1] * len(fps)
        positions, slots = self._exact.lookup((keys & SLOT_MASK).astype(np.uint32))
        if len(slots):
            same = np.frombuffer(self._keys, dtype=np.uint64)[slots.astype(np.intp)] == keys[positions]
            for position, slot in zip(positions[same].tolist(), slots[same].tolist(), strict=True):
                if exact[position] < 0 or slot < exact[position]:
                    exact[position] = slot
        candidates: list[list[int]] = [[] for _ in fps]
        sketched = [i for i, fp in enumerate(fps) if signed(fp)]
        if sketched:
            if band_keys is None:
                band_keys = self.banding.keys(np.stack([fps[i].signature for i in sketched]))
            positions, slots = self._bands.lookup(band_keys.ravel(), KEY_CAP)
        shared: list[list[int]] = [[] for _ in fps]
        if sketched and len(slots):
            pairs, counts = np.unique((positions // self.bands).astype(np.uint64) << SHIFT | slots,
                                      return_counts=True)
            rows = (pairs >> SHIFT).astype(np.intp)
            bounds = np.searchsorted(rows, np.arange(len(sketched) + 1)).tolist()
            slots, counts = (pairs & SLOT_MASK).tolist(), counts.tolist()
            for row, (begin, end) in enumerate(itertools.pairwise(bounds)):
                if begin < end:
                    candidates[sketched[row]], shared[sketched[row]] = slots[begin:end], counts[begin:end]
        return [Found(e, c, n) for e, c, n in zip(exact, candidates, shared, strict=True)]

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
        best = best_verified(fp.shingles, slots, *self._gather(slots), self.threshold)
        if best is None:
            return None
        similarity, slot = best
        estimated = float(np.mean(self.signer(self.shingles(slot)) == fp.signature))
        return Match(self.ref(slot), similarity, estimated)

    def _gather(self, slots: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """The shingles of `slots` end to end (a copy), and how many each has."""
        offsets = np.frombuffer(self._offsets, dtype=np.uint64)
        where = np.array(slots, dtype=np.intp)
        begin, lengths = offsets[where].astype(np.intp), (offsets[where + 1] - offsets[where]).astype(np.intp)
        flat = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths) + np.repeat(begin, lengths)
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

    def index_keys(self, first: int, fps: Sequence[Fingerprint], band_keys: np.ndarray | None = None) -> None:
        slots = np.arange(first, first + len(fps), dtype=np.uint64)
        keys = np.array([fp.key for fp in fps], dtype=np.uint64)
        self._exact.add_many(keys, slots)  # the table keeps the low 32 bits
        sketched = [i for i, fp in enumerate(fps) if signed(fp)]
        if sketched:
            if band_keys is None:
                band_keys = self.banding.keys(np.stack([fps[i].signature for i in sketched]))
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
