"""A run's spilled segments merged as they come (cleaner.dedup.merge): an index fed texts
under a tiny budget (many spills, many merges) answers lookups as one in-memory index fed
the same texts, and a streamed merge writes what `segment.merge` makes of the same segments."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
import numpy as np

from cleaner.config import Config
from cleaner.dedup import merge as merge_module
from cleaner.dedup.decide import paragraph_index
from cleaner.dedup.fingerprint import Fingerprinter
from cleaner.dedup.keytable import directory
from cleaner.dedup.merge import merge_segments
from cleaner.dedup.segment import Columns, Segment, merge, write_segment
from cleaner.dedup.spills import FAN
from cleaner.dedup.store import open_store
from cleaner.record import Ref
from tests.dedup.test_batch import corpus
from tests.dedup.test_bounded import templated

CONFIG = Config(min_words=4)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), templates=st.sampled_from([0, 60]), step=st.sampled_from([1, 3]))
def test_merged_spills_answer_as_one_memory_index(tmp_path_factory, seed, templates, step):
    fingerprint = Fingerprinter(CONFIG).fingerprint
    texts = [p for doc in corpus(seed, 25) for p in doc] + templated(templates)
    np.random.default_rng(seed).shuffle(texts)
    fps = [fingerprint(t) for t in texts]
    refs = [Ref(f"{i}.txt", f"{i}.txt", 0) for i in range(len(fps))]
    store = open_store(str(tmp_path_factory.mktemp("index")), CONFIG, spill_bytes=1)
    store.begin("A", keep_staged=False)
    layered = paragraph_index(CONFIG, store=store)
    for i in range(0, len(fps), step):  # each add spills: many spills, merged FAN at a time
        layered.add_many(refs[i:i + step], fps[i:i + step])
    memory = paragraph_index(CONFIG)
    memory.add_many(refs, fps)
    spills = -(-len(fps) // step)
    assert layered.spills.merges >= spills // FAN > 0
    assert len(layered.spilled) <= (FAN - 1) * (1 + int(np.log(spills) / np.log(FAN)))
    queries = fps[::2] + [fingerprint(t + " and one more word here") for t in texts[::5]]
    assert [(f.exact, f.candidates, f.shared) for f in layered.lookup_many(queries)] == \
        [(f.exact, f.candidates, f.shared) for f in memory.lookup_many(queries)]
    slots = list(range(0, len(fps), 3))
    assert [layered.ref(s) for s in slots] == [memory.ref(s) for s in slots]
    folders = [store.root / r["path"] for r in layered.spilled]
    segments = [Segment(f, r["files"]) for f, r in zip(folders, layered.spilled, strict=True)]
    whole = merge([s.columns() for s in segments])
    layered.snapshot()
    layered.snapshot()  # twice: what was merged away before the first is deleted
    assert all(f.exists() for f in folders)
    record = store.merge_spills("paragraphs", layered.spilled)
    merged = Segment(store.root / record["path"], record["files"]).columns()
    for name in ("bands", "exact_keys", "exact_slots", "slots", "offsets", "shingles", "doc_of", "para", "docs"):
        assert np.array_equal(np.asarray(getattr(merged, name)), np.asarray(getattr(whole, name))), name
    spilled = {p.name for p in (store.root / "spill" / "A").iterdir()}
    assert spilled == {f.name for f in folders} | {record["path"].split("/")[-1]}
    store.close()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), sizes=st.lists(st.integers(0, 3000), min_size=1, max_size=FAN),
       chunk=st.sampled_from([7, 64, 1 << 18]), step=st.sampled_from([3, 50, 1 << 18]), narrow=st.booleans())
def test_a_streamed_merge_writes_the_directory_of_its_bands(tmp_path_factory, monkeypatch, seed, sizes, chunk, step,
                                                            narrow):
    """The merged directory.npy, written as the sorted bands stream past in chunks, is the one
    `keytable.directory` makes of the whole merged band file (every bucket, empty ones too)."""
    rng, root, first, sources = np.random.default_rng(seed), tmp_path_factory.mktemp("merge"), 0, []
    monkeypatch.setattr(merge_module, "CHUNK", chunk)
    monkeypatch.setattr(merge_module, "DIRECTORY_STEP", step)
    for number, size in enumerate(sizes):
        slots = np.arange(first, first + size, dtype=np.uint32)
        keys = rng.integers(0, 2**8 if narrow else 2**32, (size, 3), dtype=np.uint64)
        bands = np.sort(((keys << np.uint64(32)) | slots[:, None].astype(np.uint64)).ravel())
        columns = Columns(bands, np.sort(rng.integers(0, 2**63, size, dtype=np.uint64)), slots, slots,
                          np.zeros(size + 1, dtype=np.uint64), np.empty(0, dtype=np.uint32),
                          np.zeros(size, dtype=np.uint32), np.zeros(size, dtype=np.int32), [("a", "a")] * bool(size))
        sources.append(root / str(number))
        write_segment(sources[-1], columns)
        first += size
    merge_segments(sources, root / "merged")
    bands = np.load(root / "merged" / "bands.npy")
    assert np.array_equal(bands, np.sort(bands))
    assert np.array_equal(np.load(root / "merged" / "directory.npy"), directory(bands))
