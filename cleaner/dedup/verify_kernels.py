"""Compiled (numba) intersection counts of verification: how many shingles of each candidate
are in its query's sorted set, what `index.shared_counts` finds with one `np.searchsorted` of
every candidate shingle (and, for a batch, `verify.best_of_pairs` with tagged shingles).

numpy binary-searches every shingle in one large array (a batch's queries end to end):
cache misses, mispredicted branches and passes of temporaries, for shingles nearly all of
which are absent (most candidates of a large index are chance band-key collisions). Here
each query gets a small bit filter first (one bit per shingle, by a hash, in L1): a
candidate shingle whose bit is clear cannot be in the query, and only the others are
binary-searched in the query's own few shingles, without data-dependent branches. The
filter only skips searches whose answer is "absent", so the counts are those of the
search for any candidate array, sorted or not; only the queries must be sorted, as for
`np.searchsorted`. tests/dedup/test_verify_kernels.py checks them against the numpy code.

Loaded with cleaner.dedup.kernels (its numba, started without SciPy), which re-exports
`pair_counts` and `shared_counts`: import them from there, not from here.
"""

from __future__ import annotations

import numpy as np

from cleaner.dedup.kernels import njit, uint64

FILTER_BITS_PER = 16  # filter bits per query shingle: about 1 in 16 absent shingles is searched
MAX_FILTER_BITS = 15  # a filter of at most 4 KB, in L1 however long the query
_FIBONACCI = uint64(0x9E3779B97F4A7C15)


@njit(cache=True, inline="always")
def _holds(values, lo, hi, needle):
    """Whether the sorted values[lo:hi] hold `needle`: a binary search without branches on
    the data (the step taken is a multiply), so nothing is mispredicted."""
    n = hi - lo
    if n <= 0:
        return False
    base = lo
    while n > 1:
        half = n >> 1
        base += half * (values[base + half - 1] < needle)
        n -= half
    return values[base] == needle


@njit(cache=True, inline="always")
def _bit(value, shift):
    """The filter bit of a shingle: the top bits of a Fibonacci hash (any input spreads)."""
    return (uint64(value) * _FIBONACCI) >> shift


@njit(cache=True, inline="always")
def _shift_for(size):
    """64 - the filter's bits for a query of `size` shingles: FILTER_BITS_PER (rounded up to
    a power of two) a shingle, between 2**6 and 2**MAX_FILTER_BITS bits."""
    bits = 6
    while bits < MAX_FILTER_BITS and (1 << bits) < FILTER_BITS_PER * size:
        bits += 1
    return uint64(64 - bits)


@njit(cache=True, inline="always")
def _fill(bitmap, query, lo, hi, shift):
    """Set the filter bit of every shingle of query[lo:hi] (the words it uses cleared first)."""
    words = max(1, (1 << (64 - shift)) >> 6)
    bitmap[:words] = 0
    for k in range(lo, hi):
        bit = _bit(query[k], shift)
        bitmap[bit >> uint64(6)] |= uint64(1) << (bit & uint64(63))


@njit(cache=True, inline="always")
def _count_in(query, lo, hi, bitmap, shift, shingles, begin, end):
    """How many of shingles[begin:end] are in the sorted query[lo:hi], whose filter is
    `bitmap`: a shingle whose bit is clear is not there (most of a chance candidate's), the
    others are searched."""
    count = 0
    for i in range(begin, end):
        needle = shingles[i]
        bit = _bit(needle, shift)
        if (bitmap[bit >> uint64(6)] >> (bit & uint64(63))) & uint64(1):
            count += _holds(query, lo, hi, needle)
    return count


@njit(cache=True)
def _pair_counts(flat, starts, query_of, shingles, ends, out):
    bitmap = np.empty(1 << (MAX_FILTER_BITS - 6), dtype=np.uint64)
    begin, last, shift = 0, -1, uint64(0)
    for j in range(query_of.shape[0]):
        q = query_of[j]
        lo, hi = starts[q], starts[q + 1]
        if q != last:  # pairs come grouped by query: its filter is made once
            shift = _shift_for(hi - lo)
            _fill(bitmap, flat, lo, hi, shift)
            last = q
        out[j] = _count_in(flat, lo, hi, bitmap, shift, shingles, begin, ends[j])
        begin = ends[j]


@njit(cache=True)
def _shared_counts(query, shingles, ends, out):
    bitmap = np.empty(1 << (MAX_FILTER_BITS - 6), dtype=np.uint64)
    shift = _shift_for(query.shape[0])
    _fill(bitmap, query, 0, query.shape[0], shift)
    begin = 0
    for j in range(ends.shape[0]):
        out[j] = _count_in(query, 0, query.shape[0], bitmap, shift, shingles, begin, ends[j])
        begin = ends[j]


def pair_counts(queries: np.ndarray, starts: np.ndarray, query_of: np.ndarray, shingles: np.ndarray,
                lengths: np.ndarray) -> np.ndarray:
    """For pair j, how many of its candidate's shingles (`shingles` end to end, `lengths[j]`
    long) are in its query's: queries[starts[q]:starts[q + 1]], sorted, q = query_of[j]."""
    out = np.empty(len(lengths), dtype=np.int64)
    _pair_counts(queries, starts.astype(np.int64, copy=False), query_of.astype(np.int64, copy=False),
                 shingles, np.cumsum(lengths, dtype=np.int64), out)
    return out


def shared_counts(query: np.ndarray, shingles: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """`index.shared_counts`: how many shingles of each candidate are in the sorted `query`."""
    out = np.empty(len(lengths), dtype=np.int64)
    _shared_counts(query, shingles, np.cumsum(lengths, dtype=np.int64), out)
    return out
