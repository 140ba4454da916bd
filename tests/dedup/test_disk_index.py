"""The embedded on-disk index (cleaner.dedup.disk): the same answers as the in-memory index,
checksums that catch a damaged file, compact and forget that keep what they must."""

from __future__ import annotations

import json
import os
from pathlib import Path
import random
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from cleaner.config import Config
from cleaner.dedup.decide import paragraph_index
from cleaner.dedup.fingerprint import Fingerprinter
from cleaner.dedup.store import open_store
from cleaner.errors import UsageError
from cleaner.record import Ref
from tests.incremental import WORDS, paragraph

CONFIG = Config()


def texts(seed: int, n: int) -> list[str]:
    rng = random.Random(seed)
    pool = [paragraph(rng, rng.randint(5, 30)) for _ in range(20)]
    out = []
    for _ in range(n):
        text = rng.choice(pool) if rng.random() < 0.5 else paragraph(rng, rng.randint(5, 30))
        if rng.random() < 0.3:
            words = text.split()
            words[rng.randrange(len(words))] = rng.choice(WORDS)
            text = " ".join(words)
        out.append(text)
    return out


def edited(seed: int, originals: list[str]) -> list[str]:
    """Each text with one word changed (a near copy when long), and a new text after each."""
    rng = random.Random(seed)
    out = []
    for text in originals:
        words = text.split()
        words[rng.randrange(len(words))] = rng.choice(WORDS)
        out += [" ".join(words), paragraph(rng, rng.randint(5, 30))]
    return out


def commit(location: Path | str, run: str, refs: list[Ref], fps: list) -> None:
    store = open_store(str(location), CONFIG)
    store.begin(run, keep_staged=False)
    paragraph_index(CONFIG, store=store).add_many(refs, fps)
    store.prepare()
    store.publish()
    store.close()


def answers(index, fps) -> list:
    return [(m.ref.source, m.ref.paragraph, m.similarity, m.exact) if m else None for m in map(index.find, fps)]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_committed_runs_answer_as_one_memory_index(tmp_path, seed):
    fingerprint = Fingerprinter(CONFIG).fingerprint
    kept = [fingerprint(t) for t in texts(seed, 300)]
    refs = [Ref(f"d{i}", f"d{i}", 0) for i in range(300)]
    commit(tmp_path / "i", "one", refs[:100], kept[:100])
    commit(tmp_path / "i", "two", refs[100:], kept[100:])
    memory = paragraph_index(CONFIG)
    memory.add_many(refs, kept)
    store = open_store(str(tmp_path / "i"), CONFIG)
    store.begin("three", keep_staged=False)
    disk = paragraph_index(CONFIG, store=store)
    queries = [fingerprint(t) for t in edited(seed, texts(seed, 300)[::3])]
    got = answers(disk, queries)
    assert got == answers(memory, queries)
    assert sum(a is not None and not a[3] for a in got) > 5  # near matches are compared, not only exact ones
    match = next(m for m in map(disk.find, queries) if m is not None and int(m.ref.source[1:]) >= 100)
    assert match.ref.run == "two"
    store.close()


def test_a_damaged_or_truncated_file_is_refused(tmp_path):
    fingerprint = Fingerprinter(CONFIG).fingerprint
    commit(tmp_path / "i", "one", [Ref("a", "a", 0)], [fingerprint(texts(1, 1)[0])])
    manifest = json.loads((tmp_path / "i" / "manifest.json").read_text())
    shingles = tmp_path / "i" / manifest["segments"]["paragraphs"][0]["path"] / "shingles.npy"
    data = bytearray(shingles.read_bytes())
    data[-1] ^= 1
    shingles.write_bytes(bytes(data))
    store = open_store(str(tmp_path / "i"), CONFIG)
    store.begin("two", keep_staged=False)
    with pytest.raises(UsageError, match="damaged index file"):
        paragraph_index(CONFIG, store=store)
    store.close()
    shingles.write_bytes(bytes(data[:-3]))
    store.begin("two", keep_staged=False)
    with pytest.raises(UsageError, match="damaged index file"):
        paragraph_index(CONFIG, store=store)
    store.close()


def test_compact_keeps_every_answer_and_forget_drops_one_run(tmp_path):
    fingerprint = Fingerprinter(CONFIG).fingerprint
    kept = [fingerprint(t) for t in texts(9, 240)]
    refs = [Ref(f"d{i}", f"d{i}", i % 3) for i in range(240)]
    for run, part in (("r1", slice(0, 80)), ("r2", slice(80, 160)), ("r3", slice(160, 240))):
        commit(tmp_path / "i", run, refs[part], kept[part])
    queries = [fingerprint(t) for t in edited(10, texts(9, 240)[::2])]

    def now() -> list:
        store = open_store(str(tmp_path / "i"), CONFIG)
        store.begin(None, keep_staged=True)
        try:
            return answers(paragraph_index(CONFIG, store=store), queries)
        finally:
            store.close()

    def maintain(action: str, *args: str) -> None:
        store = open_store(str(tmp_path / "i"), None)
        store.begin(None, keep_staged=True)
        getattr(store, action)(*args)
        store.close()

    before = now()
    maintain("compact")
    assert now() == before
    assert len(list((tmp_path / "i" / "segments").iterdir())) == 1  # one paragraph segment, the rest collected
    maintain("forget", "r2")
    without = paragraph_index(CONFIG)
    without.add_many(refs[:80], kept[:80])
    without.add_many(refs[160:], kept[160:])
    assert now() == answers(without, queries) != before
    with pytest.raises(UsageError, match="no run 'r2'"):
        maintain("forget", "r2")


def test_bytes_per_paragraph_are_reported(tmp_path):
    fingerprint = Fingerprinter(CONFIG).fingerprint
    kept = [fingerprint(t) for t in texts(4, 500)]
    commit(tmp_path / "i", "one", [Ref(f"d{i}", f"d{i}", 0) for i in range(500)], kept)
    store = open_store(str(tmp_path / "i"), None)
    store.begin(None, keep_staged=True)
    info = store.info()
    store.close()
    on_disk = sum(p.stat().st_size for p in (tmp_path / "i" / "segments").rglob("*") if p.is_file())
    assert info["paragraphs"] == 500 and info["bytes"] == on_disk
    assert np.isclose(info["runs"][0]["paragraphs"], 500)


def test_kill_9_during_forget_leaves_the_index_as_before_or_after(tmp_path):
    fingerprint = Fingerprinter(CONFIG).fingerprint
    kept = [fingerprint(t) for t in texts(19, 3000)]
    refs = [Ref(f"d{i}", f"d{i}", 0) for i in range(3000)]
    pristine = tmp_path / "pristine"
    for run, part in (("r1", slice(0, 1000)), ("r2", slice(1000, 2000)), ("r3", slice(2000, 3000))):
        commit(pristine, run, refs[part], kept[part])
    queries = [fingerprint(t) for t in edited(20, texts(19, 3000)[::10])]

    def state(location: Path) -> tuple[list[str], list]:
        store = open_store(str(location), CONFIG)
        store.begin(None, keep_staged=True)
        try:
            return [r["id"] for r in store.manifest["runs"]], answers(paragraph_index(CONFIG, store=store), queries)
        finally:
            store.close()

    before = state(pristine)
    rng, seen = random.Random(1), set()
    for _ in range(6):
        index = tmp_path / "index"
        shutil.rmtree(index, ignore_errors=True)
        shutil.copytree(pristine, index)
        run = subprocess.Popen([sys.executable, "-m", "cleaner", "index", str(index), "forget", "r2"])
        time.sleep(rng.uniform(0.3, 2.0))
        os.kill(run.pid, signal.SIGKILL)
        run.wait()
        runs, got = state(index)
        if runs == before[0]:
            assert got == before[1]
        else:
            assert runs == ["r1", "r3"]
            after = got
        seen.add(len(runs))
    if 2 not in seen:  # every kill came before the new manifest: finish one to compare
        subprocess.run([sys.executable, "-m", "cleaner", "index", str(index), "forget", "r2"], check=True)
        after = state(index)[1]
    without = paragraph_index(CONFIG)
    without.add_many(refs[:1000], kept[:1000])
    without.add_many(refs[2000:], kept[2000:])
    assert after == answers(without, queries)


def agree_with_entries(location: Path, seed: int) -> None:
    """The committed layer's batch reads (`gather`, `refs`) answer what its per-slot
    `entries` do, for slots in any order, repeated, across its segments or in one."""
    store = open_store(str(location), CONFIG)
    store.begin(None, keep_staged=True)
    committed = store.committed("paragraphs")
    held = np.concatenate([np.asarray(s.slots) for s in committed.segments]).astype(np.int64)
    rng = np.random.default_rng(seed)
    for picked in (rng.choice(held, 40), held[::-1], held[:1], held[-7:], held[:0]):
        entries = committed.entries(picked.tolist())
        flat, lengths = committed.gather(picked)
        assert lengths.tolist() == [len(s) for _, s in entries]
        assert flat.dtype == np.uint32
        assert flat.tolist() == [x for _, s in entries for x in np.asarray(s).tolist()]
        assert committed.refs(picked.tolist()) == [ref for ref, _ in entries]
    store.close()


def test_batch_reads_of_committed_segments_agree_with_entries(tmp_path):
    fingerprint = Fingerprinter(CONFIG).fingerprint
    kept = [fingerprint(t) for t in texts(4, 150)]
    refs = [Ref(f"d{i // 4}", f"d{i // 4}", i % 4 if i % 5 else None) for i in range(150)]
    for run, part in (("r1", slice(0, 50)), ("r2", slice(50, 100)), ("r3", slice(100, 150))):
        commit(tmp_path / "i", run, refs[part], kept[part])
    agree_with_entries(tmp_path / "i", 1)  # three segments
    store = open_store(str(tmp_path / "i"), None)
    store.begin(None, keep_staged=True)
    store.forget("r2")  # one segment whose slots have a gap
    store.close()
    agree_with_entries(tmp_path / "i", 2)
