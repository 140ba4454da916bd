"""The similarity index behind every dedup decision: exact keys, LSH bands, exact verification.

`SimilarityIndex` offers the two methods a decision needs: `find(fingerprint)` returns the
best kept match or None, `add(ref, fingerprint)` remembers a kept text. It holds only kept
texts, so a removal always points at text that is in the output (no chains A~B~C). For
speed, `find` is split into `lookup` (candidates of many texts in one numpy pass) and
`verify`, and `add_many` adds many texts at once; cleaner.batch builds on them.

Why not datasketch's `MinHashLSH`: its in-memory storage keeps, for every band of every
entry, a bytes key and a Python `set` in a dict, and every entry's band list again for
`remove()`. cleaner's first index (MinHashLSH of LeanMinHash, plus the shingle and
signature arrays) took 10.9 KB per paragraph at 32 bands (`bench/dedup_memory.py`). Here
an entry is a few slots in flat arrays: 16 bytes for the exact key, 8 bytes per band, 4
bytes per shingle for verification, 16 bytes for the reference and offset, 1-2 bytes per
key for the key filter (cleaner.keytable): 0.52 KB for a 40-word paragraph. The state is
plain data (arrays, dicts, lists), picklable for a checkpoint, and fully determined by the
inputs in order and `Config.seed`. The MinHash signatures stay datasketch's; the bands are
chosen for recall (`lsh_bands`).
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from cleaner.dedup.fingerprint import jaccard
from cleaner.dedup.keytable import SHIFT, SLOT_MASK, KeyTable
from cleaner.record import Fingerprint, Ref


@dataclass(frozen=True, slots=True)
class Match:
    """A kept text that a new one repeats, with the verified and estimated similarity."""

    ref: Ref
    similarity: float
    estimated: float
    exact: bool = False


def lsh_bands(threshold: float, num_perm: int, recall: float) -> tuple[int, int]:
    """(bands, rows) with the most rows per band that still makes a pair at `threshold`
    a candidate with probability >= `recall`. More rows mean fewer false candidates.

    datasketch's own optimum weighs false negatives and positives equally and, at 0.8
    with 128 permutations, finds a pair at the threshold only ~40% of the time; since every
    candidate is verified exactly here, false positives only cost time, so recall wins.
    """
    best = (num_perm, 1)
    for rows in range(1, num_perm + 1):
        bands = num_perm // rows
        if bands < 2:
            break
        if candidate_probability(threshold, bands, rows) >= recall:
            best = (bands, rows)
    return best


def candidate_probability(similarity: float, bands: int, rows: int) -> float:
    """Chance that two sets with this Jaccard similarity share at least one LSH band."""
    return 1.0 - (1.0 - similarity**rows) ** bands


class Banding:
    """The LSH bands of a threshold: (bands, rows) from `lsh_bands`, and one 32-bit key
    per band made by mixing the band's rows with odd constants unique to it (from `seed`)."""

    def __init__(self, threshold: float, num_perm: int, recall: float, seed: int) -> None:
        self.bands, self.rows = lsh_bands(threshold, num_perm, recall)
        mix = np.random.default_rng(seed).integers(1, 2**63, size=(self.bands, self.rows), dtype=np.uint64)
        self._mix = mix | np.uint64(1)

    def keys(self, signatures: np.ndarray) -> np.ndarray:
        """(n x bands) uint32 keys of n signatures (n x num_perm); uint64 sums wrap, so a
        row's keys do not depend on the other rows."""
        width = self.bands * self.rows
        rows = signatures[:, :width].astype(np.uint64).reshape(len(signatures), self.bands, self.rows)
        return ((rows * self._mix).sum(axis=2, dtype=np.uint64) >> np.uint64(32)).astype(np.uint32)


@dataclass(frozen=True, slots=True)
class Found:
    """What the index holds for one query: the earliest slot with its exact key (-1 if
    none) and the slots sharing at least one band key with it, ascending."""

    exact: int
    candidates: list[int]


class SimilarityIndex:
    """Kept texts by exact key and by MinHash LSH bands, each candidate verified exactly.

    `threshold` is the Jaccard at or above which a text repeats a kept one; the bands make
    a pair at the threshold a candidate with probability >= `recall`. The shingle sets of
    kept texts are kept (4 bytes per shingle) because verification needs them; MinHash
    signatures are not: the estimate reported for a match is recomputed from its shingles.

    `find(fp)` is `verify(fp, lookup([fp])[0])`; a caller judging many texts against an
    index that does not change meanwhile (a document's paragraphs against the corpus) calls
    `lookup` once for all of them and `verify` only for those it still needs.
    """

    def __init__(self, threshold: float, num_perm: int, recall: float, seed: int, signer) -> None:
        self.threshold = threshold
        self.banding = Banding(threshold, num_perm, recall, seed)
        self.bands, self.rows = self.banding.bands, self.banding.rows
        self._signer = signer  # shingles -> signature, the same function that made the queries'
        self._exact = KeyTable()  # low 32 bits of the exact key; the full key is checked in _keys
        self._bands = KeyTable()
        self._keys = array("Q")
        self._documents: list[tuple[str, str]] = []
        self._document_of = array("I")
        self._paragraph_of = array("i")
        self._offsets = array("Q", [0])
        self._shingles = array("I")

    def __len__(self) -> int:
        return len(self._document_of)

    def band_keys(self, signature: np.ndarray) -> np.ndarray:
        """One 32-bit key per band: band i's rows mixed by odd constants unique to band i."""
        return self.banding.keys(signature[None, :])[0]

    def find(self, fp: Fingerprint) -> Match | None:
        return self.verify(fp, self.lookup([fp])[0])

    def lookup(self, fps: Sequence[Fingerprint], band_keys: np.ndarray | None = None) -> list[Found]:
        """Exact and band candidates of every fingerprint, in one pass over the tables.

        `band_keys`: `banding.keys` of the signatures of those `fps` that have one (and
        shingles), in order, when the caller has them already."""
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
            positions, slots = self._bands.lookup(band_keys.ravel())
        if sketched and len(slots):
            pairs = np.unique((positions // self.bands).astype(np.uint64) << SHIFT | slots)
            for row, slot in zip((pairs >> SHIFT).tolist(), (pairs & SLOT_MASK).tolist(), strict=True):
                candidates[sketched[row]].append(slot)
        return [Found(e, c) for e, c in zip(exact, candidates, strict=True)]

    def verify(self, fp: Fingerprint, found: Found) -> Match | None:
        """The best kept match among `found`: the earliest exact copy, else the candidate of
        highest verified Jaccard at or above the threshold (the earliest on a tie)."""
        if found.exact >= 0:
            return Match(self.ref(found.exact), 1.0, 1.0, exact=True)
        if not signed(fp):
            return None
        best: tuple[float, int] | None = None
        for slot in found.candidates:
            similarity = jaccard(fp.shingles, self.shingles(slot))
            if similarity >= self.threshold and (best is None or similarity > best[0]):
                best = (similarity, slot)
        if best is None:
            return None
        similarity, slot = best
        estimated = float(np.mean(self._signer(self.shingles(slot)) == fp.signature))
        return Match(self.ref(slot), similarity, estimated)

    def add(self, ref: Ref, fp: Fingerprint) -> None:
        self.add_many([ref], [fp])

    def add_many(self, refs: Sequence[Ref], fps: Sequence[Fingerprint], band_keys: np.ndarray | None = None) -> None:
        """Remember kept texts, in order; their band keys (as in `lookup`) go in in one pass."""
        self.key(self.append(refs, fps), fps, band_keys)

    def append(self, refs: Sequence[Ref], fps: Sequence[Fingerprint]) -> int:
        """The first half of `add_many`: store the texts' references, exact keys and shingles
        (`ref`, `shingles` and `verify` know them at once); return the first one's slot. They
        are found by `lookup` only once `key` has entered them in the key tables, which a
        batch (cleaner.batch) does once for all it added."""
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

    def key(self, first: int, fps: Sequence[Fingerprint], band_keys: np.ndarray | None = None) -> None:
        """The second half: enter `fps`, appended at slots `first`, `first + 1`, ..., in the
        exact-key and band-key tables (`band_keys`: those of the signed ones, if known)."""
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


def signed(fp: Fingerprint) -> bool:
    """True if `fp` is compared fuzzily (has a MinHash signature and shingles)."""
    return fp.signature is not None and fp.shingles is not None
