"""A tracked query's candidates in the index are verified when its batch begins
(`IndexWindow._old_best`); asked later, only what the batch added since is verified, and
the answer must be the one index's `find` gives after the same additions: the most similar
of all, the index's own (earlier) copy on a tie, the batch's when it is closer."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from cleaner.config import Config
from cleaner.dedup.batch import IndexWindow
from cleaner.dedup.columns import Columns
from cleaner.dedup.decide import paragraph_index
from cleaner.dedup.fingerprint import Fingerprinter
from cleaner.dedup.sketch import minhash_signatures, permutations
from cleaner.record import Ref

CONFIG = Config(min_words=4, threshold=0.5)
WORDS = [f"w{i}" for i in range(40)]


def text(*changes: tuple[int, str]) -> str:
    words = list(WORDS)
    for at, word in changes:
        words[at] = word
    return " ".join(words)


@pytest.mark.parametrize("added", [
    text(),  # the kept text itself again (not a copy of the query): a tie, the kept one wins
    text((5, "x5")),  # as close to the query as the kept one: a tie
    text((20, "q20")),  # the query's own edit: closer, the added one wins
    text((1, "a"), (9, "b"), (30, "c")),  # farther: the kept one
])
def test_a_tracked_query_asked_after_an_addition_answers_as_find(added):
    fingerprint = Fingerprinter(CONFIG).fingerprint
    kept, query = fingerprint(text()), fingerprint(text((20, "q20"), (33, "q33")))
    row = fingerprint(added)
    index = paragraph_index(CONFIG)
    index.add(Ref("kept", "kept", 0), kept)
    columns = Columns(index.banding, [row, query], np.arange(2), np.zeros(2, dtype=np.int32),
                      [("batch", "batch"), ("batch", "batch")])
    signatures = functools.partial(minhash_signatures, permutations=permutations(CONFIG.num_perm, CONFIG.seed))
    window = IndexWindow(index, columns, np.arange(2), signatures)
    assert 1 in window._old_best and 1 in columns.shared  # the path under test: tracked, verified ahead
    window.add(slice(0, 1))
    got = window.find(1)
    reference = paragraph_index(CONFIG)
    reference.add(Ref("kept", "kept", 0), kept)
    reference.add(Ref("batch", "batch", 0), row)
    assert got == reference.find(query)
    assert got is not None
    window.flush()
