"""Spills written on the writer thread (cleaner.dedup.spills): a spill still in memory answers
as its written segment does; an index whose writer lags answers every lookup as one that
writes in line, and ends with the same segments; a failed write stops the run."""

from __future__ import annotations

import threading
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
import numpy as np
import pytest

from cleaner.config import Config
from cleaner.dedup.decide import paragraph_index
from cleaner.dedup.disk import DiskCommitted
from cleaner.dedup.fingerprint import Fingerprinter
from cleaner.dedup.index import KEY_CAP
from cleaner.dedup.memory import MemoryIndex, query_columns
from cleaner.dedup.segment import Segment, from_memory, write_segment
from cleaner.dedup.spills import MemorySegment
from cleaner.dedup.store import open_store
from cleaner.record import Ref
from tests.dedup.test_batch import corpus
from tests.dedup.test_bounded import templated

CONFIG = Config(min_words=4)


def fingerprinted(seed: int, templates: int) -> tuple[list[str], list]:
    fingerprint = Fingerprinter(CONFIG).fingerprint
    texts = [p for doc in corpus(seed, 30) for p in doc] + templated(templates)
    np.random.default_rng(seed).shuffle(texts)
    return texts, [fingerprint(t) for t in texts]


def refs_of(n: int) -> list[Ref]:
    return [Ref(f"doc {i // 3}.txt", f"doc {i // 3}.txt", i % 3) for i in range(n)]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), templates=st.sampled_from([0, 40]), first=st.sampled_from([0, 7, 1000]))
def test_a_spill_in_memory_answers_as_its_written_segment(tmp_path_factory, seed, templates, first):
    texts, fps = fingerprinted(seed, templates)
    head = paragraph_index(CONFIG)
    assert isinstance(head, MemoryIndex)
    head.add_many(refs_of(len(fps)), fps)
    columns = from_memory(head.columns(), first)
    folder = tmp_path_factory.mktemp("spill") / "segment"
    written = DiskCommitted([Segment(folder, write_segment(folder, columns), scattered=True)], None)
    memory = DiskCommitted([MemorySegment(columns)], None)
    queries = fps[::2] + [Fingerprinter(CONFIG).fingerprint(t + " with a few words more") for t in texts[::3]]
    keys = np.array([q.key for q in queries], dtype=np.uint64)
    assert np.array_equal(memory.exact(keys), written.exact(keys))
    _, band_keys, _ = query_columns(head.banding, queries, None)
    band_keys = band_keys.ravel()
    answers = []
    for layer in (memory, written):
        room = np.full(len(band_keys), KEY_CAP, dtype=np.int64)
        positions, slots = layer.bands(band_keys, room)
        answers.append((positions.tolist(), slots.tolist(), room.tolist()))
    assert answers[0] == answers[1] and answers[0][0]  # and something was found
    slots = list(range(first, first + len(fps), 2))
    assert memory.refs(slots) == written.refs(slots)
    assert [s.tolist() for s in memory.shingles(slots)] == [s.tolist() for s in written.shingles(slots)]
    assert [(r, s.tolist()) for r, s in memory.entries(slots)] == [(r, s.tolist()) for r, s in written.entries(slots)]
    for got, want in zip(memory.gather(slots), written.gather(slots), strict=True):
        assert np.array_equal(got, want)


class SlowWrites:
    """A store's `spill` that takes a while on the writer thread, so lookups meet spills
    still in memory."""

    def __init__(self, store, pause: float = 0.02) -> None:
        self.write, self.pause = store.spill, pause
        store.spill = self

    def __call__(self, kind, columns):
        assert threading.current_thread() is not threading.main_thread()
        time.sleep(self.pause)
        return self.write(kind, columns)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), templates=st.sampled_from([0, 60]), step=st.sampled_from([2, 5]))
def test_a_lagging_writer_answers_and_writes_as_writing_in_line(tmp_path_factory, seed, templates, step):
    texts, fps = fingerprinted(seed, templates)
    refs = refs_of(len(fps))
    queries = fps[1::2] + [Fingerprinter(CONFIG).fingerprint(t + " and then some more") for t in texts[::4]]
    results, pending_seen = [], 0
    for background in (True, False):
        store = open_store(str(tmp_path_factory.mktemp("index")), CONFIG, spill_bytes=1)
        store.BACKGROUND = background
        store.begin("A", keep_staged=False)
        if background:
            SlowWrites(store)
        layered = paragraph_index(CONFIG, store=store)
        answers = []
        for i in range(0, len(fps), step):  # every add spills (a budget of one byte)
            layered.add_many(refs[i:i + step], fps[i:i + step])
            pending_seen += len(layered.spills._pending)
            answers.append([(f.exact, f.candidates, f.shared) for f in layered.lookup_many(queries)])
        spilled = [(r["count"], sorted(r["files"])) for r in layered.spilled]
        results.append((answers, spilled, list(layered.spills.levels), layered.spills.merges))
        assert all((store.root / r["path"]).is_dir() for r in layered.spilled)
        store.close()
    assert pending_seen  # lookups really met spills still in memory
    assert results[0] == results[1]


def test_a_failed_background_write_stops_the_run(tmp_path):
    _, fps = fingerprinted(5, 0)
    store = open_store(str(tmp_path / "index"), CONFIG, spill_bytes=1)
    store.begin("A", keep_staged=False)

    def full(kind, columns):
        raise OSError(28, "No space left on device")

    store.spill = full
    layered = paragraph_index(CONFIG, store=store)
    with pytest.raises(OSError, match="No space left"):
        for i in range(0, len(fps), 3):
            layered.add_many(refs_of(len(fps))[i:i + 3], fps[i:i + 3])
            layered.lookup_many(fps[:5])
        layered.snapshot()
    store.close()
