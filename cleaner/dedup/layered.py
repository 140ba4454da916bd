"""An index in two layers: what earlier runs committed (read-only, in a persistent store)
and what this run keeps (in memory, a `MemoryIndex`), answered as one `Index`.

Slots are global and grow over runs: this run's slots start after every committed one,
so candidates come out in the same order, and verification picks the same kept copy, as
if the earlier runs' input had come first in one run (first seen wins, the earliest on a
tie). A committed match carries the run that kept it (`Ref.run`); this run's do not, so a
run against an empty index writes the same bytes as a run without one.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

import numpy as np

from cleaner.dedup.fingerprint import jaccard
from cleaner.dedup.index import Banding, Found, Index, Match, Signer, signed
from cleaner.dedup.memory import MemoryIndex
from cleaner.errors import UsageError
from cleaner.record import Fingerprint, Ref


class Committed(ABC):
    """The read-only part of an index: what committed runs kept, by global slot."""

    @abstractmethod
    def count(self) -> int:
        """How many entries the committed runs hold."""

    @abstractmethod
    def lookup(self, keys: np.ndarray, band_keys: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        """For n exact keys (uint64) and n rows of band keys (n x bands uint32; zero rows
        for an unsigned query are never matched: pass `present` rows only), return the
        earliest slot with each exact key (-1: none) and, per row, the ascending unique
        slots sharing a band key."""

    @abstractmethod
    def entries(self, slots: Sequence[int]) -> list[tuple[Ref, np.ndarray]]:
        """The reference (with its run) and shingles of each slot."""


class LayeredIndex(Index):
    """`committed` (slots below `first`) under this run's `MemoryIndex` (from `first` on)."""

    def __init__(self, threshold: float, banding: Banding, signer: Signer, committed: Committed, first: int,
                 token: str) -> None:
        super().__init__(threshold, banding, signer)
        self.committed, self.first, self.token = committed, first, token
        self.head = MemoryIndex(threshold, banding, signer)

    def __len__(self) -> int:
        return self.committed.count() + len(self.head)

    def lookup_many(self, fps: Sequence[Fingerprint], band_keys: np.ndarray | None = None) -> list[Found]:
        sketched = [i for i, fp in enumerate(fps) if signed(fp)]
        if sketched and band_keys is None:
            band_keys = self.banding.keys(np.stack([fps[i].signature for i in sketched]))
        found = self.head.lookup_many(fps, band_keys)
        if not fps or not self.committed.count():
            return [Found(f.exact + self.first if f.exact >= 0 else -1, [s + self.first for s in f.candidates])
                    for f in found]
        keys = np.array([fp.key for fp in fps], dtype=np.uint64)
        rows = band_keys if sketched else np.empty((0, self.banding.bands), dtype=np.uint32)
        exact, candidates = self.committed.lookup(keys, rows)
        by_position: dict[int, np.ndarray] = dict(zip(sketched, candidates, strict=True))
        out = []
        for i, head in enumerate(found):
            old = by_position.get(i)
            new = [s + self.first for s in head.candidates]
            first_exact = int(exact[i]) if exact[i] >= 0 else (head.exact + self.first if head.exact >= 0 else -1)
            out.append(Found(first_exact, (old.tolist() + new) if old is not None and len(old) else new))
        return out

    def band_load(self, band_keys: np.ndarray) -> np.ndarray:
        """What this run's layer holds under each key: the bound on what a batch adds under
        one key (committed runs are not capped yet: see the README's persistent index)."""
        return self.head.band_load(band_keys)

    def verify(self, fp: Fingerprint, found: Found) -> Match | None:
        if found.exact >= 0:
            return Match(self._entry(found.exact)[0], 1.0, 1.0, exact=True)
        if not signed(fp) or not found.candidates:
            return None
        best: tuple[float, Ref, np.ndarray] | None = None
        for ref, shingles in self._entries(found.candidates):
            similarity = jaccard(fp.shingles, shingles)
            if similarity >= self.threshold and (best is None or similarity > best[0]):
                best = (similarity, ref, shingles)
        if best is None:
            return None
        similarity, ref, shingles = best
        estimated = float(np.mean(self.signer(shingles) == fp.signature))
        return Match(ref, similarity, estimated)

    def _entries(self, slots: Sequence[int]) -> list[tuple[Ref, np.ndarray]]:
        old = [s for s in slots if s < self.first]
        looked = iter(self.committed.entries(old) if old else [])
        return [next(looked) if s < self.first else (self.head.ref(s - self.first), self.head.shingles(s - self.first))
                for s in slots]

    def _entry(self, slot: int) -> tuple[Ref, np.ndarray]:
        return self._entries([slot])[0]

    def store(self, refs: Sequence[Ref], fps: Sequence[Fingerprint]) -> int:
        return self.head.store(refs, fps) + self.first

    def index_keys(self, first: int, fps: Sequence[Fingerprint], band_keys: np.ndarray | None = None) -> None:
        self.head.index_keys(first - self.first, fps, band_keys)

    def snapshot(self) -> dict[str, Any]:
        """This run's additions and the committed state they sit on (not the whole index)."""
        return {"first": self.first, "token": self.token, "head": self.head.snapshot()}

    def restore(self, state: dict[str, Any]) -> None:
        if (state["first"], state["token"]) != (self.first, self.token):
            raise UsageError("cannot resume: the index changed since the interrupted run "
                             f"(committed state {state['token']}, now {self.token}); rerun with --overwrite")
        self.head.restore(state["head"])
