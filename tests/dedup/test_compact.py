"""Streamed compaction (cleaner.dedup.compact) writes the very files the in-memory path
(`Segment.columns` of the kept slots, `segment.merge`, `write_segment`) writes."""

from __future__ import annotations

from pathlib import Path
import shutil

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
import numpy as np
import pytest

from cleaner.dedup import compact as compact_module
from cleaner.dedup import merge as merge_module
from cleaner.dedup.compact import compact_segments
from cleaner.dedup.fingerprint import Fingerprinter
from cleaner.dedup.segment import Columns, Segment, merge, write_segment
from cleaner.dedup.store import KINDS, open_store
from cleaner.record import Ref
from tests.dedup.test_disk_index import CONFIG, commit, texts

NAMES = ["a", "b\"q", "ü\n\\", "x" * 40, "日本"]


def in_memory(sources: list[tuple[Path, dict]], spans: list[tuple[int, int]], folder: Path) -> dict | None:
    """The files the in-memory compaction writes (None: no slot kept, nothing written)."""
    parts = []
    for source, files in sources:
        segment = Segment(source, files)
        slots = np.asarray(segment.slots).astype(np.int64)
        keep = np.ones(len(slots), dtype=bool)
        for first, end in spans:
            keep &= (slots < first) | (slots >= end)
        if keep.any():
            parts.append(segment.columns(keep))
    return write_segment(folder, merge(parts)) if parts else None


def random_segment(rng: np.random.Generator, slots: np.ndarray, narrow: bool) -> Columns:
    """A segment holding `slots`: random shingles, documents in slot order (some named by
    no slot), exact keys and band keys (repeated ones too when `narrow`)."""
    n, space = len(slots), 2**4 if narrow else 2**32
    lengths = rng.integers(0, 6, n)
    offsets = np.zeros(n + 1, dtype=np.uint64)
    np.cumsum(lengths, out=offsets[1:])
    doc_of = np.sort(rng.integers(0, max(n, 1) * 2, n)).astype(np.uint32)
    docs = [(str(rng.choice(NAMES)), f"{i}{rng.choice(NAMES)}") for i in range(int(doc_of.max(initial=0)) + 3)]
    exact = rng.random(n) < 0.8
    keys = rng.integers(0, space, int(exact.sum()), dtype=np.uint64)
    order = np.lexsort((slots[exact], keys))
    per = rng.integers(0, 4, n)
    bands = np.sort((rng.integers(0, space, int(per.sum()), dtype=np.uint64) << np.uint64(32))
                    | np.repeat(slots, per).astype(np.uint64))
    shingles = rng.integers(0, 2**32, int(offsets[-1]), dtype=np.uint32)
    para = rng.integers(-1, 50, n).astype(np.int32)
    return Columns(bands, keys[order], slots[exact][order], slots, offsets, shingles, doc_of, para, docs)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), sizes=st.lists(st.integers(0, 400), min_size=1, max_size=4),
       spans=st.lists(st.tuples(st.integers(0, 1800), st.integers(0, 300)), max_size=4),
       chunk=st.sampled_from([1, 5, 64, 1 << 18]), block=st.sampled_from([1, 7, 1 << 22]), narrow=st.booleans(),
       gaps=st.booleans())
def test_a_streamed_compaction_writes_the_files_of_the_in_memory_one(tmp_path_factory, monkeypatch, seed, sizes,
                                                                     spans, chunk, block, narrow, gaps):
    rng, root, first, sources = np.random.default_rng(seed), tmp_path_factory.mktemp("compact"), 0, []
    monkeypatch.setattr(merge_module, "CHUNK", chunk)
    monkeypatch.setattr(compact_module, "BLOCK", block)
    for number, size in enumerate(sizes):
        step = rng.integers(1, 4, size) if gaps else np.ones(size, dtype=np.int64)  # a compacted segment has gaps
        slots = (first + np.cumsum(step) - 1).astype(np.uint32)
        first = int(slots[-1]) + 1 if size else first
        sources.append((root / str(number), write_segment(root / str(number), random_segment(rng, slots, narrow))))
    spans = [(begin, begin + length) for begin, length in spans]
    expected = in_memory(sources, spans, root / "old")
    written = compact_segments([source for source, _ in sources], spans, root / "new")
    if expected is None:
        assert written is None and not (root / "new").exists()
        return
    files, count = written
    assert files == expected
    assert count == len(np.load(root / "old" / "slots.npy"))
    for name in files:
        assert (root / "new" / name).read_bytes() == (root / "old" / name).read_bytes(), name


@pytest.mark.parametrize("drop", [(), ("r2",), ("r1", "r3")])
def test_forget_writes_the_segment_the_in_memory_path_wrote(tmp_path, drop):
    """Through the store: what `compact` / `forget` publish is what the in-memory path makes
    of the segments before (three runs, the first two compacted into one segment already)."""
    fingerprint = Fingerprinter(CONFIG).fingerprint
    kept_texts = texts(5, 900)
    fps, refs = [fingerprint(t) for t in kept_texts], [Ref(f"d{i // 3}", f"d{i // 3}", i % 3) for i in range(900)]
    index = tmp_path / "index"
    commit(index, "r1", refs[:300], fps[:300])
    commit(index, "r2", refs[300:600], fps[300:600])
    store = open_store(str(index), CONFIG)
    store.begin(None, keep_staged=False)
    store.compact()
    store.close()
    commit(index, "r3", refs[600:], fps[600:])
    before = tmp_path / "before"
    shutil.copytree(index, before)
    store = open_store(str(index), CONFIG)
    store.begin(None, keep_staged=False)
    spans = {kind: [tuple(r[kind]) for r in store.manifest["runs"] if r["id"] in drop] for kind in KINDS}
    segments = {kind: [(before / s["path"], s["files"]) for s in store.manifest["segments"][kind]] for kind in KINDS}
    store.compact(drop=drop)
    manifest = store.manifest
    store.close()
    for kind in KINDS:
        expected = in_memory(segments[kind], spans[kind], tmp_path / f"old.{kind}")
        published = manifest["segments"][kind]
        assert [s["files"] for s in published] == ([expected] if expected else [])
        for record in published:
            for name in record["files"]:
                assert (index / record["path"] / name).read_bytes() == (tmp_path / f"old.{kind}" / name).read_bytes()


def test_segments_whose_slots_do_not_ascend_are_refused(tmp_path):
    rng, sources = np.random.default_rng(0), []
    for number, slots in enumerate((np.arange(10, 20), np.arange(15, 30))):  # overlapping
        sources.append(tmp_path / str(number))
        write_segment(sources[-1], random_segment(rng, slots.astype(np.uint32), narrow=False))
    with pytest.raises(ValueError, match="ascending"):
        compact_segments(sources, [(0, 5)], tmp_path / "new")
