"""A compact multimap from 32-bit keys to slots, for the similarity index's exact keys and
LSH band keys: sorted numpy runs merged like an LSM tree, behind a bitmap filter.

A Python dict of sets per key (what datasketch's MinHashLSH keeps) costs about 100 bytes
an entry; here an entry is 8 bytes in a sorted run and 1-2 bits in the filter. Lookups
take many keys at once (a batch of documents), so their cost is a few numpy calls a run.

A long sorted run (a table's oldest, or a segment's on disk) is searched through a bucket
directory: `starts[b]` is where the keys whose top bits are `b` begin (about BUCKET_ENTRIES
entries a bucket; 4-8 bytes a bucket). A batch of keys then costs one gather in the
directory and a few vectorised bisection steps inside each key's bucket (a cache line or
two), where a `searchsorted` over millions of entries takes ~20-28 steps of cache misses
per key.
"""

from __future__ import annotations

from types import ModuleType

import numpy as np

SHIFT = np.uint64(32)  # an entry is `key << SHIFT | slot`
SLOT_MASK = np.uint64(0xFFFFFFFF)
BUCKET_ENTRIES = 16  # entries a bucket of a directory, about
MAX_BITS = 24  # at most 2**24 buckets


class KeyTable:
    """32-bit key -> slots, compact: sorted numpy runs merged like an LSM tree.

    Each entry is one uint64, `key << 32 | slot`, so a sorted run orders entries by key
    and then by slot (oldest first). New entries wait as they were added and are packed
    and sorted at the next lookup (callers look up once per batch of documents); every
    `FLUSH` entries they become a run, and a run absorbs the next one while that is at
    least 1/MERGE of its size (a stable sort of two sorted runs is a linear merge), so
    there are O(log(n / FLUSH)) runs, until runs reach MAX_RUN entries: those merge no
    more (re-merging the longest run on every absorb was most of an insert's cost), and are
    searched through their directories. An entry costs 8 bytes (16 while two runs merge).
    `lookup` answers many keys with one search per run.

    Most keys looked up are in no run (a band key of a new paragraph), so a bitmap says
    first which keys may be present: one bit per bucket of keys (their top bits), with
    FILTER_BITS buckets an entry, so about 1 in 9 absent keys pass. It costs 1 byte an entry
    and spares the runs' binary searches for the rest.
    """

    FLUSH = 8192
    DIRECTORY_MIN = 1 << 20  # runs this long are searched through a bucket directory
    MAX_RUN = 1 << 23  # entries; longer runs are not merged further (their directories find keys)
    MERGE = 4  # a run absorbs the next while that is at least 1/MERGE of its size
    FILTER_BITS = 8  # bitmap bits per entry; the bitmap doubles when entries pass 1/8 of it

    def __init__(self) -> None:
        self._waiting: list[tuple[np.ndarray, np.ndarray]] = []  # (keys, slots) as added
        self._pending = np.empty(0, dtype=np.uint64)  # packed and sorted, not yet a run
        self._count = 0  # entries in both
        self._runs: list[np.ndarray] = []
        self._starts: list[np.ndarray | None] = []  # each run's bucket directory, once made
        self._filter = np.zeros(1 << 14, dtype=np.uint8)  # 2**17 buckets of keys
        self._filter_shift = np.uint64(64 - 17)  # packed entry (key << 32 | slot) -> its bucket
        self._entries = 0  # in the runs and pending, all marked in the filter

    def add(self, keys: np.ndarray, slot: int) -> None:
        self.add_many(keys.reshape(1, -1), np.array([slot], dtype=np.uint64))

    def add_many(self, keys: np.ndarray, slots: np.ndarray) -> None:
        """Store slots[i] under keys[i] (a key, or a row of keys). Only the low 32 bits of
        a key count. Kept as given until the next lookup or `FLUSH` entries: an add costs
        no numpy work, and a lookup after many adds packs and sorts them at once."""
        self._waiting.append((keys, slots))
        self._count += keys.size
        if self._count >= self.FLUSH:
            self._runs.append(self._sorted_pending())
            self._starts.append(None)
            self._pending, self._count = self._pending[:0], 0
            while (len(self._runs) > 1 and self.MERGE * len(self._runs[-1]) >= len(self._runs[-2])
                   and len(self._runs[-1]) + len(self._runs[-2]) <= self.MAX_RUN):
                last = self._runs.pop()
                self._starts.pop()
                self._runs[-1], self._starts[-1] = _merge(self._runs[-1], last), None

    def _sorted_pending(self) -> np.ndarray:
        """Every entry not in a run, packed (`key << 32 | slot`) and sorted."""
        if self._waiting:
            widths = {keys.size // max(1, len(slots)) for keys, slots in self._waiting}
            if len(widths) == 1:  # one concatenation: every add had as many keys per slot
                groups = [(np.concatenate([k.reshape(len(s), -1) for k, s in self._waiting]),
                           np.concatenate([s for _, s in self._waiting]))]
            else:
                groups = [(k.reshape(len(s), -1), s) for k, s in self._waiting]
            packed = [((keys.astype(np.uint64) << SHIFT) | slots.astype(np.uint64)[:, None]).ravel()
                      for keys, slots in groups]
            new = np.concatenate(packed)
            new.sort()
            self._mark(new)
            self._pending, self._waiting = _merge(self._pending, new), []
        return self._pending

    def _mark(self, new: np.ndarray) -> None:
        """Set the filter bits of newly packed entries; double the bitmap (and mark every
        entry again) while it has fewer than FILTER_BITS bits an entry."""
        self._entries += len(new)
        buckets = len(self._filter) * 8
        if self._entries * self.FILTER_BITS <= buckets or buckets >= 1 << 32:
            self._set_bits(new)
            return
        while self._entries * self.FILTER_BITS > buckets and buckets < 1 << 32:
            buckets *= 2
        self._filter = np.zeros(buckets // 8, dtype=np.uint8)
        self._filter_shift = np.uint64(65 - buckets.bit_length())
        for entries in (*self._runs, self._pending, new):
            self._set_bits(entries)

    def _set_bits(self, entries: np.ndarray) -> None:
        """Mark the buckets of sorted `entries`: their buckets come sorted too, so the bits
        of each byte of the bitmap are or-ed together first and each byte is written once
        (np.bitwise_or.at, one element at a time, cost more than the rest of an insert)."""
        kernels = _compiled(self._entries)
        if kernels is not None:
            kernels.mark_buckets(self._filter, entries, self._filter_shift)
            return
        for start in range(0, len(entries), self.FLUSH * 64):  # bounded temporaries
            bucket = entries[start:start + self.FLUSH * 64] >> self._filter_shift
            byte = (bucket >> np.uint64(3)).astype(np.intp)
            bits = np.left_shift(np.uint8(1), (bucket & np.uint64(7)).astype(np.uint8))
            first = np.flatnonzero(np.r_[True, byte[1:] != byte[:-1]])
            self._filter[byte[first]] |= np.bitwise_or.reduceat(bits, first)

    def _may_hold(self, low: np.ndarray) -> np.ndarray:
        """False for keys (given as `key << 32`) that are surely neither in a run nor pending."""
        kernels = _compiled(self._entries)
        if kernels is not None:
            return kernels.marked(self._filter, low, self._filter_shift)
        bucket = low >> self._filter_shift
        return (self._filter[bucket >> np.uint64(3)] >> (bucket & np.uint64(7)).astype(np.uint8)) & 1 == 1

    def get(self, keys: np.ndarray) -> list[int]:
        """Every slot stored under any of `keys`; for a single key, oldest first."""
        return self.lookup(keys)[1].tolist()

    def lookup(self, keys: np.ndarray, cap: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(positions, slots): slots[j] is stored under keys[positions[j]]; each key's slots
        come oldest first (runs oldest first, then the buffer). With `cap`, only the oldest
        `cap` slots of each key: the work of a lookup stays bounded however many share a key.

        Per run, one search of the sorted keys finds where each would start (numpy narrows
        the search for sorted needles); only keys present there are searched for their end.
        """
        pending = self._sorted_pending()  # first: it marks the waiting entries in the filter
        low = keys.astype(np.uint64) << SHIFT
        maybe = np.flatnonzero(self._may_hold(low))  # then only the keys that may be present
        low, order = sorted_keys(low[maybe])  # are sorted (equal keys in any order: callers take a min or a set)
        order = maybe[order]
        positions, slots = [], []
        room = np.full(len(low), np.iinfo(np.int64).max if cap is None else cap, dtype=np.int64)
        kernels = _compiled(self._entries)
        for number, run in enumerate((*self._runs, pending) if len(pending) else self._runs):
            if len(run) >= self.DIRECTORY_MIN and number < len(self._runs):
                found = search(run, self._directory(number), low, order, room)
            else:
                found = search_run(run, low, order, room, kernels)
            if found is not None:
                positions.append(found[0])
                slots.append(found[1])
        if not slots:
            return np.empty(0, dtype=np.intp), np.empty(0, dtype=np.uint64)
        return np.concatenate(positions), np.concatenate(slots)

    def _directory(self, number: int) -> np.ndarray:
        """The bucket directory of run `number`, made at its first lookup (a long run is
        searched many times before the next merge replaces it)."""
        starts = self._starts[number]
        if starts is None:
            starts = self._starts[number] = directory(self._runs[number])
        return starts

    def packed(self) -> np.ndarray:
        """Every entry, packed (`key << 32 | slot`) and sorted: one run (for a segment on disk)."""
        merged = np.concatenate([*self._runs, self._sorted_pending()])
        merged.sort()
        return merged


def search_run(run: np.ndarray, low: np.ndarray, order: np.ndarray, room: np.ndarray | None = None,
               kernels: ModuleType | None = None) -> tuple[np.ndarray, np.ndarray] | None:
    """(positions, slots) of the sorted keys `low` (as `key << 32`, at positions `order` of the
    query) in one sorted run, or None if none is there: one search for where each key would
    start (numpy narrows the search for sorted needles), one for the end of those present.
    `room`: how many slots each key may still return (lowered by what this run returns).
    `kernels`: cleaner.dedup.kernels, to search in one pass (the whole run as one bucket)."""
    if not len(run) or not len(low):
        return None
    if kernels is not None:
        return _compiled_search(kernels, run, np.array([0, len(run)], dtype=np.uint64), low, order, room)
    begin = np.searchsorted(run, low)
    present = (run[np.minimum(begin, len(run) - 1)] >> SHIFT) == (low >> SHIFT)
    present &= begin < len(run)
    if not present.any():
        return None
    hit = np.flatnonzero(present)
    begin = begin[hit]
    counts = np.searchsorted(run, low[hit] | SLOT_MASK) - begin  # slots 0 .. 2**32 - 2
    return _ranges(run, order, hit, begin, counts, room)


def _ranges(run: np.ndarray, order: np.ndarray, hit: np.ndarray, begin: np.ndarray, counts: np.ndarray,
            room: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """(positions, slots) of the present keys `hit`, whose entries are run[begin:begin + counts]:
    with `room`, each key's first `room` of them only, and `room` lowered by as many."""
    if room is not None:
        counts = np.minimum(counts, room[hit])
        room[hit] -= counts
    # Every index begin .. end - 1 of each present key's range, flat.
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    return np.repeat(order[hit], counts), run[np.repeat(begin, counts) + offsets] & SLOT_MASK


def sorted_keys(low: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`low` (keys as `key << 32`) sorted, and where each came from: what a stable argsort
    gives, from one sort of the keys with their positions in the low bits (a uint64 sort
    is several times faster than an argsort)."""
    if len(low) > SLOT_MASK:  # positions would not fit the low bits
        order = np.argsort(low, kind="stable")
        return low[order], order
    packed = low | np.arange(len(low), dtype=np.uint64)
    packed.sort()
    return packed & ~SLOT_MASK, (packed & SLOT_MASK).astype(np.intp)


def _merge(older: np.ndarray, newer: np.ndarray) -> np.ndarray:
    """Two sorted runs as one: a stable sort (timsort) of their concatenation is a linear merge."""
    merged = np.concatenate([older, newer])
    merged.sort(kind="stable")
    return merged


def directory_bits(entries: int) -> int:
    """How many top bits of a key pick its bucket in the directory of `entries` entries."""
    return int(np.clip(np.ceil(np.log2(max(1.0, entries / BUCKET_ENTRIES))), 0, MAX_BITS))


def directory(bands: np.ndarray) -> np.ndarray:
    """Where each bucket of `bands` begins, and the end: 2**bits + 1 offsets (uint64)."""
    bits = directory_bits(len(bands))
    edges = (np.arange(1 << bits, dtype=np.uint64) << np.uint64(32 - bits)) << SHIFT
    return np.append(np.searchsorted(bands, edges), len(bands)).astype(np.uint64)


def search(run: np.ndarray, starts: np.ndarray, low: np.ndarray, order: np.ndarray,
           room: np.ndarray | None = None, load: bool = False) -> tuple[np.ndarray, np.ndarray] | None:
    """What `keytable.search_run` returns (positions, slots), through the directory; with
    `room` (aligned with `low`), each key's earliest `room` slots only, and `room` lowered.
    `load`: start numba for it if not started yet (see `_compiled`)."""
    if not len(run) or not len(low):
        return None
    kernels = _compiled(len(run), load)
    if kernels is not None:
        return _compiled_search(kernels, run, starts, low, order, room, kernels.directory_ranges)
    bits = (len(starts) - 1).bit_length() - 1
    bucket = ((low >> SHIFT) >> np.uint64(32 - bits)).astype(np.intp)
    lo, hi = starts[bucket].astype(np.int64), starts[bucket + 1].astype(np.int64)
    begin = _lower_bound(run, lo, hi, low)
    present = (begin < hi) & ((run[np.minimum(begin, len(run) - 1)] >> SHIFT) == (low >> SHIFT))
    if not present.any():
        return None
    hit = np.flatnonzero(present)
    begin = begin[hit]
    counts = _lower_bound(run, begin, hi[hit], low[hit] | SLOT_MASK) - begin  # slots < 2**32 - 1
    return _ranges(run, order, hit, begin, counts, room)


def _compiled_search(kernels: ModuleType, run: np.ndarray, starts: np.ndarray, low: np.ndarray, order: np.ndarray,
                     room: np.ndarray | None, ranges=None) -> tuple[np.ndarray, np.ndarray] | None:
    """`search` by a compiled kernel over the directory `starts`: `ranges`, or `kernels.bucket_ranges`
    (through a real directory, `kernels.directory_ranges`: prefetched, the same answers)."""
    begin, counts, present = (ranges or kernels.bucket_ranges)(run, starts, low)
    hit = np.flatnonzero(present)
    return _ranges(run, order, hit, begin[hit], counts[hit], room) if len(hit) else None


def _compiled(entries: int, load: bool = False) -> ModuleType | None:
    """cleaner.dedup.kernels for work on a table (or run) of `entries` entries, or None
    (numpy): only from DIRECTORY_MIN entries, and only if numba is started already (the
    process fingerprints) or `load` says to start it (a segment on disk, whose lookups
    repay the start). Starting numba costs a large part of a CPU second and some hundred
    MB: an in-memory table alone would not repay it."""
    if entries < KeyTable.DIRECTORY_MIN:
        return None
    from cleaner.dedup import sketch

    return sketch.compiled(sketch.COMPILED_AFTER if load else 0)


def _lower_bound(run: np.ndarray, lo: np.ndarray, hi: np.ndarray, needles: np.ndarray) -> np.ndarray:
    """For each needle, the first index in [lo, hi) whose entry is >= it (hi if none)."""
    lo, hi = lo.copy(), hi.copy()
    last = len(run) - 1
    while True:
        active = lo < hi
        if not active.any():
            return lo
        mid = (lo + hi) >> 1
        below = run[np.minimum(mid, last)] < needles
        lo = np.where(active & below, mid + 1, lo)
        hi = np.where(active & ~below, mid, hi)
