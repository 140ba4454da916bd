"""cleaner.dedup.verify: many (query, candidate) pairs verified in one pass give, for each
query, exactly what `best_verified` gives it alone (same Jaccard, same slot, ties included)."""

from hypothesis import given, settings
from hypothesis import strategies as st
import numpy as np

from cleaner.dedup.index import best_verified
from cleaner.dedup.verify import best_of_pairs

SETS = st.lists(st.sets(st.integers(0, 40), min_size=1, max_size=25), min_size=1, max_size=12)


@settings(max_examples=80, deadline=None)
@given(queries=SETS, candidates=SETS, data=st.data(), threshold=st.sampled_from([0.0, 0.3, 0.5, 0.7, 1.0]))
def test_one_pass_over_every_pair_equals_each_query_verified_alone(queries, candidates, data, threshold):
    """Small alphabets make equal similarities (ties) common; slots are drawn out of order."""
    queries = [np.array(sorted(q), dtype=np.uint32) for q in queries]
    kept = [np.array(sorted(c), dtype=np.uint32) for c in candidates]
    slot_of = data.draw(st.permutations(range(100, 100 + len(kept))))
    pairs = [(q, c) for q in range(len(queries))
             for c in data.draw(st.sets(st.sampled_from(range(len(kept))), min_size=1), label=f"of {q}")]
    query_of = np.array([q for q, _ in pairs], dtype=np.intp)
    slots = np.array([slot_of[c] for _, c in pairs], dtype=np.int64)
    shingles = np.concatenate([kept[c] for _, c in pairs])
    lengths = np.array([len(kept[c]) for _, c in pairs], dtype=np.intp)
    together = best_of_pairs(queries, query_of, slots, shingles, lengths, threshold)
    for q, query in enumerate(queries):
        mine = [c for p, c in pairs if p == q]
        alone = best_verified(query, [slot_of[c] for c in mine], np.concatenate([kept[c] for c in mine]),
                              np.array([len(kept[c]) for c in mine], dtype=np.intp), threshold)
        assert together[q] == alone
