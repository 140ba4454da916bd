"""Band entries of a segment found through a bucket directory instead of a binary search
of the whole sorted array.

A segment's `bands` are sorted `key << 32 | slot` entries; `starts[b]` is where the keys
whose top bits are `b` begin (about BUCKET_ENTRIES entries a bucket, at most 2**24
buckets: 4 bytes each, under 7 bytes a paragraph at 32 bands). A batch of keys then
costs one gather in the directory and a few vectorised bisection steps inside each key's
bucket (a cache line or two), where a `searchsorted` over hundreds of millions of entries
takes ~28 steps of cache misses per key.
"""

from __future__ import annotations

import numpy as np

from cleaner.dedup.keytable import SHIFT, SLOT_MASK

BUCKET_ENTRIES = 16
MAX_BITS = 24


def directory(bands: np.ndarray) -> np.ndarray:
    """Where each bucket of `bands` begins, and the end: 2**bits + 1 offsets (uint64)."""
    bits = int(np.clip(np.ceil(np.log2(max(1.0, len(bands) / BUCKET_ENTRIES))), 0, MAX_BITS))
    edges = (np.arange(1 << bits, dtype=np.uint64) << np.uint64(32 - bits)) << SHIFT
    return np.append(np.searchsorted(bands, edges), len(bands)).astype(np.uint64)


def search(run: np.ndarray, starts: np.ndarray, low: np.ndarray, order: np.ndarray,
           room: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray] | None:
    """What `keytable.search_run` returns (positions, slots), through the directory; with
    `room` (aligned with `low`), each key's earliest `room` slots only, and `room` lowered."""
    if not len(run) or not len(low):
        return None
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
    if room is not None:
        counts = np.minimum(counts, room[hit])
        room[hit] -= counts
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    return np.repeat(order[hit], counts), run[np.repeat(begin, counts) + offsets] & SLOT_MASK


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
