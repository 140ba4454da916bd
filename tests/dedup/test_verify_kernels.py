"""cleaner.dedup.verify_kernels: the filtered intersection counts are the numpy search's
(`index.searched_counts`, `verify.tagged_counts`), for sorted queries (empty ones too) and
any candidate arrays: sorted and unique as real shingles are, or not."""


from hypothesis import given, settings
from hypothesis import strategies as st
import numpy as np
import pytest

from cleaner.dedup.index import searched_counts
from cleaner.dedup.verify import tagged_counts
from tests.helpers import kernel_mode

kernels = pytest.importorskip("cleaner.dedup.kernels")

# Small values make shared shingles (and full filters) common; large ones reach the top bits.
VALUES = st.integers(0, 60) | st.integers(0, 2**32 - 1)
SORTED_SETS = st.sets(VALUES, max_size=40).map(lambda s: np.array(sorted(s), dtype=np.uint32))
ANY_ARRAYS = st.lists(VALUES, max_size=40).map(lambda v: np.array(v, dtype=np.uint32))


def _flat(arrays: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """`arrays` end to end, and their lengths."""
    lengths = np.array([len(a) for a in arrays], dtype=np.intp)
    return (np.concatenate(arrays) if arrays else np.empty(0, dtype=np.uint32)).astype(np.uint32), lengths


@settings(max_examples=300, deadline=None)
@given(query=SORTED_SETS, candidates=st.lists(SORTED_SETS | ANY_ARRAYS, max_size=8))
def test_shared_counts_equal_the_numpy_search(query, candidates):
    shingles, lengths = _flat(candidates)
    assert kernels.shared_counts(query, shingles, lengths).tolist() == \
        searched_counts(query, shingles, lengths).tolist()


@settings(max_examples=300, deadline=None)
@given(queries=st.lists(SORTED_SETS, min_size=1, max_size=6), data=st.data())
def test_pair_counts_equal_the_tagged_numpy_search(queries, data):
    """Pairs in any order of queries (a query's filter is remade when it comes back)."""
    query_of = np.array(data.draw(st.lists(st.integers(0, len(queries) - 1), max_size=12)), dtype=np.intp)
    candidates = [data.draw(SORTED_SETS | ANY_ARRAYS) for _ in query_of]
    shingles, lengths = _flat(candidates)
    flat, sizes = _flat(queries)
    starts = np.concatenate([[0], np.cumsum(sizes)])
    assert kernels.pair_counts(flat, starts, query_of, shingles, lengths).tolist() == \
        tagged_counts(flat, sizes.astype(np.int64), query_of, shingles, lengths).tolist()


@pytest.mark.parametrize("size", [0, 1, 3, 2047, 2048, 5000])
def test_counts_of_queries_of_every_filter_size_including_past_the_largest(size):
    """A query longer than MAX_FILTER_BITS allows shares its filter's bits: still exact."""
    rng = np.random.default_rng(size)
    query = np.unique(rng.integers(0, 2**32, size=size, dtype=np.uint32))
    inside = rng.choice(query, size=min(len(query), 300), replace=False) if len(query) else query
    candidates = [np.sort(inside), np.unique(rng.integers(0, 2**32, size=500, dtype=np.uint32)),
                  np.empty(0, dtype=np.uint32), np.concatenate([inside[::-1], query[:5]])]
    shingles, lengths = _flat(candidates)
    counts = kernels.shared_counts(query, shingles, lengths)
    assert counts.tolist() == searched_counts(query, shingles, lengths).tolist()
    assert counts[0] == len(inside) and counts[2] == 0


@settings(max_examples=60, deadline=None)
@given(queries=st.lists(SORTED_SETS.filter(len), min_size=1, max_size=5), data=st.data(),
       threshold=st.sampled_from([0.0, 0.5, 0.7]))
def test_best_of_pairs_answers_alike_on_either_path(queries, data, threshold):
    """`verify.best_of_pairs` with the kernels (CLEANER_KERNELS=compiled) and without."""
    from cleaner.dedup.verify import best_of_pairs

    pairs = [(q, data.draw(SORTED_SETS | ANY_ARRAYS)) for q in range(len(queries)) for _ in range(2)]
    query_of = np.array([q for q, _ in pairs], dtype=np.intp)
    shingles, lengths = _flat([c for _, c in pairs])
    slots = np.arange(len(pairs), dtype=np.int64)[::-1].copy()
    answers = []
    for mode in ("compiled", "numpy"):
        with kernel_mode(mode):
            answers.append(best_of_pairs(queries, query_of, slots, shingles, lengths, threshold))
    assert answers[0] == answers[1]
