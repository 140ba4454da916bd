"""The similarity index behind every dedup decision: exact keys, LSH bands, exact verification.

`SimilarityIndex` offers the two methods a decision needs: `find(fingerprint)` returns the
best kept match or None, `add(ref, fingerprint)` remembers a kept text. It holds only kept
texts, so a removal always points at text that is in the output (no chains A~B~C).

Why not datasketch's `MinHashLSH`: its in-memory storage keeps, for every band of every
entry, a bytes key and a Python `set` in a dict, and every entry's band list again for
`remove()`. cleaner's first index (MinHashLSH of LeanMinHash, plus the shingle and
signature arrays) took 10.9 KB per paragraph at 32 bands (`bench/dedup_memory.py`). Here
an entry is a few slots in flat arrays: 16 bytes for the exact key, 8 bytes per band, 4
bytes per shingle for verification, 16 bytes for the reference and offset: 0.48 KB for a
40-word paragraph. The state is plain data (arrays, dicts, lists), picklable for a
checkpoint, and fully determined by the inputs in order and `Config.seed`. The MinHash
signatures stay datasketch's; the bands are chosen for recall (`lsh_bands`).
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass

import numpy as np

from .fingerprint import jaccard
from .record import Fingerprint, Ref


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


class KeyTable:
    """32-bit key -> slots, compact: sorted numpy runs merged like an LSM tree.

    Each entry is one uint64, `key << 32 | slot`, so a sorted run orders entries by key
    and then by slot (oldest first), and merging two runs is a concatenate and a sort.
    New entries wait in a small dict; every `FLUSH` entries they become a run, and runs of
    similar size are merged, so there are at most log2(n / FLUSH) + 1 of them. An entry
    costs 8 bytes (16 while two runs merge) instead of a Python dict entry and two ints.
    """

    FLUSH = 4096

    def __init__(self) -> None:
        self._pending: dict[int, list[int]] = {}
        self._pending_count = 0
        self._runs: list[np.ndarray] = []

    def add(self, keys: np.ndarray, slot: int) -> None:
        for key in keys.tolist():
            self._pending.setdefault(key, []).append(slot)
        self._pending_count += len(keys)
        if self._pending_count >= self.FLUSH:
            self._flush()

    def get(self, keys: np.ndarray) -> list[int]:
        """Every slot stored under any of `keys`; for a single key, oldest first."""
        low = keys.astype(np.uint64) << _SHIFT
        bounds = np.concatenate([low, low | _SLOT_MASK])  # slots 0 .. 2**32 - 2 (the largest possible)
        found: list[int] = []
        n = len(keys)
        for run in self._runs:  # oldest run first, then the pending dict
            at = np.searchsorted(run, bounds)
            for i in np.flatnonzero(at[n:] > at[:n]).tolist():
                found.extend((run[at[i]:at[n + i]] & _SLOT_MASK).tolist())
        for key in keys.tolist():
            found.extend(self._pending.get(key, ()))
        return found

    def _flush(self) -> None:
        packed = [key << 32 | slot for key, slots in self._pending.items() for slot in slots]
        self._pending, self._pending_count = {}, 0
        self._runs.append(np.sort(np.array(packed, dtype=np.uint64)))
        while len(self._runs) > 1 and len(self._runs[-2]) <= 2 * len(self._runs[-1]):
            merged = np.concatenate(self._runs[-2:])
            self._runs[-2:] = []
            merged.sort()
            self._runs.append(merged)


_SHIFT = np.uint64(32)
_SLOT_MASK = np.uint64(0xFFFFFFFF)


class SimilarityIndex:
    """Kept texts by exact key and by MinHash LSH bands, each candidate verified exactly.

    `threshold` is the Jaccard at or above which a text repeats a kept one; the bands make
    a pair at the threshold a candidate with probability >= `recall`. The shingle sets of
    kept texts are kept (4 bytes per shingle) because verification needs them; MinHash
    signatures are not: the estimate reported for a match is recomputed from its shingles.
    """

    def __init__(self, threshold: float, num_perm: int, recall: float, seed: int, signer) -> None:
        self.threshold = threshold
        self.bands, self.rows = lsh_bands(threshold, num_perm, recall)
        self._signer = signer  # shingles -> signature, the same function that made the queries'
        mix = np.random.default_rng(seed).integers(1, 2**63, size=(self.bands, self.rows), dtype=np.uint64)
        self._mix = mix | np.uint64(1)
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
        rows = signature[: self.bands * self.rows].astype(np.uint64).reshape(self.bands, self.rows)
        return ((rows * self._mix).sum(axis=1, dtype=np.uint64) >> np.uint64(32)).astype(np.uint32)

    def find(self, fp: Fingerprint) -> Match | None:
        key = _key_int(fp.key)
        exact = [slot for slot in self._exact.get(_low32(key)) if self._keys[slot] == key]
        if exact:
            return Match(self.ref(min(exact)), 1.0, 1.0, exact=True)
        if fp.signature is None or fp.shingles is None:
            return None
        best: tuple[float, int] | None = None
        for slot in sorted(set(self._bands.get(self.band_keys(fp.signature)))):
            similarity = jaccard(fp.shingles, self.shingles(slot))
            if similarity >= self.threshold and (best is None or similarity > best[0]):
                best = (similarity, slot)
        if best is None:
            return None
        similarity, slot = best
        estimated = float(np.mean(self._signer(self.shingles(slot)) == fp.signature))
        return Match(self.ref(slot), similarity, estimated)

    def add(self, ref: Ref, fp: Fingerprint) -> None:
        slot = len(self._document_of)
        if not self._documents or self._documents[-1] != (ref.source, ref.id):
            self._documents.append((ref.source, ref.id))
        self._document_of.append(len(self._documents) - 1)
        self._paragraph_of.append(-1 if ref.paragraph is None else ref.paragraph)
        key = _key_int(fp.key)
        self._keys.append(key)
        self._exact.add(_low32(key), slot)
        if fp.signature is not None and fp.shingles is not None:
            self._shingles.frombytes(fp.shingles.astype(np.uint32).tobytes())
            self._bands.add(self.band_keys(fp.signature), slot)
        self._offsets.append(len(self._shingles))

    def ref(self, slot: int) -> Ref:
        source, doc_id = self._documents[self._document_of[slot]]
        paragraph = self._paragraph_of[slot]
        return Ref(source, doc_id, None if paragraph < 0 else paragraph)

    def shingles(self, slot: int) -> np.ndarray:
        return np.frombuffer(self._shingles[self._offsets[slot]:self._offsets[slot + 1]], dtype=np.uint32)


def _key_int(key: bytes) -> int:
    return int.from_bytes(key[:8], "little")


def _low32(key: int) -> np.ndarray:
    return np.array([key & 0xFFFFFFFF], dtype=np.uint32)
