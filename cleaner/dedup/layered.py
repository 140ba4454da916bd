"""An index in layers: what earlier runs committed (read-only, in a persistent store), what
this run spilled (read-only segments of the same kind, staged), and what this run keeps
since (in memory, a `MemoryIndex`), answered as one `Index`.

Slots are global and grow over runs and spills: each layer's slots follow the ones below,
so candidates come out in the same order, each band key returns the same earliest KEY_CAP
slots, and verification picks the same kept copy, as one `MemoryIndex` fed the same texts
in order would (first seen wins, the earliest on a tie). A committed match carries the run
that kept it (`Ref.run`); this run's do not, so a run against an empty index writes the
same bytes as a run without one. Memory stays flat: when the in-memory layer passes its
budget, it is written out (`spill`) and a new one begins; spilled segments are merged as
they come, so a lookup searches a few of them, not one per spill, and with `background`
both happen on a writer thread while the run goes on (cleaner.dedup.spills).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from cleaner.dedup.committed import Committed
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
from cleaner.dedup.memory import Candidates, MemoryIndex, founds, query_columns
from cleaner.dedup.spills import Drop, Merge, Reopen, Spills, Write
from cleaner.errors import UsageError
from cleaner.record import Fingerprint, Ref

ENTRY_BYTES = 48  # what an entry costs in a MemoryIndex apart from its shingles and band keys (an estimate)
# A head past this is spilled when a checkpoint is taken, not pickled into it: a checkpoint
# then names segments and stays small, however long the run (and it is not rewritten whole
# every few seconds).
CHECKPOINT_HEAD_BYTES = 16 << 20




class LayeredIndex(Index):
    """`committed` (slots below `first`), then this run's spilled layers, then its `head`."""

    def __init__(self, threshold: float, banding: Banding, signer: Signer, committed: Committed, first: int,
                 token: str, spill: Write | None = None, reopen: Reopen | None = None,
                 budget: int = 1 << 62, merge: Merge | None = None, drop: Drop | None = None,
                 background: bool = False) -> None:
        super().__init__(threshold, banding, signer)
        self.committed, self.first, self.token = committed, first, token
        self._spill, self._reopen, self.budget = spill, reopen, budget
        self._layers: list[Committed] = [committed] if committed.count() else []
        self.spills = Spills(spill, reopen, merge, drop, background)
        self.head_first = first
        self.head = MemoryIndex(threshold, banding, signer)
        self._head_bytes = 0
        self._sure = sure_bands(banding, threshold)

    @property
    def spilled(self) -> list[dict]:
        """The records of this run's spilled segments, in slot order."""
        return self.spills.records

    def __len__(self) -> int:
        return self.head_first - self.first + self.committed.count() + len(self.head)

    def _lower(self) -> list[Committed]:
        return self._layers + [layer for layer, _, _ in self.spills.layers]

    def lookup_many(self, fps: Sequence[Fingerprint], band_keys: np.ndarray | None = None) -> list[Found]:
        return founds(self.lookup_columns(*query_columns(self.banding, fps, band_keys)), len(fps))

    def _head_part(self, flat: np.ndarray, room: np.ndarray, row: int) -> tuple[list[int], list[int]]:
        """The head's candidates of one row of band keys, each key giving its earliest
        `room` slots only (a key's KEY_CAP is shared with the layers below)."""
        bands = self.banding.bands
        keys, left = flat[row * bands:(row + 1) * bands], room[row * bands:(row + 1) * bands]
        # One probe per key: a row of that key alone finds exactly the key's (capped) slots.
        probes = [_PROBE] * len(keys)
        found = self.head.lookup_many(probes, np.repeat(keys[:, None], bands, axis=1))
        counts: dict[int, int] = {}
        for each, take in zip(found, left.tolist(), strict=True):
            for slot in each.candidates[:max(take, 0)]:  # ascending: the earliest first
                counts[slot] = counts.get(slot, 0) + 1
        ordered = sorted(counts)
        return ordered, [counts[s] for s in ordered]

    def band_load(self, band_keys: np.ndarray, below: np.ndarray | None = None) -> np.ndarray:
        """How many slots `lookup_many` finds under each key, every layer counted (at most KEY_CAP).
        `below`: what the read-only layers hold under each (from `lookup_loads`), not searched again."""
        if below is None:
            room = np.full(len(band_keys), KEY_CAP, dtype=np.int64)
            for layer in self._lower():
                layer.bands(band_keys, room)
            below = KEY_CAP - room
        else:
            room = KEY_CAP - below
        return below + np.minimum(self.head.band_load(band_keys), room) if len(self.head) else below

    def verify(self, fp: Fingerprint, found: Found) -> Match | None:
        if found.exact >= 0:
            return Match(self._entries([found.exact])[0][0], 1.0, 1.0, exact=True)
        if not signed(fp) or not found.candidates:
            return None
        if found.candidates[0] >= self.head_first:  # all in memory: the head's own verification
            shift = self.head_first
            inner = found if not shift else Found(-1, [s - shift for s in found.candidates], found.shared)
            match = self.head.verify(fp, inner)
            self.capped, self.head.capped = self.capped + self.head.capped, 0
            return match
        slots, cut = to_verify(found, self._sure)
        self.capped += cut
        entries = self._entries(slots)
        lengths = np.array([len(s) for _, s in entries], dtype=np.intp)
        flat = np.concatenate([s for _, s in entries]) if entries else np.empty(0, dtype=np.uint32)
        best = best_verified(fp.shingles, slots, flat, lengths, self.threshold)
        if best is None:
            return None
        similarity, slot = best
        ref, shingles = entries[slots.index(slot)]
        return Match(ref, similarity, self._estimate(fp, shingles))

    def _estimate(self, fp: Fingerprint, shingles: np.ndarray) -> float:
        """The MinHash estimate of `fp` against kept `shingles` (signatures are not kept)."""
        return float(np.mean(self.signer(np.asarray(shingles)) == fp.signature))

    def _entries(self, slots: Sequence[int]) -> list[tuple[Ref, np.ndarray]]:
        out: list[Any] = [None] * len(slots)
        for layer, held, mine in self._held(np.asarray(slots, dtype=np.int64)):
            for i, entry in zip(held, layer.entries(mine), strict=True):
                out[i] = entry
        for i, s in enumerate(slots):
            if s >= self.head_first:
                out[i] = (self.head.ref(s - self.head_first), self.head.shingles(s - self.head_first))
        return out

    def _spans(self) -> list[tuple[Committed, int, int]]:
        spans = [(self.committed, 0, self.first)] if self.committed.count() else []
        return spans + self.spills.layers

    def _held(self, where: np.ndarray) -> Iterator[tuple[Committed, list[int], list[int]]]:
        """Each read-only layer holding some of the global slots `where`: the positions in
        `where` of those it holds, and the slots."""
        for layer, first, end in self._spans():
            held = np.flatnonzero((where >= first) & (where < end))
            if len(held):
                yield layer, held.tolist(), where[held].tolist()

    def store(self, refs: Sequence[Ref], fps: Sequence[Fingerprint]) -> int:
        self._count(fps)
        return self.head.store(refs, fps) + self.head_first

    def index_keys(self, first: int, fps: Sequence[Fingerprint], band_keys: np.ndarray | None = None) -> None:
        self.head.index_keys(first - self.head_first, fps, band_keys)
        self._spill_if_over(first + len(fps))

    def _count(self, fps: Sequence[Fingerprint]) -> None:
        """Add what storing `fps` costs the in-memory layer (an estimate) to its budget count."""
        self._head_bytes += ENTRY_BYTES * len(fps) + sum(
            4 * len(fp.shingles) + 9 * self.banding.bands for fp in fps if signed(fp))

    def _spill_if_over(self, end: int) -> None:
        """Spill once the in-memory layer is over budget and every stored entry (up to slot
        `end`) is findable: never between a batch's `store` and its `index_keys`."""
        if self._spill is not None and self._head_bytes > self.budget and end == len(self):
            self.spill()

    def in_arrays(self) -> bool:  # every layer answers a batch in arrays, in global slots
        return True

    def lookup_columns(self, keys: np.ndarray, band_keys: np.ndarray | None, sketched: np.ndarray) -> Candidates:
        """The exact slots and candidates of a batch in arrays (cleaner.dedup.memory.Candidates),
        every layer in global slots; `lookup_many` is this, as lists."""
        return self.lookup_loads(keys, band_keys, sketched)[0]

    def lookup_loads(self, keys: np.ndarray, band_keys: np.ndarray | None,
                     sketched: np.ndarray) -> tuple[Candidates, np.ndarray]:
        """`lookup_columns`, and how many slots the read-only layers hold under each band key
        (`band_keys` flat; at most KEY_CAP): what `band_load` would search them for again."""
        head, shift, lower = self.head.lookup_columns(keys, band_keys, sketched), self.head_first, self._lower()
        exact = np.where(head.exact >= 0, head.exact + shift, -1)
        owner, slots, shared = head.owner, head.slots + shift, head.shared
        loads = np.zeros(0 if band_keys is None else band_keys.size, dtype=np.int64)
        if not len(keys) or not lower:
            return Candidates(exact, owner, slots, shared), loads
        below = np.full(len(keys), -1, dtype=np.int64)
        for layer in lower:  # ascending slots: the first hit is the earliest
            below = np.where(below < 0, layer.exact(keys), below)
        exact = np.where(below >= 0, below, exact)
        if not len(sketched) or band_keys is None:
            return Candidates(exact, owner, slots, shared), loads
        low_owner, low_slots, low_shared, recount, loads = self._lower_columns(lower, band_keys.ravel())
        if not len(low_owner):
            return Candidates(exact, owner, slots, shared), loads
        low_owner = sketched[low_owner]
        parts = [(low_owner, low_slots, low_shared)]
        if recount:
            keep = ~np.isin(owner, sketched[list(recount)])
            parts.append((owner[keep], slots[keep], shared[keep]))
            for row, (new, counts) in recount.items():
                parts.append((np.full(len(new), sketched[row], dtype=np.intp),
                              np.asarray(new, dtype=np.int64) + shift, np.asarray(counts, dtype=np.int64)))
        else:
            parts.append((owner, slots, shared))
        owner, slots, shared = (np.concatenate([np.asarray(p[i]) for p in parts]) for i in range(3))
        order = np.lexsort((slots, owner))
        return Candidates(exact, owner[order].astype(np.intp), slots[order].astype(np.int64),
                          shared[order].astype(np.int64)), loads

    def _lower_columns(self, lower: list[Committed], flat: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                                              dict[int, tuple[list[int], list[int]]],
                                                                              np.ndarray]:
        """Per row of band keys (`flat`, bands a row): the (row, slot, shared bands) of the
        lower layers, each key giving its earliest KEY_CAP slots across them, the head's part
        recounted (head-local) of the rows where a key's KEY_CAP was reached below, and how
        many slots the lower layers gave each key."""
        bands = self.banding.bands
        room = np.full(len(flat), KEY_CAP, dtype=np.int64)
        positions, slots = [], []
        for layer in lower:
            p, s = layer.bands(flat, room)
            positions.append(np.asarray(p))
            slots.append(np.asarray(s))
        none = np.empty(0, dtype=np.int64)
        if not sum(len(p) for p in positions):
            return none.astype(np.intp), none, none, {}, KEY_CAP - room
        pairs, counts = np.unique((np.concatenate(positions) // bands).astype(np.uint64) << np.uint64(32)
                                  | np.concatenate(slots).astype(np.uint64), return_counts=True)
        rows = (pairs >> np.uint64(32)).astype(np.intp)
        values = (pairs & np.uint64(0xFFFFFFFF)).astype(np.int64)
        recount: dict[int, tuple[list[int], list[int]]] = {}
        used = np.flatnonzero(room < KEY_CAP)
        if len(used) and len(self.head):
            over = used[self.head.band_load(flat[used]) > room[used]]
            recount = {row: self._head_part(flat, room, row) for row in np.unique(over // bands).tolist()}
        return rows, values, counts.astype(np.int64), recount, KEY_CAP - room

    def gather(self, slots: Sequence[int] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The shingles of `slots` end to end, and how many each has, from whichever layer holds each."""
        where = np.asarray(slots, dtype=np.int64)
        high = where >= self.head_first
        if high.all():
            return self.head.gather(where - self.head_first)
        parts = list(self._held(where))
        if len(parts) == 1 and len(parts[0][1]) == len(where):  # all in one read-only layer
            return parts[0][0].gather(where)
        sets: list[Any] = [None] * len(where)
        for layer, held, mine in parts:
            for i, shingles in zip(held, layer.shingles(mine), strict=True):
                sets[i] = np.asarray(shingles, dtype=np.uint32)
        up = np.flatnonzero(high)
        if len(up):
            flat, lengths = self.head.gather(where[up] - self.head_first)
            for i, part in zip(up.tolist(), np.split(flat, np.cumsum(lengths)[:-1]), strict=True):
                sets[i] = part
        lengths = np.fromiter(map(len, sets), dtype=np.intp, count=len(sets))
        return np.concatenate(sets).astype(np.uint32, copy=False), lengths

    def ref(self, slot: int) -> Ref:
        """The reference of `slot` (with its run, for a committed one)."""
        if slot >= self.head_first:
            return self.head.ref(slot - self.head_first)
        return self._entries([slot])[0][0]

    def refs(self, slots: Sequence[int] | np.ndarray) -> list[Ref]:
        """`ref` of each of `slots`, a few array reads per layer (the exact copies of a batch)."""
        where = np.asarray(slots, dtype=np.int64)
        out: list[Any] = [None] * len(where)
        for layer, held, mine in self._held(where):
            for i, ref in zip(held, layer.refs(mine), strict=True):
                out[i] = ref
        for i in np.flatnonzero(where >= self.head_first).tolist():
            out[i] = self.head.ref(int(where[i]) - self.head_first)
        return out

    def matched(self, fp: Fingerprint, slot: int, similarity: float) -> Match:
        if slot >= self.head_first:
            return self.head.matched(fp, slot - self.head_first, similarity)
        ref, shingles = self._entries([slot])[0]
        return Match(ref, similarity, self._estimate(fp, shingles))

    def store_columns(self, documents: Sequence[tuple[str, str]], owner: np.ndarray, paragraph: np.ndarray,
                      keys: np.ndarray, fps: Sequence[Fingerprint]) -> int:
        self._count(fps)
        return self.head.store_columns(documents, owner, paragraph, keys, fps) + self.head_first

    def index_columns(self, first: int, keys: np.ndarray, band_keys: np.ndarray | None, sketched: np.ndarray) -> None:
        self.head.index_columns(first - self.head_first, keys, band_keys, sketched)
        self._spill_if_over(first + len(keys))

    def spill(self) -> None:
        """Write the in-memory layer out as a staged segment (looked up like the committed
        ones from now on) and begin a new, empty one."""
        from cleaner.dedup.segment import from_memory

        if not len(self.head) or self._spill is None or self._reopen is None:
            return
        self.spills.add(from_memory(self.head.columns(), self.head_first), self.head_first,
                        self.head_first + len(self.head))
        self.head_first += len(self.head)
        self.capped, self.head.capped = self.capped + self.head.capped, 0
        self.head, self._head_bytes = MemoryIndex(self.threshold, self.banding, self.signer), 0

    def snapshot(self) -> dict[str, Any]:
        """This run's additions (its spilled segments by name, its head) and the committed
        state they sit on (not the whole index). Taken for a checkpoint: spills merged away
        before the last one are deleted now (`Spills.checkpointed`). A large head is spilled
        first (CHECKPOINT_HEAD_BYTES): the answers stay those of any other budget."""
        if self._head_bytes > min(self.budget, CHECKPOINT_HEAD_BYTES):
            self.spill()
        self.spills.checkpointed()
        return {"first": self.first, "token": self.token, "spilled": list(self.spilled),
                "spill_levels": list(self.spills.levels),
                "head_first": self.head_first, "head_bytes": self._head_bytes, "head": self.head.snapshot()}

    def restore(self, state: dict[str, Any]) -> None:
        if (state["first"], state["token"]) != (self.first, self.token):
            raise UsageError("cannot resume: the index changed since the interrupted run "
                             f"(committed state {state['token']}, now {self.token}); rerun with --overwrite")
        spilled = list(state.get("spilled", []))
        if spilled and self._reopen is None:
            raise UsageError("cannot resume: the interrupted run spilled its index; rerun with --overwrite")
        self.spills.restore(spilled, state.get("spill_levels"), self.first, state.get("head_first", self.first))
        self.head_first = state.get("head_first", self.first)
        self._head_bytes = state.get("head_bytes", 0)
        self.head.restore(state["head"])


_PROBE = Fingerprint(key=0, words=0, shingles=np.empty(0, dtype=np.uint32), signature=np.empty(0, dtype=np.uint32))
