import pickle

import numpy as np
import pytest

from cleaner.config import Config
from cleaner.dedup.decide import paragraph_index
from cleaner.dedup.fingerprint import Fingerprinter, jaccard
from cleaner.dedup.index import candidate_probability, lsh_bands
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
    banded = [near for near in nears if index.lookup_many([near])[0].candidates]
    assert banded  # candidates...
    assert all(index.find(near) is None for near in banded)  # ...but never matches


def test_index_state_survives_a_pickled_snapshot_and_keeps_answering():
    config = Config()
    index, fingerprint = paragraph_index(config), Fingerprinter(config).fingerprint
    for i in range(50):
        index.add(Ref(f"{i}.txt", f"{i}.txt", 0), fingerprint(f"{BUDGET} item {i} of the list"))
    copy = paragraph_index(config)
    copy.restore(pickle.loads(pickle.dumps(index.snapshot())))
    query = fingerprint(f"{BUDGET} item 7 of the list")
    assert copy.find(query) == index.find(query)
    assert copy.find(query).ref == Ref("7.txt", "7.txt", 0)


def test_band_keys_are_the_wrapping_sum_of_each_bands_mixed_rows():
    """The vectorised keys against the definition, in Python integers: a band's key is the
    high 32 bits of the sum, modulo 2**64, of its rows times the band's odd constants."""
    from cleaner.dedup.index import Banding

    rng = np.random.default_rng(11)
    for threshold in (0.5, 0.7, 0.8, 0.95):
        banding = Banding(threshold, 128, 0.99, 3)
        signatures = rng.integers(0, 2**32, size=(40, 128), dtype=np.uint64).astype(np.uint32)
        mix = banding._mix.tolist()
        expected = [[(sum(int(v) * m for v, m in zip(row[b * banding.rows:(b + 1) * banding.rows], mix[b], strict=True))
                      % 2**64) >> 32 for b in range(banding.bands)] for row in signatures.tolist()]
        assert banding.keys(signatures).tolist() == expected
