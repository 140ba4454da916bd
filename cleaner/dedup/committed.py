"""The read-only layers of a layered index (cleaner.dedup.layered): what earlier runs
committed, or a run's own spills, answered by global slot a batch at a time. A persistent
store implements one (cleaner.dedup.disk's segments, Redis's); the batch reads
(`gather`, `refs`) have per-slot defaults a layer may answer for less in arrays.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np

from cleaner.record import Ref


class Committed(ABC):
    """A read-only part of an index, by global slot: committed runs, or a run's spills."""

    @abstractmethod
    def count(self) -> int:
        """How many entries it holds."""

    @abstractmethod
    def exact(self, keys: np.ndarray) -> np.ndarray:
        """The earliest slot holding each exact key (uint64), -1 if none."""

    @abstractmethod
    def bands(self, keys: np.ndarray, room: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(positions, slots): slots[j] is stored under keys[positions[j]] (uint32 band keys),
        the earliest `room[p]` of each key at most, ascending; `room` is lowered by as many."""

    @abstractmethod
    def entries(self, slots: Sequence[int]) -> list[tuple[Ref, np.ndarray]]:
        """The reference (with its run) and shingles of each slot."""

    def gather(self, slots: Sequence[int] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The shingles of `slots` end to end (uint32), and how many each has."""
        sets = [np.asarray(shingles, dtype=np.uint32) for shingles in self.shingles(slots)]
        lengths = np.fromiter(map(len, sets), dtype=np.intp, count=len(sets))
        return (np.concatenate(sets) if sets else np.empty(0, dtype=np.uint32)), lengths

    def refs(self, slots: Sequence[int]) -> list[Ref]:
        """The reference (with its run) of each slot, what an exact copy's match needs."""
        return [ref for ref, _ in self.entries(slots)]

    def shingles(self, slots: Sequence[int]) -> list[np.ndarray]:
        """The shingles of each slot, what verifying a candidate needs (most candidates of a
        large index are chance band-key collisions: their references are never wanted)."""
        return [shingles for _, shingles in self.entries(slots)]
