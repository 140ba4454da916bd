import pickle

from hypothesis import given, settings
from hypothesis import strategies as st
import numpy as np
import pytest

from cleaner.config import Config
from cleaner.dedup import paragraph_index
from cleaner.fingerprint import Fingerprinter, jaccard
from cleaner.index import KeyTable, candidate_probability, lsh_bands
from cleaner.record import Ref

BUDGET = ("The city council approved a budget of 48 million dollars on Tuesday after a "
          "four-hour session that ran well past midnight in the old chamber")


@pytest.mark.parametrize("threshold", [0.5, 0.7, 0.8, 0.9])
def test_bands_find_a_pair_at_the_threshold_with_the_asked_recall(threshold):
    bands, rows = lsh_bands(threshold, 128, 0.99)
    assert bands * rows <= 128
    assert candidate_probability(threshold, bands, rows) >= 0.99
    if bands * (rows + 1) <= 128:
        assert candidate_probability(threshold, 128 // (rows + 1), rows + 1) < 0.99


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
    assert len(table._filter) * 8 >= 96_000 * KeyTable.FILTER_BITS  # it grew with the entries
    absent = rng.integers(0, 2**32, size=20_000, dtype=np.uint64)
    absent = absent[~np.isin(absent, stored.astype(np.uint64))]
    assert table._may_hold(absent << np.uint64(32)).mean() < 0.2


def test_find_returns_a_verified_match_with_both_similarities():
    config = Config()
    index, fingerprint = paragraph_index(config), Fingerprinter(config).fingerprint
    kept = fingerprint(BUDGET)
    assert index.find(kept) is None
    index.add(Ref("a.txt", "a.txt", 3), kept)
    edited = fingerprint(BUDGET.replace("Tuesday", "Monday"))
    match = index.find(edited)
    assert match is not None and match.ref == Ref("a.txt", "a.txt", 3) and not match.exact
    assert match.similarity == jaccard(kept.shingles, edited.shingles) >= config.threshold
    assert match.estimated == float(np.mean(kept.signature == edited.signature))
    exact = index.find(fingerprint(BUDGET.upper()))
    assert exact is not None and exact.exact and exact.similarity == 1.0


def test_best_candidate_wins_and_ties_go_to_the_earliest():
    config = Config()
    index, fingerprint = paragraph_index(config), Fingerprinter(config).fingerprint
    far = BUDGET.replace("Tuesday", "Monday").replace("old", "new")
    index.add(Ref("a", "a", 0), fingerprint(far))
    index.add(Ref("b", "b", 0), fingerprint(BUDGET.replace("Tuesday", "Monday")))
    index.add(Ref("c", "c", 0), fingerprint(BUDGET.replace("Tuesday", "Monday")))
    assert index.find(fingerprint(BUDGET)).ref == Ref("b", "b", 0)


def test_a_pair_below_the_threshold_is_never_returned_even_when_banded_together():
    config = Config(threshold=0.9)
    index, fingerprint = paragraph_index(config), Fingerprinter(config).fingerprint
    index.add(Ref("a", "a", 0), fingerprint(BUDGET))
    # Jaccard ~0.8 each; which of them share a band depends on the hash values, so take them all.
    nears = [fingerprint(BUDGET.replace("Tuesday", day)) for day in ("Monday", "Wednesday", "Friday", "Saturday")]
    banded = [near for near in nears if index._bands.get(index.band_keys(near.signature))]
    assert banded  # candidates...
    assert all(index.find(near) is None for near in banded)  # ...but never matches


def test_index_state_survives_pickling_and_keeps_answering():
    config = Config()
    index, fingerprint = paragraph_index(config), Fingerprinter(config).fingerprint
    for i in range(50):
        index.add(Ref(f"{i}.txt", f"{i}.txt", 0), fingerprint(f"{BUDGET} item {i} of the list"))
    copy = pickle.loads(pickle.dumps(index))
    query = fingerprint(f"{BUDGET} item 7 of the list")
    assert copy.find(query) == index.find(query)
    assert copy.find(query).ref == Ref("7.txt", "7.txt", 0)
