"""The index seam: what the ordered decide stage asks of an index of kept texts, and the
registry that picks a backend.

An index holds only kept texts (so a removal always points at text in the output, no
chains A~B~C), by exact key and by MinHash LSH band keys, and verifies every candidate by
its true Jaccard similarity. The decide stage works a batch at a time (cleaner.dedup.batch):
`lookup_many` finds every query's candidates in one pass, `verify` picks the best real
match, `store` remembers kept texts (their references, keys and shingles) and
`index_keys` makes them findable, once per batch. `snapshot`/`restore` carry the state
through a checkpoint. A backend is one module with one class implementing these, and one
line in `BACKENDS`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import import_module
import math
from types import ModuleType
from typing import Any

import numpy as np

from cleaner.errors import ConfigError
from cleaner.record import Fingerprint, Ref

Signer = Callable[[np.ndarray], np.ndarray]


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
        rows = (signatures[:, :width].astype(np.uint64) * self._mix.ravel()).reshape(len(signatures), self.bands,
                                                                                      self.rows)
        sums = rows[:, :, 0].copy()
        for row in range(1, self.rows):  # column by column: numpy reduces a short last axis slowly
            sums += rows[:, :, row]
        return (sums >> np.uint64(32)).astype(np.uint32)


# Bounded work (README, "Bounded work on templated text"): a band key returns only the
# earliest KEY_CAP kept texts stored under it (the representatives of a cluster), and a
# lookup verifies at most VERIFY_BUDGET candidates, most shared bands first, beyond those
# that share as many bands as a pair at the threshold is expected to (always verified).
KEY_CAP = 64
VERIFY_BUDGET = 64


@dataclass(frozen=True, slots=True)
class Found:
    """What the index holds for one query: the earliest slot with its exact key (-1 if
    none), the slots sharing at least one band key with it, ascending, and (`shared`) how
    many of the query's bands each shares (None: one each)."""

    exact: int
    candidates: list[int]
    shared: list[int] | None = None


def sure_bands(banding: Banding, threshold: float) -> int:
    """Shared bands that put a candidate above the threshold by the LSH estimate: as many as
    a pair at the threshold shares on average. Such candidates are always verified; a key
    returns at most KEY_CAP slots, so there are at most bands * KEY_CAP / sure_bands of them."""
    return max(1, math.ceil(banding.bands * threshold**banding.rows))


def to_verify(found: Found, sure: int) -> tuple[list[int], bool]:
    """The candidates of `found` to verify, and whether the budget left any out: all of them
    when they fit VERIFY_BUDGET, else the best VERIFY_BUDGET by shared bands (earliest on a
    tie) and every one with at least `sure` shared bands."""
    candidates = found.candidates
    if len(candidates) <= VERIFY_BUDGET:
        return candidates, False
    shared = np.array(found.shared or [1] * len(candidates))
    order = np.lexsort((np.array(candidates), -shared))  # most shared bands first, then the earliest
    take = max(VERIFY_BUDGET, int((shared >= sure).sum()))
    return np.array(candidates)[order[:take]].tolist(), take < len(candidates)


def best_verified(query: np.ndarray, ids: Sequence[int], shingles: np.ndarray, lengths: np.ndarray,
                  threshold: float) -> tuple[float, int] | None:
    """(Jaccard, id) of the candidate most similar to `query` at or above `threshold`, the
    smallest id on a tie; None if none is. `query`: a sorted unique shingle array;
    `shingles`: the candidates' sorted unique shingle arrays end to end, `lengths` theirs.
    One numpy pass for all (the value of `jaccard`): a binary search of `query` for each
    candidate shingle, no sort (np.isin sorts both sides)."""
    if not len(ids):
        return None
    common = shared_counts(query, shingles, lengths)
    union = len(query) + lengths - common
    similarity = np.where(union > 0, common / np.maximum(union, 1), 1.0)
    at_best = np.flatnonzero(similarity == similarity.max())
    best = min(at_best.tolist(), key=lambda i: ids[i])
    return (float(similarity[best]), ids[best]) if similarity[best] >= threshold else None


def shared_counts(query: np.ndarray, shingles: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """How many shingles of each candidate (`shingles`: unique arrays end to end, `lengths`
    long) are in the sorted array `query`: by a compiled filtered search once numba is started
    (cleaner.dedup.verify_kernels), else by one binary search of every shingle."""
    kernels = loaded_kernels()
    if kernels is not None and query.dtype == shingles.dtype:
        return kernels.shared_counts(query, shingles, lengths)
    return searched_counts(query, shingles, lengths)


def searched_counts(query: np.ndarray, shingles: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """`shared_counts` in numpy: one binary search of `query` for every candidate shingle."""
    if len(query):
        where = np.searchsorted(query, shingles)
        inside = query[np.minimum(where, len(query) - 1)] == shingles
    else:
        inside = np.zeros(len(shingles), dtype=bool)
    running = np.concatenate([[0], np.cumsum(inside)])
    ends = np.cumsum(lengths)
    return running[ends] - running[ends - lengths]


def loaded_kernels() -> ModuleType | None:
    """cleaner.dedup.kernels if this process has started numba already (it fingerprints, or
    searches a segment on disk), else None: verification alone never repays its start."""
    from cleaner.dedup import sketch

    return sketch.compiled(0)


class Index(ABC):
    """Kept texts by exact key and LSH band keys; every candidate verified exactly.

    `threshold` is the Jaccard at or above which a text repeats a kept one; `banding`
    makes a pair at the threshold a candidate with probability >= the configured recall.
    `signer` turns shingles into a signature (the function that signed the queries), for
    the estimate reported with a match.
    """

    def __init__(self, threshold: float, banding: Banding, signer: Signer) -> None:
        self.threshold = threshold
        self.banding = banding
        self.signer = signer
        self.capped = 0

    @abstractmethod
    def __len__(self) -> int: ...

    @abstractmethod
    def lookup_many(self, fps: Sequence[Fingerprint], band_keys: np.ndarray | None = None) -> list[Found]:
        """Exact and band candidates of every fingerprint, in one pass. `band_keys`:
        `banding.keys` of the signed ones among `fps`, in order, when the caller has them."""

    @abstractmethod
    def band_load(self, band_keys: np.ndarray) -> np.ndarray:
        """How many slots `lookup_many` finds under each band key (at most KEY_CAP)."""

    @abstractmethod
    def verify(self, fp: Fingerprint, found: Found) -> Match | None:
        """The best kept match among `found`: the earliest exact copy, else the candidate of
        highest verified Jaccard at or above the threshold (the earliest on a tie), among
        those `to_verify` picks; `capped` counts the lookups where that left some out."""

    @abstractmethod
    def store(self, refs: Sequence[Ref], fps: Sequence[Fingerprint]) -> int:
        """Remember kept texts, in order; return the first one's slot. `verify` knows them
        at once; `lookup_many` finds them only after `index_keys`."""

    @abstractmethod
    def index_keys(self, first: int, fps: Sequence[Fingerprint], band_keys: np.ndarray | None = None) -> None:
        """Make `fps`, stored at slots `first`, `first + 1`, ..., findable by `lookup_many`."""

    @abstractmethod
    def snapshot(self) -> Any:
        """The whole state as plain picklable data, for a checkpoint."""

    @abstractmethod
    def restore(self, state: Any) -> None:
        """Become the index `snapshot` described (this one must be empty and alike)."""

    def in_arrays(self) -> bool:
        """Whether this index also answers a batch in arrays (`lookup_columns`, `gather`,
        `ref`, `matched`, `store_columns`, `index_columns`, as `MemoryIndex` does), the
        batched path of cleaner.dedup.batch; an index without them is asked per query."""
        return False

    def lookup_loads(self, keys: np.ndarray, band_keys: np.ndarray | None,
                     sketched: np.ndarray) -> tuple[Any, np.ndarray | None]:
        """`lookup_columns` of an index that answers in arrays, and how many slots its
        read-only layers hold under each band key, so `band_load` need not search them
        again (None: it has no such layers, as an in-memory index)."""
        return self.lookup_columns(keys, band_keys, sketched), None  # type: ignore[attr-defined]

    def refs(self, slots: Sequence[int]) -> list[Ref]:
        """The reference of each slot, of an index that answers in arrays (`in_arrays`, whose
        `ref` names one slot): an index may answer many at once for less."""
        return [self.ref(int(slot)) for slot in slots]  # type: ignore[attr-defined]

    def find(self, fp: Fingerprint) -> Match | None:
        """The best kept match of one text (a batch of one)."""
        return self.verify(fp, self.lookup_many([fp])[0])

    def add(self, ref: Ref, fp: Fingerprint) -> None:
        self.add_many([ref], [fp])

    def add_many(self, refs: Sequence[Ref], fps: Sequence[Fingerprint], band_keys: np.ndarray | None = None) -> None:
        """Store kept texts and make them findable at once."""
        self.index_keys(self.store(refs, fps), fps, band_keys)


# One line per backend: its name -> "module:class".
BACKENDS = {
    "memory": "cleaner.dedup.memory:MemoryIndex",
}


def open_index(threshold: float, num_perm: int, recall: float, seed: int, signer: Signer,
               backend: str = "memory") -> Index:
    """An empty index of the named backend."""
    if backend not in BACKENDS:
        raise ConfigError(f"index backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    module, name = BACKENDS[backend].split(":")
    index_class = getattr(import_module(module), name)
    return index_class(threshold, Banding(threshold, num_perm, recall, seed), signer)


def signed(fp: Fingerprint) -> bool:
    """True if `fp` is compared fuzzily (has a MinHash signature and shingles)."""
    return fp.signature is not None and fp.shingles is not None
