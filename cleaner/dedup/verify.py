"""Verification of many (query, candidate) pairs in one numpy pass, for a batch of queries.

`best_verified` (cleaner.dedup.index) verifies one query's candidates: a few numpy calls per
query, which a batch of a thousand queries with one candidate each pays a thousand times.
Here every pair of the batch is verified at once: each shingle is tagged with the number of
its query in the high 32 bits, so the queries' sorted sets end to end are one sorted array
and one binary search checks every candidate shingle against its own query's set only. The
answer for each query is what `best_verified` gives it: the highest Jaccard at or above the
threshold, the smallest slot on a tie, the same floating-point values.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from cleaner.dedup.index import shared_counts

_HIGH = np.uint64(32)


def best_of_pairs(queries: Sequence[np.ndarray], query_of: np.ndarray, slots: np.ndarray, shingles: np.ndarray,
                  lengths: np.ndarray, threshold: float) -> list[tuple[float, int] | None]:
    """For each of `queries` (sorted unique shingle arrays), the (Jaccard, slot) of its best
    candidate at or above `threshold` (the smallest slot on a tie), or None.

    Pair j is query `query_of[j]` against the candidate at `slots[j]`, whose shingles are
    `shingles` (end to end, in pair order) `lengths[j]` long; every query has a pair."""
    sizes = np.fromiter(map(len, queries), dtype=np.int64, count=len(queries))
    owners = np.arange(len(queries), dtype=np.uint64)
    tagged = (np.repeat(owners, sizes) << _HIGH) | np.concatenate(queries).astype(np.uint64)
    probes = (np.repeat(query_of.astype(np.uint64), lengths) << _HIGH) | shingles.astype(np.uint64)
    common = shared_counts(tagged, probes, lengths)
    union = sizes[query_of] + lengths - common
    similarity = np.where(union > 0, common / np.maximum(union, 1), 1.0)
    order = np.lexsort((slots, -similarity, query_of))  # per query: the most similar, then the smallest slot
    first = order[np.flatnonzero(np.r_[True, query_of[order][1:] != query_of[order][:-1]])]
    return [(value, slot) if value >= threshold else None
            for value, slot in zip(similarity[first].tolist(), slots[first].tolist(), strict=True)]
