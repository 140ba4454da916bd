"""What a batch's queries get from the index when the batch begins, all at once
(cleaner.dedup.batch.IndexWindow): the matches of those with an exact copy there, and the
verification of every query's candidates there, in one pass for the whole batch.

A query with an exact copy in the index is answered that copy whatever the batch adds (the
earliest copy wins); a query the batch cannot change (untracked: no other row shares a key
with it) is answered by its candidates alone; a tracked one's candidates in the index are
verified here too, and only what the batch adds before it is asked is left to verify then.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from cleaner.dedup.columns import Columns
from cleaner.dedup.index import VERIFY_BUDGET, Index, Match
from cleaner.dedup.memory import Candidates
from cleaner.dedup.verify import best_of_pairs

ManySigner = Callable[[np.ndarray, np.ndarray], np.ndarray]
Best = tuple[float, int] | None  # (similarity, slot) of the best candidate at or above the threshold


def copies(index: Index, exact: dict[int, int]) -> dict[int, Match]:
    """The match of every row with an exact copy in the index (row -> its earliest slot),
    what `verify` answers it whatever the batch adds, all references read at once."""
    rows = list(exact)
    refs = index.refs([exact[row] for row in rows]) if rows else []
    return {row: Match(ref, 1.0, 1.0, exact=True) for row, ref in zip(rows, refs, strict=True)}


def verify_ahead(index: Index, columns: Columns, found: Candidates, exact: np.ndarray, tracked: np.ndarray,
                 signatures: ManySigner) -> tuple[dict[int, Match | None], dict[int, Best]]:
    """The match (or None) of every untracked query without an exact copy and with
    candidates within the budget, and the best candidate in the index of every such tracked
    query: all verified in one pass, the estimates of the matches from one signing pass."""
    counts = np.bincount(found.owner, minlength=len(exact))
    within = (counts > 0) & (counts <= VERIFY_BUDGET) & (exact < 0)
    pick = np.flatnonzero(within[found.owner])
    if not len(pick):
        return {}, {}
    owner, slots = found.owner[pick], found.slots[pick]
    queries = np.unique(owner).tolist()
    shingles, lengths = index.gather(slots)
    best = best_of_pairs([columns.fps[q].shingles for q in queries], np.searchsorted(queries, owner),
                         slots, shingles, lengths, index.threshold)
    marked = tracked[queries].tolist()
    old_best = {q: b for q, b, mark in zip(queries, best, marked, strict=True) if mark}
    verified: dict[int, Match | None] = {q: None for q, mark in zip(queries, marked, strict=True) if not mark}
    matched = [(q, b) for q, b, mark in zip(queries, best, marked, strict=True) if b is not None and not mark]
    if matched:
        shingles, lengths = index.gather([slot for _, (_, slot) in matched])
        signed = signatures(shingles, np.cumsum(lengths) - lengths)
        queried = np.stack([columns.fps[q].signature for q, _ in matched])
        estimates = (signed == queried).mean(axis=1).tolist()
        for (q, (similarity, slot)), estimated in zip(matched, estimates, strict=True):
            verified[q] = Match(index.ref(slot), similarity, estimated)  # type: ignore[attr-defined]
    return verified, old_best
