"""cleaner.dedup.redis_segments: the array form of a Redis segment's replies (no server needed;
tests/dedup/test_redis_index.py runs the whole index against a real redis-server)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
import numpy as np

from cleaner.dedup.redis_segments import fixed_width_fields, take_earliest


def reference(stored: dict[int, list[int]], keys: list[int], room: list[int]) -> tuple[list[int], list[int], list[int]]:
    """What `Committed.bands` means, one position at a time."""
    positions, slots, left = [], [], list(room)
    for position, key in enumerate(keys):
        found = stored.get(key, [])[:max(left[position], 0)]
        left[position] -= len(found)
        positions += [position] * len(found)
        slots += found
    return positions, slots, left


@given(st.dictionaries(st.integers(0, 20), st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=6), max_size=8),
       st.lists(st.tuples(st.integers(0, 25), st.integers(-2, 7)), max_size=30))
def test_take_earliest_is_the_per_position_loop(stored, queries):
    keys = [key for key, _ in queries]
    room = np.array([r for _, r in queries], dtype=np.int64)
    unique, key_of = np.unique(np.array(keys, dtype=np.int64), return_inverse=True)
    per_key = np.array([len(stored.get(int(u), [])) for u in unique], dtype=np.int64)
    flat = np.array([s for u in unique for s in stored.get(int(u), [])], dtype=np.uint32)
    expected = reference(stored, keys, room.tolist())
    positions, slots = take_earliest(per_key, flat, key_of.ravel(), room)
    assert (positions.tolist(), slots.tolist(), room.tolist()) == expected
    assert slots.dtype == np.uint64


@given(st.lists(st.integers(0, 2**64 - 1), max_size=20))
def test_fixed_width_fields_are_each_values_bytes(values):
    array = np.array(values, dtype="<u8")
    assert fixed_width_fields(array) == [v.to_bytes(8, "little") for v in values]
