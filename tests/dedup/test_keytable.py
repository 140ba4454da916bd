"""cleaner.keytable: the index's key -> slots multimap answers as a dict of lists would."""

from hypothesis import given, settings
from hypothesis import strategies as st
import numpy as np

from cleaner.dedup.keytable import KeyTable


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.integers(0, 300), min_size=1, max_size=30), max_size=400))
def test_key_table_returns_what_a_dict_of_lists_would(batches):
    table, reference = KeyTable(), {}
    table.FLUSH = 16  # many runs and merges even for small inputs
    for slot, keys in enumerate(batches):
        table.add(np.array(keys, dtype=np.uint32), slot)
        for key in keys:
            reference.setdefault(key, []).append(slot)
    for key in range(0, 302):
        assert table.get(np.array([key], dtype=np.uint32)) == reference.get(key, [])
    assert len(table._runs) <= max(1, len(batches)).bit_length() + 1


def test_key_table_filter_grows_and_never_hides_a_stored_key():
    """Keys over the whole 32-bit range, looked up between adds, past several doublings of
    the filter: every stored key is found, and most absent keys are turned away early."""
    rng = np.random.default_rng(7)
    table, reference = KeyTable(), {}
    table.DIRECTORY_MIN = 20_000  # the long runs are searched through their directories
    stored = rng.integers(0, 2**32, size=(3000, 32), dtype=np.uint64).astype(np.uint32)
    for slot, keys in enumerate(stored):
        table.add_many(keys[None, :], np.array([slot], dtype=np.uint64))
        for key in keys.tolist():
            reference.setdefault(key, []).append(slot)
        if slot % 500 == 499:
            probe = stored[rng.integers(0, slot + 1, size=200)].ravel()
            positions, slots = table.lookup(probe)
            found = {}
            for position, found_slot in zip(positions.tolist(), slots.tolist(), strict=True):
                found.setdefault(position, []).append(found_slot)
            assert all(found[i] == reference[key] for i, key in enumerate(probe.tolist()))
    assert any(starts is not None for starts in table._starts)
    assert len(table._filter) * 8 >= 96_000 * KeyTable.FILTER_BITS  # it grew with the entries
    absent = rng.integers(0, 2**32, size=20_000, dtype=np.uint64)
    absent = absent[~np.isin(absent, stored.astype(np.uint64))]
    assert table._may_hold(absent << np.uint64(32)).mean() < 0.2


@settings(max_examples=30, deadline=None)
@given(st.lists(st.lists(st.integers(0, 300), min_size=1, max_size=8), max_size=200),
       st.lists(st.integers(0, 302), min_size=1, max_size=40))
def test_key_table_lookup_of_many_keys_returns_every_slot_of_each(batches, queries):
    table, reference = KeyTable(), {}
    table.FLUSH, table.DIRECTORY_MIN = 16, 40
    for slot, keys in enumerate(batches):
        table.add_many(np.array([keys], dtype=np.uint32), np.array([slot], dtype=np.uint64))
        for key in keys:
            reference.setdefault(key, []).append(slot)
    positions, slots = table.lookup(np.array(queries, dtype=np.uint32))
    found: dict[int, list[int]] = {}
    for position, slot in zip(positions.tolist(), slots.tolist(), strict=True):
        found.setdefault(position, []).append(slot)
    assert found == {i: reference[key] for i, key in enumerate(queries) if key in reference}


@settings(max_examples=30, deadline=None)
@given(st.lists(st.lists(st.integers(0, 20), min_size=1, max_size=6), max_size=300),
       st.lists(st.integers(0, 21), min_size=1, max_size=20), st.integers(1, 12))
def test_a_capped_lookup_returns_only_the_oldest_slots_of_each_key(batches, queries, cap):
    """A few keys shared by many slots, over several runs: a lookup with `cap` returns the
    first `cap` slots stored under each key, the ones an uncapped lookup lists first,
    whether a run is searched whole or through its bucket directory, and when long runs
    stop merging (many runs hold slots of one key)."""
    table, reference = KeyTable(), {}
    table.FLUSH, table.DIRECTORY_MIN, table.MAX_RUN = 16, 40, 64
    for slot, keys in enumerate(batches):
        table.add_many(np.array([keys], dtype=np.uint32), np.array([slot], dtype=np.uint64))
        for key in keys:
            reference.setdefault(key, []).append(slot)
    positions, slots = table.lookup(np.array(queries, dtype=np.uint32), cap)
    found: dict[int, list[int]] = {}
    for position, slot in zip(positions.tolist(), slots.tolist(), strict=True):
        found.setdefault(position, []).append(slot)
    assert found == {i: reference[key][:cap] for i, key in enumerate(queries) if key in reference}


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2**32 - 1) | st.integers(0, 40), st.integers(0, 2**32 - 2)),
                max_size=300),
       st.lists(st.integers(0, 2**32 - 1) | st.integers(0, 40), max_size=80), st.integers(1, 70))
def test_the_compiled_directory_search_finds_what_the_numpy_one_does(entries, queries, cap):
    """keytable.search through a run's bucket directory: the numba kernel (bucket_ranges)
    and the vectorised bisection give the same positions, slots and lowered room."""
    import pytest

    kernels = pytest.importorskip("cleaner.dedup.kernels")
    from cleaner.dedup import keytable

    run = np.sort(np.array([key << 32 | slot for key, slot in entries], dtype=np.uint64))
    starts = keytable.directory(run)
    low = np.sort(np.array(queries, dtype=np.uint64) << np.uint64(32))
    order = np.arange(len(low))[::-1].copy()
    answers = []
    for loaded in (None, kernels):
        room = np.full(len(low), cap, dtype=np.int64)
        original, keytable._compiled = keytable._compiled, lambda entries, load=False, loaded=loaded: loaded
        try:
            found = keytable.search(run, starts, low, order, room)
        finally:
            keytable._compiled = original
        answers.append((None if found is None else (found[0].tolist(), found[1].tolist()), room.tolist()))
    assert answers[0] == answers[1]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 2**64 - 1), max_size=400), st.lists(st.integers(0, 2**32 - 1), max_size=100),
       st.integers(10, 20))
def test_the_compiled_filter_sets_and_reads_the_bits_the_numpy_one_does(entries, queries, bits):
    """A key table's bitmap filter: marked by the numba kernel (mark_buckets) or by numpy,
    the same bytes; read by either (marked / _may_hold), the same answers."""
    import pytest

    kernels = pytest.importorskip("cleaner.dedup.kernels")
    from cleaner.dedup import keytable

    packed = np.sort(np.array(entries, dtype=np.uint64))
    low = np.array(queries, dtype=np.uint64) << np.uint64(32)
    answers = []
    for loaded in (None, kernels):
        table = KeyTable()
        table._filter = np.zeros(1 << (bits - 3), dtype=np.uint8)
        table._filter_shift = np.uint64(64 - bits)
        original, keytable._compiled = keytable._compiled, lambda entries, load=False, loaded=loaded: loaded
        try:
            table._set_bits(packed)
            answers.append((table._filter.tobytes(), table._may_hold(low).tolist()))
        finally:
            keytable._compiled = original
    assert answers[0] == answers[1]
    assert all(answers[0][1][i] for i in range(len(queries)) if int(queries[i]) << 32 in set(entries))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2**32 - 1) | st.integers(0, 40), st.integers(0, 2**32 - 2)),
                max_size=300),
       st.lists(st.integers(0, 2**32 - 1) | st.integers(0, 40), max_size=80), st.integers(1, 70))
def test_the_compiled_run_search_finds_what_the_numpy_one_does(entries, queries, cap):
    """keytable.search_run over a whole run: with the kernel (bucket_ranges, one bucket) and
    with numpy's searchsorted, the same positions, slots and lowered room."""
    import pytest

    kernels = pytest.importorskip("cleaner.dedup.kernels")
    from cleaner.dedup import keytable

    run = np.sort(np.array([key << 32 | slot for key, slot in entries], dtype=np.uint64))
    low = np.sort(np.array(queries, dtype=np.uint64) << np.uint64(32))
    order = np.arange(len(low))
    answers = []
    for loaded in (None, kernels):
        room = np.full(len(low), cap, dtype=np.int64)
        found = keytable.search_run(run, low, order, room, loaded)
        answers.append((None if found is None else (found[0].tolist(), found[1].tolist()), room.tolist()))
    assert answers[0] == answers[1]
