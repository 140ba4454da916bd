"""cleaner.dedup.lookup_kernels: the prefetched directory search answers as bucket_ranges does."""

from hypothesis import given, settings
from hypothesis import strategies as st
import numpy as np
import pytest

kernels = pytest.importorskip("cleaner.dedup.kernels")


def _directory(run: np.ndarray, bits: int) -> np.ndarray:
    edges = (np.arange(1 << bits, dtype=np.uint64) << np.uint64(32 - bits)) << np.uint64(32)
    return np.append(np.searchsorted(run, edges), len(run)).astype(np.uint64)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2**32 - 1) | st.integers(0, 40), st.integers(0, 2**32 - 2)),
                max_size=400),
       st.lists(st.integers(0, 2**32 - 1) | st.integers(0, 40), max_size=120),
       st.integers(0, 12), st.booleans())
def test_directory_ranges_answers_what_bucket_ranges_does(entries, queries, bits, ordered):
    """Same begin, counts and presence for every key, sorted or not, whatever the directory's
    size (fewer keys than the prefetch distance too), so every lookup finds the same slots."""
    run = np.sort(np.array([key << 32 | slot for key, slot in entries], dtype=np.uint64))
    starts = _directory(run, bits)
    low = np.array(queries, dtype=np.uint64) << np.uint64(32)
    if ordered:
        low.sort()
    expected = kernels.bucket_ranges(run, starts, low)
    found = kernels.directory_ranges(run, starts, low)
    for want, got in zip(expected, found, strict=True):
        assert want.tolist() == got.tolist()


def test_directory_ranges_finds_every_slot_of_a_present_key_and_none_of_an_absent_one():
    run = np.sort(np.array([5 << 32 | 1, 5 << 32 | 7, 9 << 32 | 2, (2**32 - 1) << 32 | 3], dtype=np.uint64))
    starts = _directory(run, 2)
    begin, counts, present = kernels.directory_ranges(run, starts, np.array([5, 6, 2**32 - 1], dtype=np.uint64) << 32)
    assert present.tolist() == [True, False, True]
    assert counts.tolist() == [2, 0, 1]
    assert begin[[0, 2]].tolist() == [0, 3]
