"""A layered index with committed and spilled layers below its head answers a batch in
arrays (cleaner.dedup.batch's fast path) exactly as one in-memory index of the same texts
does: `lookup_columns` gives its exact slots and candidates (KEY_CAP a band key across the
layers), `lookup_many` the same as lists; `gather`, `ref` and `matched` what `_entries`
holds for each slot, and the fast path's verification the per-query `verify`."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
import numpy as np

from cleaner.config import Config
from cleaner.dedup.decide import paragraph_index
from cleaner.dedup.fingerprint import Fingerprinter
from cleaner.dedup.index import KEY_CAP, best_verified, signed, sure_bands, to_verify
from cleaner.dedup.store import open_store
from cleaner.record import Ref
from tests.dedup.test_batch import corpus
from tests.dedup.test_bounded import templated

CONFIG = Config(min_words=4)


def layered_of(root, fps, refs, committed: int, spilled: int):
    """An index of `fps`: the first `committed` in a committed run, the next `spilled`
    spilled by this run, the rest in memory."""
    store = open_store(str(root), CONFIG, spill_bytes=1)
    store.begin("A", keep_staged=False)
    paragraph_index(CONFIG, store=store).add_many(refs[:committed], fps[:committed])
    store.prepare()
    store.publish()
    store.close()
    store = open_store(str(root), CONFIG, spill_bytes=1)
    store.begin("B", keep_staged=False)
    layered = paragraph_index(CONFIG, store=store)
    layered.add_many(refs[committed:committed + spilled], fps[committed:committed + spilled])
    layered.spill()
    layered.budget = 1 << 40
    layered.add_many(refs[committed + spilled:], fps[committed + spilled:])
    return store, layered


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), templates=st.sampled_from([0, KEY_CAP // 2, 3 * KEY_CAP]),
       cuts=st.tuples(st.floats(0, 1), st.floats(0, 1)))
def test_lookup_columns_gather_and_ref_agree_with_one_memory_index_and_entries(tmp_path_factory, seed, templates, cuts):
    fingerprint = Fingerprinter(CONFIG).fingerprint
    texts = [p for doc in corpus(seed, 30) for p in doc] + templated(templates)
    np.random.default_rng(seed).shuffle(texts)
    fps = [fingerprint(t) for t in texts]
    refs = [Ref(f"{i}.txt", f"{i}.txt", 0) for i in range(len(fps))]
    committed = 1 + int((len(fps) - 3) * min(cuts))  # at least one entry in each layer
    spilled = 2 + int((len(fps) - 3) * max(cuts)) - committed
    store, layered = layered_of(tmp_path_factory.mktemp("index"), fps, refs, committed, spilled)
    queries = fps[::3] + [fingerprint(t + " and one more word here") for t in texts[::5]]
    sketched = np.flatnonzero([signed(fp) for fp in queries])
    band_keys = layered.banding.keys(np.stack([queries[i].signature for i in sketched])) if len(sketched) else None
    keys = np.array([fp.key for fp in queries], dtype=np.uint64)
    found = layered.lookup_columns(keys, band_keys, sketched)
    if band_keys is not None:  # the loads a lookup saw below the head, band_load's without a second search
        again, below = layered.lookup_loads(keys, band_keys, sketched)
        assert all(np.array_equal(a, b) for a, b in zip(again, found, strict=True))
        flat = band_keys.ravel()
        assert layered.band_load(flat, below).tolist() == layered.band_load(flat).tolist()
    memory = paragraph_index(CONFIG)
    memory.add_many(refs, fps)
    many = memory.lookup_many(queries)  # the reference: one index fed the same texts, slot for slot
    assert [(f.exact, f.candidates, f.shared) for f in layered.lookup_many(queries)] == \
        [(f.exact, f.candidates, f.shared) for f in many]
    assert found.exact.tolist() == [f.exact for f in many]
    pairs = [(q, s, n) for q, f in enumerate(many) for s, n in zip(f.candidates, f.shared or [1] * len(f.candidates),
                                                                  strict=True)]
    assert list(zip(found.owner.tolist(), found.slots.tolist(), found.shared.tolist(), strict=True)) == pairs
    slots = sorted(set(found.slots.tolist()) | set(range(0, len(fps), 4)))[::-1]
    flat, lengths = layered.gather(slots)
    entries = layered._entries(slots)
    assert lengths.tolist() == [len(s) for _, s in entries]
    assert flat.tolist() == [x for _, s in entries for x in np.asarray(s).tolist()]
    assert [layered.ref(s) for s in slots] == [ref for ref, _ in entries] == layered.refs(slots)
    for low, high in ((0, committed), (committed, committed + spilled)):  # one read-only layer: read in arrays
        mine = [(s, e) for s, e in zip(slots, entries, strict=True) if low <= s < high]
        flat, lengths = layered.gather([s for s, _ in mine])
        assert lengths.tolist() == [len(shingles) for _, (_, shingles) in mine]
        assert flat.tolist() == [x for _, (_, shingles) in mine for x in np.asarray(shingles).tolist()]
    assert [ref.run == "A" for ref, _ in entries] == [s < committed for s in slots]
    sure = sure_bands(layered.banding, layered.threshold)
    for fp, each in zip(queries, many, strict=True):  # the fast path's verification, the slow path's match
        if each.exact >= 0 or not each.candidates:
            continue
        chosen, _ = to_verify(each, sure)
        best = best_verified(fp.shingles, chosen, *layered.gather(chosen), layered.threshold)
        fast = None if best is None else layered.matched(fp, best[1], best[0])
        assert fast == layered.verify(fp, each)
    store.close()
