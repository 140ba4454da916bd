"""Compiled (numba) directory search of a long sorted run of packed band entries (a
segment's bands on disk, a key table's long runs), with software prefetch.

A key's search reads its directory entry, then its bucket of ~16 entries: two or three
dependent cache misses, and in a long run on this machine nearly all of its time. One key
after the other, those misses are paid one at a time (the binary search's mispredicted
branches keep the CPU from running ahead to the next key). Here the keys are searched in a
pipeline: the directory entry of key j + 2 DISTANCE is prefetched, the bucket of key
j + DISTANCE (its first, middle and last line) once its directory entry is there, and key j
is searched in cached lines: many misses in flight at once. The answers are
`table_kernels.bucket_ranges`'s (tests/dedup/test_lookup_kernels.py checks them).

Loaded with cleaner.dedup.kernels (its numba, started without SciPy), which re-exports
`directory_ranges`: import it from there, not from here.
"""

from __future__ import annotations

from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic
import numpy as np

from cleaner.dedup.kernels import njit, uint64
from cleaner.dedup.table_kernels import entries_at, first_at_least

DISTANCE = 8  # keys between a bucket's prefetch and its search (8-32 measured alike)


@intrinsic
def prefetch(typingctx, array, index):
    """Prefetch the cache line of array[index] for reading (no fault, no effect on results)."""
    def codegen(context, builder, signature, args):
        kind = signature.args[0]
        view = context.make_array(kind)(context, builder, args[0])
        pointer = cgutils.get_item_pointer(context, builder, kind, view, [args[1]], wraparound=False)
        byte = ir.IntType(8).as_pointer()
        int32 = ir.IntType(32)
        function = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [byte, int32, int32, int32]), "llvm.prefetch.p0i8")
        # read (0), keep in every cache level (3), data (1)
        builder.call(function, [builder.bitcast(pointer, byte), int32(0), int32(3), int32(1)])
        return context.get_dummy_value()

    return types.void(array, index), codegen


@njit(cache=True, inline="always")
def _bucket_of(needle, shift):
    return (needle >> uint64(32)) >> shift


@njit(cache=True)
def _directory_ranges(run, starts, shift, low, begin, counts, present, distance):
    n = low.shape[0]
    for j in range(-2 * distance, n):
        ahead = j + 2 * distance
        if ahead < n:
            prefetch(starts, _bucket_of(low[ahead], shift))
        near = j + distance
        if 0 <= near < n:  # its directory entry is cached by now: prefetch its bucket
            bucket = _bucket_of(low[near], shift)
            lo, hi = np.int64(starts[bucket]), np.int64(starts[bucket + 1])
            begin[near], counts[near] = lo, hi  # kept here until key `near` is searched
            if hi > lo:
                prefetch(run, lo)
                prefetch(run, (lo + hi) >> 1)
                prefetch(run, hi - 1)
        if j >= 0:
            needle, lo, hi = low[j], begin[j], counts[j]
            at = first_at_least(run, lo, hi, needle)
            begin[j] = at
            present[j], counts[j] = entries_at(run, at, hi, needle)


def directory_ranges(run: np.ndarray, starts: np.ndarray, low: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(begin, counts, present) of each packed key of `low` (`key << 32`) in the sorted `run`
    whose bucket directory is `starts` (2**bits + 1 offsets): what `bucket_ranges` returns."""
    bits = (len(starts) - 1).bit_length() - 1
    begin = np.empty(len(low), dtype=np.int64)
    counts = np.empty(len(low), dtype=np.int64)
    present = np.empty(len(low), dtype=np.bool_)
    _directory_ranges(np.asarray(run), np.asarray(starts), np.uint64(32 - bits), low, begin, counts, present,
                      DISTANCE)
    return begin, counts, present
