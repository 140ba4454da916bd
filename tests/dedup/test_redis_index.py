"""The Redis index (cleaner.dedup.redis_index) against a real redis-server, started here on
127.0.0.1 and a free port, stopped by its process id. Runs with CLEANER_REDIS=1 (make test-redis)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest

from cleaner.config import Config
from cleaner.dedup.decide import paragraph_index
from cleaner.dedup.fingerprint import Fingerprinter
from cleaner.dedup.store import open_store
from cleaner.errors import OutputError, UsageError
from cleaner.record import Ref
from tests.dedup.test_disk_index import answers, commit, edited, texts
from tests.incremental import corpus, split_and_whole, without_runs, write_docs

pytestmark = [pytest.mark.redis,
              pytest.mark.skipif(os.environ.get("CLEANER_REDIS") != "1" or shutil.which("redis-server") is None,
                                 reason="needs CLEANER_REDIS=1 and redis-server (make test-redis)")]
CONFIG = Config()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def redis_server(folder: Path):
    """A redis-server of its own on 127.0.0.1:free port, without persistence; its URL."""
    port = free_port()
    server = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                               "--appendonly", "no", "--dir", str(folder)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
            assert server.poll() is None and time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)
        yield server, f"redis://127.0.0.1:{port}/0"
    finally:
        if server.poll() is None:
            os.kill(server.pid, signal.SIGTERM)
        server.wait()


@pytest.fixture
def redis_url(tmp_path):
    with redis_server(tmp_path) as (_, url):
        yield url


def test_committed_runs_in_redis_answer_as_one_memory_index(redis_url):
    fingerprint = Fingerprinter(CONFIG).fingerprint
    kept = [fingerprint(t) for t in texts(5, 300)]
    refs = [Ref(f"d{i}", f"d{i}", 0) for i in range(300)]
    url = f"{redis_url}?prefix=t1"
    commit(url, "one", refs[:100], kept[:100])
    commit(url, "two", refs[100:], kept[100:])
    memory = paragraph_index(CONFIG)
    memory.add_many(refs, kept)
    store = open_store(url, CONFIG)
    store.begin("three", keep_staged=False)
    queries = [fingerprint(t) for t in edited(5, texts(5, 300)[::3])]
    got = answers(paragraph_index(CONFIG, store=store), queries)
    store.close()
    assert got == answers(memory, queries) and sum(a is not None and not a[3] for a in got) > 5
    store = open_store(url, None)
    store.begin(None, keep_staged=True)
    store.compact()
    assert store.info()["segments"]["paragraphs"] == 1
    store.close()
    store = open_store(url, CONFIG)
    store.begin("four", keep_staged=False)
    assert answers(paragraph_index(CONFIG, store=store), queries) == got
    store.close()


def test_a_then_b_through_redis_equals_one_run(tmp_path, redis_url):
    docs = corpus(21, 60)
    got, want, _, _ = split_and_whole(tmp_path, docs[:25], docs[25:], f"{redis_url}?prefix=ab")
    assert without_runs(got, "A") == want
    assert any("run" in (r["duplicate_of"] or {}) for r in got)


def test_a_config_mismatch_is_refused(tmp_path, redis_url):
    fingerprint = Fingerprinter(CONFIG).fingerprint
    commit(f"{redis_url}?prefix=cfg", "one", [Ref("a", "a", 0)], [fingerprint(texts(1, 1)[0])])
    store = open_store(f"{redis_url}?prefix=cfg", Config(threshold=0.8))
    with pytest.raises(UsageError, match=r"threshold=0\.7, this run has threshold=0\.8"):
        store.begin("two", keep_staged=False)
    other = open_store(f"{redis_url}?prefix=other", Config(threshold=0.8))  # another prefix: another index
    other.begin("two", keep_staged=False)
    other.close()


def test_redis_killed_mid_run_is_exit_3_in_one_line_and_nothing_complete(tmp_path):
    write_docs(tmp_path / "B", "b", corpus(8, 3000, pool=200))
    with redis_server(tmp_path) as (server, url):
        run = subprocess.Popen([sys.executable, "-m", "cleaner", "clean", str(tmp_path / "B"), str(tmp_path / "out"),
                                "--index", f"{url}?prefix=kill", "--workers", "1", "-q"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        while not (tmp_path / "out" / ".cleaner" / "checkpoint.pkl").exists():  # begun: the index is open
            assert run.poll() is None, run.stderr.read()  # type: ignore[union-attr]
            time.sleep(0.01)
        os.kill(server.pid, signal.SIGKILL)
        _, err = run.communicate(timeout=60)
    assert run.returncode == 3, err
    assert len(err.strip().splitlines()) == 1 and "Redis failed" in err and "nothing was committed" in err
    assert not (tmp_path / "out" / ".cleaner" / "_SUCCESS").exists()


def test_a_second_run_is_refused_while_the_first_holds_the_index(redis_url):
    first = open_store(f"{redis_url}?prefix=lock", CONFIG)
    first.begin("first", keep_staged=False)
    second = open_store(f"{redis_url}?prefix=lock", CONFIG)
    with pytest.raises(UsageError, match="in use by run first"):
        second.begin("second", keep_staged=False)
    first.close()
    assert second.begin("second", keep_staged=False) == "second"  # free again once the first is done
    second.close()


def test_compact_deletes_the_spills_of_a_run_killed_before_staging_and_its_resume_stops(redis_url):
    """A run that spilled, then died before `prepare`: only its checkpoint named the spills.
    compact deletes their keys and leaves the committed runs answering as before; a resume
    of that run is one OutputError, not a lookup against missing segments."""
    import redis

    fingerprint = Fingerprinter(CONFIG).fingerprint
    kept = [fingerprint(t) for t in texts(4, 120)]
    url = f"{redis_url}?prefix=sweep"
    commit(url, "one", [Ref(f"d{i}", f"d{i}", 0) for i in range(60)], kept[:60])
    dead = open_store(url, CONFIG, spill_bytes=1 << 12)
    dead.begin("dead", keep_staged=False)
    index = paragraph_index(CONFIG, store=dead)
    index.add_many([Ref(f"e{i}", f"e{i}", 0) for i in range(60)], kept[60:])
    spilled = list(index.spilled)
    dead.close()  # the lock goes with it here; a killed run's expires
    client = redis.Redis.from_url(redis_url)
    assert spilled and all(client.exists(f"sweep:{s['path']}:e") for s in spilled)
    store = open_store(url, None)
    store.begin(None, keep_staged=True)
    before = answers(paragraph_index(CONFIG, store=store), kept)
    store.compact()
    store.close()
    assert not any(s["path"] in key.decode() for key in client.scan_iter(match="sweep:*") for s in spilled)
    store = open_store(url, CONFIG)
    store.begin("later", keep_staged=False)
    assert answers(paragraph_index(CONFIG, store=store), kept) == before
    store.close()
    resumed = open_store(url, CONFIG)
    resumed.begin("dead", keep_staged=True)
    with pytest.raises(OutputError, match="spilled segments are gone"):
        resumed.reopen("paragraphs", spilled)
    resumed.close()


def test_bucketed_hashes_are_listpacks_and_old_plain_hashes_still_answer(redis_url):
    """Segments written before buckets (one plain hash of each kind) and bucketed ones answer
    together as one memory index; after compact only the merged segment's keys are left."""
    import redis

    from cleaner.dedup import redis_layout

    fingerprint = Fingerprinter(CONFIG).fingerprint
    kept = [fingerprint(t) for t in texts(7, 300)]
    refs = [Ref(f"d{i}", f"d{i}", 0) for i in range(300)]
    url = f"{redis_url}?prefix=bk"
    commit(url, "old", refs[:150], kept[:150])  # plain hashes: the default, and the layout before buckets
    url += "&bucket-fields=64"
    commit(url, "new", refs[150:], kept[150:])
    client = redis.Redis.from_url(redis_url)
    store = open_store(url, None)
    store.begin(None, keep_staged=True)
    old, new = (store.manifest["segments"]["paragraphs"][i] for i in (0, 1))
    assert "buckets" not in old and client.exists(f"bk:{old['path']}:b")
    assert new["buckets"]["b"] > 1 and not client.exists(f"bk:{new['path']}:b")
    encodings = {client.object("encoding", name) for name in redis_layout.hash_names(store, new, "b")}
    assert encodings == {b"listpack"}
    memory = paragraph_index(CONFIG)
    memory.add_many(refs, kept)
    queries = [fingerprint(t) for t in edited(7, texts(7, 300)[::3])]
    want = answers(memory, queries)
    assert answers(paragraph_index(CONFIG, store=store), queries) == want
    store.compact()
    store.close()
    store = open_store(url, CONFIG)
    store.begin("later", keep_staged=False)
    (merged,) = store.manifest["segments"]["paragraphs"]
    assert answers(paragraph_index(CONFIG, store=store), queries) == want
    store.close()
    left = {key.decode() for key in client.scan_iter(match="bk:*")}
    assert not any(old["path"] in key or new["path"] in key for key in left)
    assert merged["buckets"]["b"] > 1 and set(redis_layout.hash_names(store, merged, "b")) <= left


def test_bucket_fields_past_a_listpack_and_unknown_parameters_are_refused(redis_url):
    with pytest.raises(UsageError, match="bucket-fields must be a whole number from 0"):
        open_store(f"{redis_url}?prefix=x&bucket-fields=500", CONFIG)
    with pytest.raises(UsageError, match="unknown parameter 'bucket_fields'"):
        open_store(f"{redis_url}?prefix=x&bucket_fields=64", CONFIG)
    store = open_store(f"{redis_url}?prefix=x&socket_timeout=5", CONFIG)  # redis-py's own: passed on
    store.begin("one", keep_staged=False)
    store.close()


@pytest.mark.parametrize("layout", ["", "&bucket-fields=16"])
def test_forget_drops_one_run_and_the_others_answer_as_before(redis_url, layout):
    """forget B of A, B, C: A and C answer as one memory index of A and C, and every band
    key's slots in the rewritten segment are ascending and none of them is B's."""
    import numpy as np

    from cleaner.dedup import redis_compact

    fingerprint = Fingerprinter(CONFIG).fingerprint
    kept = [fingerprint(t) for t in texts(9, 240)]
    refs = [Ref(f"d{i}", f"d{i}", 0) for i in range(240)]
    url = f"{redis_url}?prefix=fg{layout}"
    for number, run in enumerate("ABC"):
        commit(url, run, refs[number * 80:(number + 1) * 80], kept[number * 80:(number + 1) * 80])
    store = open_store(url, None)
    store.begin(None, keep_staged=True)
    first, end = next(r for r in store.manifest["runs"] if r["id"] == "B")["paragraphs"]
    store.forget("B")
    (merged,) = store.manifest["segments"]["paragraphs"]
    slots = [np.frombuffer(value, dtype="<u4") for chunk in redis_compact.scan(store, merged, "b")
             for _, value in chunk]
    store.close()
    assert all((np.diff(s.astype(np.int64)) > 0).all() for s in slots)
    flat = np.concatenate(slots)
    assert not ((flat >= first) & (flat < end)).any() and len(np.unique(flat)) == 160
    memory = paragraph_index(CONFIG)
    memory.add_many(refs[:80] + refs[160:], kept[:80] + kept[160:])
    queries = [fingerprint(t) for t in edited(9, texts(9, 240)[::2])]
    store = open_store(url, CONFIG)
    store.begin("later", keep_staged=False)
    assert answers(paragraph_index(CONFIG, store=store), queries) == answers(memory, queries)
    assert store.info()["paragraphs"] == 160
    store.close()
