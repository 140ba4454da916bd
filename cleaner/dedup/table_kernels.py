"""Compiled (numba) forms of a key table's hot loops (cleaner.dedup.keytable), the same
answers as its numpy path: its directory and run searches (`bucket_ranges`) and its bitmap
filter (`mark_buckets`, `marked`). Loaded with cleaner.dedup.kernels (its numba, started
without SciPy), which re-exports them: import them from there, not from here.
tests/dedup/test_keytable.py checks them against the numpy path.
"""

from __future__ import annotations

import numpy as np

from cleaner.dedup.kernels import njit, uint64

_LOW_SLOTS = uint64(0xFFFFFFFF)


@njit(cache=True, inline="always")
def first_at_least(run, lo, hi, needle):
    while lo < hi:
        mid = (lo + hi) >> 1
        if run[mid] < needle:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True, inline="always")
def _gallop(run, lo, hi, needle):
    """first_at_least, searched outwards from lo first: for needles in ascending order
    each starts where the one before it was found, as numpy's searchsorted does."""
    step = 1
    while lo + step < hi and run[lo + step - 1] < needle:
        lo += step
        step *= 2
    return first_at_least(run, lo, min(lo + step, hi), needle)


@njit(cache=True, inline="always")
def entries_at(run, at, hi, needle):
    """(present, count) of the packed key `needle`, `at` its first entry at or past it."""
    if at < hi and (run[at] >> uint64(32)) == (needle >> uint64(32)):
        return True, first_at_least(run, at, hi, needle | _LOW_SLOTS) - at
    return False, np.int64(0)


@njit(cache=True)
def _bucket_ranges(run, starts, shift, low, begin, counts, present):
    previous, last = uint64(0), np.int64(-1)
    for j in range(low.shape[0]):
        needle = low[j]
        bucket = (needle >> uint64(32)) >> shift
        lo, hi = np.int64(starts[bucket]), np.int64(starts[bucket + 1])
        if j and needle >= previous and lo <= last < hi:
            at = _gallop(run, last, hi, needle)  # every entry before `last` is below the needle
        else:
            at = first_at_least(run, lo, hi, needle)
        previous, last = needle, at
        begin[j] = at
        present[j], counts[j] = entries_at(run, at, hi, needle)


def bucket_ranges(run: np.ndarray, starts: np.ndarray, low: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(begin, counts, present) of each packed key of `low` (`key << 32`) in the sorted
    `run` whose bucket directory is `starts` (2**bits + 1 offsets): the key's first entry
    at or after it in its bucket, how many entries hold the key (below slot 2**32 - 1), and
    whether any does; what `keytable.search` computes in numpy."""
    bits = (len(starts) - 1).bit_length() - 1
    begin = np.empty(len(low), dtype=np.int64)
    counts = np.empty(len(low), dtype=np.int64)
    present = np.empty(len(low), dtype=np.bool_)
    _bucket_ranges(np.asarray(run), np.asarray(starts), np.uint64(32 - bits), low, begin, counts, present)
    return begin, counts, present


@njit(cache=True)
def _mark_buckets(bitmap, entries, shift):
    for i in range(entries.shape[0]):
        bucket = entries[i] >> shift
        bitmap[bucket >> uint64(3)] |= np.uint8(1) << np.uint8(bucket & uint64(7))


def mark_buckets(bitmap: np.ndarray, entries: np.ndarray, shift: np.uint64) -> None:
    """Set bit `b & 7` of bitmap[b >> 3] for the bucket b = entry >> shift of every entry:
    what `KeyTable._set_bits` does in numpy passes, one entry at a time."""
    _mark_buckets(bitmap, entries, np.uint64(shift))


@njit(cache=True)
def _marked(bitmap, keys, shift, out):
    for i in range(keys.shape[0]):
        bucket = keys[i] >> shift
        out[i] = (bitmap[bucket >> uint64(3)] >> np.uint8(bucket & uint64(7))) & np.uint8(1) == np.uint8(1)


def marked(bitmap: np.ndarray, keys: np.ndarray, shift: np.uint64) -> np.ndarray:
    """Whether the bucket (key >> shift) of each key has its bit set: `KeyTable._may_hold`."""
    out = np.empty(len(keys), dtype=np.bool_)
    _marked(bitmap, keys, np.uint64(shift), out)
    return out
