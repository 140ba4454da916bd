"""Verification of many (query, candidate) pairs in one numpy pass, for a batch of queries.

`best_verified` (cleaner.dedup.index) verifies one query's candidates: a few numpy calls per
query, which a batch of a thousand queries with one candidate each pays a thousand times.
Here every pair of the batch is verified at once: each shingle is tagged with the number of
its query in the high 32 bits, so the queries' sorted sets end to end are one sorted array
and one binary search checks every candidate shingle against its own query's set only (once
numba is started, a compiled filtered search per pair counts the same: cleaner.dedup.verify_kernels). The
answer for each query is what `best_verified` gives it: the highest Jaccard at or above the
threshold, the smallest slot on a tie, the same floating-point values.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from cleaner.dedup.index import loaded_kernels, searched_counts

_HIGH = np.uint64(32)


def best_of_pairs(queries: Sequence[np.ndarray], query_of: np.ndarray, slots: np.ndarray, shingles: np.ndarray,
                  lengths: np.ndarray, threshold: float) -> list[tuple[float, int] | None]:
    """For each of `queries` (sorted unique shingle arrays), the (Jaccard, slot) of its best
    candidate at or above `threshold` (the smallest slot on a tie), or None.

    Pair j is query `query_of[j]` against the candidate at `slots[j]`, whose shingles are
    `shingles` (end to end, in pair order) `lengths[j]` long; every query has a pair."""
    sizes = np.fromiter(map(len, queries), dtype=np.int64, count=len(queries))
    common = pair_counts(queries, sizes, query_of, shingles, lengths)
    union = sizes[query_of] + lengths - common
    similarity = np.where(union > 0, common / np.maximum(union, 1), 1.0)
    order = np.lexsort((slots, -similarity, query_of))  # per query: the most similar, then the smallest slot
    first = order[np.flatnonzero(np.r_[True, query_of[order][1:] != query_of[order][:-1]])]
    return [(value, slot) if value >= threshold else None
            for value, slot in zip(similarity[first].tolist(), slots[first].tolist(), strict=True)]


def pair_counts(queries: Sequence[np.ndarray], sizes: np.ndarray, query_of: np.ndarray, shingles: np.ndarray,
                lengths: np.ndarray) -> np.ndarray:
    """How many shingles of pair j's candidate are in its query's set: by a compiled filtered search
    per pair once numba is started (cleaner.dedup.verify_kernels), else by tagging each
    shingle with its query and one binary search of them all (see the module docstring)."""
    flat = np.concatenate(queries)
    kernels = loaded_kernels()
    if kernels is not None and flat.dtype == shingles.dtype:
        starts = np.zeros(len(sizes) + 1, dtype=np.int64)
        np.cumsum(sizes, out=starts[1:])
        return kernels.pair_counts(flat, starts, query_of, shingles, lengths)
    return tagged_counts(flat, sizes, query_of, shingles, lengths)


def tagged_counts(flat: np.ndarray, sizes: np.ndarray, query_of: np.ndarray, shingles: np.ndarray,
                  lengths: np.ndarray) -> np.ndarray:
    """`pair_counts` in numpy: every shingle tagged with its query in the high bits (`flat`:
    the queries end to end, `sizes` long), one binary search of all the probes."""
    owners = np.arange(len(sizes), dtype=np.uint64)
    tagged = (np.repeat(owners, sizes) << _HIGH) | flat.astype(np.uint64)
    probes = (np.repeat(query_of.astype(np.uint64), lengths) << _HIGH) | shingles.astype(np.uint64)
    return searched_counts(tagged, probes, lengths)
