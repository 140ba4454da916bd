"""A run's index layer spilled to disk past a memory budget (cleaner.dedup.layered): the
decisions are those of one in-memory index whatever the budget, the batch size, the
committed runs below or a checkpoint in between; the bounds of templated text (KEY_CAP a
band key, counted with band_load) hold across committed, spilled and in-memory layers."""

from __future__ import annotations

import dataclasses
import pickle

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
import numpy as np

from cleaner.config import Config
from cleaner.dedup import disk as disk_module
from cleaner.dedup import layered as layered_module
from cleaner.dedup.decide import Deduplicator, paragraph_index
from cleaner.dedup.fingerprint import Fingerprinter
from cleaner.dedup.index import KEY_CAP
from cleaner.dedup.store import open_store
from cleaner.record import Ref
from tests.dedup.test_batch import corpus, outcome, prepared
from tests.dedup.test_bounded import templated

CONFIG = Config(min_words=4)


def plain(docs) -> list:
    """`outcome` with the kept copies' runs left out (a committed match names its run)."""
    def strip(removal):
        if removal is None or removal.duplicate_of is None:
            return removal
        return dataclasses.replace(removal, duplicate_of=dataclasses.replace(removal.duplicate_of, run=None))
    return [(strip(doc), [strip(p) for p in paras]) for doc, paras in outcome(docs)]


def texts_of(seed: int, documents: int, templates: int) -> list[list[str]]:
    out = corpus(seed, documents)
    for i, text in enumerate(templated(templates)):  # one band key shared by many: KEY_CAP applies
        out.insert((i * 7 + seed) % (len(out) + 1), [text])
    return out


def run(store, docs: list, batch: int, stop: int | None = None):
    """Decide `docs` with `store`'s index (begun); with `stop`, checkpoint after that many
    documents and go on in a new Deduplicator restored from it."""
    dedup = Deduplicator(CONFIG, store=store)
    dedup.BATCH = batch
    if stop is None:
        list(dedup(iter(docs)))
        return docs, dedup
    stage = dedup(iter(docs))
    for _ in range(stop):
        next(stage)
    state = pickle.loads(pickle.dumps(dedup.snapshot()))
    stage.close()
    store.indexes.clear()
    resumed = Deduplicator(CONFIG, store=store)
    resumed.BATCH = batch
    resumed.restore(state)
    list(resumed(iter(docs[stop:])))
    return docs, resumed


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), documents=st.integers(5, 60), templates=st.sampled_from([0, 90, 160]),
       budget=st.sampled_from([1, 3000, 40_000]), batch=st.sampled_from([1, 5, 64]), split=st.floats(0.2, 0.8),
       resume=st.booleans())
def test_spilled_runs_decide_as_one_memory_index(tmp_path_factory, seed, documents, templates, budget, batch,
                                                 split, resume):
    texts = texts_of(seed, documents, templates)
    expected = prepared(texts, CONFIG)
    memory = Deduplicator(CONFIG)
    memory.BATCH = batch
    list(memory(iter(expected)))
    cut = int(len(texts) * split)
    root = tmp_path_factory.mktemp("index")
    first = open_store(str(root), CONFIG, spill_bytes=budget)  # A, committed (spilled too)
    first.begin("A", keep_staged=False)
    docs = prepared(texts, CONFIG)
    run(first, docs[:cut], batch)
    first.prepare()
    first.publish()
    first.close()
    second = open_store(str(root), CONFIG, spill_bytes=budget)  # then B, spilled, perhaps resumed
    second.begin("B", keep_staged=False)
    _, dedup = run(second, docs[cut:], batch, stop=(len(texts) - cut) // 2 if resume else None)
    assert plain(docs[cut:]) == plain(expected[cut:])
    if budget == 1 and len(texts) - cut > batch:
        assert dedup.corpus.spilled  # the budget really made it spill
    second.prepare()
    second.publish()
    second.close()


def test_a_checkpoint_spills_a_large_head_and_names_only_segments(tmp_path, monkeypatch):
    """Under a budget never reached, a checkpoint still spills a head past
    CHECKPOINT_HEAD_BYTES: the snapshot names segments and holds an empty head, and the run
    resumed from it decides as one in-memory index."""
    texts = texts_of(5, 40, 90)
    expected = prepared(texts, CONFIG)
    list(Deduplicator(CONFIG)(iter(expected)))
    monkeypatch.setattr(layered_module, "CHECKPOINT_HEAD_BYTES", 1)
    store = open_store(str(tmp_path / "i"), CONFIG, spill_bytes=1 << 40)
    store.begin("A", keep_staged=False)
    docs = prepared(texts, CONFIG)
    dedup = Deduplicator(CONFIG, store=store)
    dedup.BATCH = 8
    stage = dedup(iter(docs))
    for _ in range(len(docs) // 2):
        next(stage)
    state = dedup.snapshot()["corpus"]
    assert state["spilled"] and state["head_first"] > state["first"]
    assert not state["head"]["_keys"]  # the head was written out, not pickled
    stage.close()
    store.indexes.clear()
    resumed = Deduplicator(CONFIG, store=store)
    resumed.BATCH = 8
    resumed.restore(pickle.loads(pickle.dumps(dedup.snapshot())))
    list(resumed(iter(docs[len(docs) // 2:])))
    assert plain(docs) == plain(expected)
    store.close()


def test_spills_searched_in_chunks_answer_as_one_search(tmp_path, monkeypatch):
    """A batch's band keys searched a few at a time in each spill (RELEASE_BYTES, so that
    one search never maps a whole band file, down to one key a search) give the decisions
    of one in-memory index."""
    texts = texts_of(11, 50, 160)
    expected = prepared(texts, CONFIG)
    list(Deduplicator(CONFIG)(iter(expected)))
    monkeypatch.setattr(disk_module, "RELEASE_BYTES", 1)
    searched = []
    bands_of = disk_module.Segment.bands_of
    monkeypatch.setattr(disk_module.Segment, "bands_of", lambda self, low, *rest: searched.append(len(low))
                        or bands_of(self, low, *rest))
    store = open_store(str(tmp_path / "i"), CONFIG, spill_bytes=3000)
    store.begin("A", keep_staged=False)
    docs, dedup = run(store, prepared(texts, CONFIG), 16)
    assert dedup.corpus.spilled and searched and max(searched) == 1  # every search really was chunked
    assert plain(docs) == plain(expected)
    store.close()


def test_band_load_counts_committed_spilled_and_in_memory_slots(tmp_path):
    fingerprint = Fingerprinter(CONFIG).fingerprint
    fps = [fingerprint(t) for t in templated(3 * KEY_CAP)]
    refs = [Ref(f"{i}.txt", f"{i}.txt", 0) for i in range(len(fps))]
    memory = paragraph_index(CONFIG)
    memory.add_many(refs, fps)
    store = open_store(str(tmp_path / "i"), CONFIG, spill_bytes=1)
    store.begin("A", keep_staged=False)
    paragraph_index(CONFIG, store=store).add_many(refs[:KEY_CAP // 2], fps[:KEY_CAP // 2])
    store.prepare()
    store.publish()
    store.close()
    store = open_store(str(tmp_path / "i"), CONFIG, spill_bytes=1)
    store.begin("B", keep_staged=False)
    layered = paragraph_index(CONFIG, store=store)
    layered.add_many(refs[KEY_CAP // 2:KEY_CAP], fps[KEY_CAP // 2:KEY_CAP])  # spilled at once
    layered.budget = 1 << 40
    layered.add_many(refs[KEY_CAP:], fps[KEY_CAP:])  # stays in memory
    assert layered.spilled and len(layered.head) == 2 * KEY_CAP
    keys = layered.banding.keys(np.stack([fp.signature for fp in fps[:5]])).ravel()
    assert layered.band_load(keys).tolist() == memory.band_load(keys).tolist()
    assert layered.band_load(keys).max() == KEY_CAP  # the template's bands: capped across the layers
    queries = fps[::7]
    assert [(f.exact, f.candidates, f.shared) for f in layered.lookup_many(queries)] == \
        [(f.exact, f.candidates, f.shared) for f in memory.lookup_many(queries)]
    store.close()


def test_a_spill_is_searched_a_release_worth_of_its_band_file_at_a_time():
    """A spill's band file far larger than RELEASE_BYTES is searched in chunks of keys that
    each span about RELEASE_BYTES of it, down to one key a chunk when a batch has few keys
    (a page fault maps a whole cached folio: a fixed number of scattered keys could map
    the whole file)."""
    class Bands:
        nbytes = 40 * disk_module.RELEASE_BYTES

    class Spill:
        bands = Bands()

    spills = disk_module.DiskCommitted([], None)
    for keys in (5, 40, 1000, 100_000):
        chunks = spills._chunks(Spill(), keys)  # type: ignore[arg-type]
        assert chunks[0][0] == 0 and chunks[-1][1] == keys
        assert all(end - begin <= max(keys // 40, 1) for begin, end in chunks)
        assert len(chunks) == keys if keys < 40 else len(chunks) <= 41
