"""The persistent index at scale: lookup + verify throughput against N committed paragraphs,
bytes per paragraph, the same in Redis, and the peak RSS of whole runs with --index.

    .venv/bin/python bench/index_bench.py [--paragraphs 10000000] [--redis-paragraphs 1000000]
                                          [--redis-url redis://127.0.0.1:PORT/0] [--skip-runs]

The index is synthetic but built like a real one: the queries are the real paragraphs of
BBC and Reuters (fingerprinted with the default Config), and the first of them are also in
the index (so lookups find exact and near copies and verification does real work); the
other entries have random 64-bit exact keys and 32-bit band keys (what hashes of unique
paragraphs look like) and shingle sets with the shingle counts of the real paragraphs, in
documents of 6 paragraphs with real-looking names. One segment per kind, as after `compact`.
Throughput is CPU time of this one process (one core), a batch of 1024 paragraphs at a
time: `passes`, band keys, lookup_many and verify one paragraph at a time (the per-row
protocol); `batched_passes`, as the decide stage does it (candidates of the whole batch in
arrays over every layer, all verified ahead: cleaner.dedup.batch.IndexWindow).
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
import functools
import json
from pathlib import Path
import shutil
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cleaner.config import Config
from cleaner.dedup.batch import IndexWindow
from cleaner.dedup.columns import Columns as BatchColumns
from cleaner.dedup.decide import paragraph_index
from cleaner.dedup.index import Banding
from cleaner.dedup.segment import Columns
from cleaner.dedup.sketch import minhash_signatures, permutations
from cleaner.dedup.store import open_store, with_run
from cleaner.record import Fingerprint

CONFIG = Config()
BATCH = 1024


def real_paragraphs() -> list[Fingerprint]:
    """The signed paragraph fingerprints of BBC and Reuters, in order."""
    from bench.corpora import available
    from bench.decide_speed import prepared

    fps = []
    for path in available().values():
        for doc in prepared(path, CONFIG):
            fps += [p.fingerprint for p in doc.paragraphs if p.fingerprint is not None and p.fingerprint.words >= 5]
    return fps


def synthetic(n: int, real: list[Fingerprint], seed: int = 1) -> Columns:
    """n entries: the `real` ones first, then random ones alike (see the module docstring)."""
    rng = np.random.default_rng(seed)
    banding = Banding(CONFIG.threshold, CONFIG.num_perm, CONFIG.lsh_recall, CONFIG.seed)
    k = len(real)
    keys = rng.integers(0, 2**63, size=n, dtype=np.uint64)
    keys[:k] = [fp.key for fp in real]
    band_keys = rng.integers(0, 2**32, size=(n, banding.bands), dtype=np.uint64)
    band_keys[:k] = banding.keys(np.stack([fp.signature for fp in real]))
    slots = np.arange(n, dtype=np.uint64)
    bands = (band_keys << np.uint64(32) | slots[:, None]).ravel()
    del band_keys
    bands.sort()
    counts = rng.choice(np.array([len(fp.shingles) for fp in real]), size=n)
    counts[:k] = [len(fp.shingles) for fp in real]
    offsets = np.zeros(n + 1, dtype=np.uint64)
    np.cumsum(counts, out=offsets[1:])
    shingles = rng.integers(0, 2**32, size=int(offsets[-1]), dtype=np.uint32)
    for i, fp in enumerate(real):
        shingles[offsets[i]:offsets[i + 1]] = fp.shingles
    order = np.argsort(keys, kind="stable")
    docs = [(f"crawl/2026-12-01/site-{d % 977}/article-{d}.txt",) * 2 for d in range((n + 5) // 6)]
    return Columns(bands, keys[order], slots[order].astype(np.uint32), slots.astype(np.uint32), offsets, shingles,
                   (np.arange(n) // 6).astype(np.uint32), (np.arange(n) % 6).astype(np.int32), docs)


def publish(store, columns: Columns, n: int) -> None:
    """Write `columns` as one committed run "synthetic" of `store` (begun)."""
    segment = store._write(columns, "synthetic.paragraphs")
    manifest = with_run(store.manifest, "synthetic", {"paragraphs": n, "documents": 0},
                        {"paragraphs": segment})
    if hasattr(store, "root"):
        store._replace(manifest)
    else:
        store._replace(manifest, store.manifest["generation"], [])


def throughput(location: str, queries: list[Fingerprint], passes: int = 2) -> list[tuple[float, int]]:
    """(paragraphs/s of CPU, matches) of lookup + verify of every query, per pass."""
    store = open_store(location, CONFIG)
    store.begin("bench", keep_staged=False)
    index = paragraph_index(CONFIG, store=store)
    results = []
    for _ in range(passes):
        started, matches = time.process_time(), 0
        for start in range(0, len(queries), BATCH):
            batch = queries[start:start + BATCH]
            for fp, found in zip(batch, index.lookup_many(batch), strict=True):
                matches += index.verify(fp, found) is not None
        results.append((len(queries) / (time.process_time() - started), matches))
    store.close()
    return results


def throughput_batched(location: str, queries: list[Fingerprint], passes: int = 2) -> list[tuple[float, int]]:
    """(paragraphs/s of CPU, matches) as the decide stage looks up: a batch's band keys and
    candidates in arrays over every layer, and every candidate verified ahead for the whole
    batch (cleaner.dedup.batch.IndexWindow), BATCH paragraphs a time, nothing added."""
    store = open_store(location, CONFIG)
    store.begin("bench", keep_staged=False)
    index = paragraph_index(CONFIG, store=store)
    signatures = functools.partial(minhash_signatures, permutations=permutations(CONFIG.num_perm, CONFIG.seed))
    results = []
    for _ in range(passes):
        started, matches = time.process_time(), 0
        for window in windows(index, queries, signatures):
            matches += sum(match is not None for match in window._verified.values())
            matches += len(window._exact_before)
        results.append((len(queries) / (time.process_time() - started), matches))
    store.close()
    return results


def windows(index, queries: list[Fingerprint], signatures) -> Iterator[IndexWindow]:
    """Each BATCH of `queries` as the decide stage's window over `index` (nothing added)."""
    for start in range(0, len(queries), BATCH):
        batch = queries[start:start + BATCH]
        rows = np.arange(len(batch))
        columns = BatchColumns(index.banding, batch, rows, np.zeros(len(batch), dtype=np.int32),
                               [(f"q{start + i}", f"q{start + i}") for i in range(len(batch))])
        yield IndexWindow(index, columns, rows, signatures)


def memory_figures(real: list[Fingerprint], queries: list[Fingerprint]) -> dict:
    """The same loop against an in-memory index holding only the real paragraphs: the
    cost of the loop itself (lookups, verification, a Ref per match), for comparison."""
    from cleaner.record import Ref

    index = paragraph_index(CONFIG)
    index.add_many([Ref(f"d{i}", f"d{i}", 0) for i in range(len(real))], real)
    started, matches = time.process_time(), 0
    for start in range(0, len(queries), BATCH):
        batch = queries[start:start + BATCH]
        for fp, found in zip(batch, index.lookup_many(batch), strict=True):
            matches += index.verify(fp, found) is not None
    return {"paragraphs": len(real), "rate": round(len(queries) / (time.process_time() - started)), "hits": matches}


def disk_figures(work: Path, n: int, real: list[Fingerprint], queries: list[Fingerprint],
                 reuse: Path | None = None) -> dict:
    """Build the index in `work` (or reuse one an earlier run of this bench built) and measure it."""
    location = reuse or work / "index"
    store = open_store(str(location), CONFIG)
    store.begin("build", keep_staged=False)
    started = time.perf_counter()
    if reuse is None:
        publish(store, synthetic(n, real), n)
    built = time.perf_counter() - started
    size = store.size()
    n = store.info()["paragraphs"]
    store.close()
    started = time.perf_counter()
    opened = open_store(str(location), CONFIG)
    opened.begin("open", keep_staged=False)
    opened.committed("paragraphs")  # reads every file once to check its checksum
    opened.close()
    open_seconds = time.perf_counter() - started
    return {"paragraphs": n, "build_seconds": round(built, 1), "open_seconds": round(open_seconds, 1),
            "bytes_per_paragraph": round(size / n, 1),
            "files": {k: v[0] for k, v in json.loads((location / "manifest.json").read_text())["segments"]
                      ["paragraphs"][0]["files"].items()},
            "passes": [(round(rate), hits) for rate, hits in throughput(str(location), queries)],
            "batched_passes": [(round(rate), hits) for rate, hits in throughput_batched(str(location), queries)],
            "bbc_run_against_it": measured_run(work, location), "bbc_run_alone": measured_run(work, None)}


def measured_run(work: Path, index: Path | None) -> dict:
    """`cleaner clean` of BBC (5 MB), against `index` or alone: wall seconds, peak RSS."""
    from bench.corpora import available
    from bench.measure import run

    shutil.rmtree(work / "bbc-out", ignore_errors=True)
    command = [sys.executable, "-m", "cleaner", "clean", str(available()["bbc"]), str(work / "bbc-out"), "-q"]
    manifest = (index / "manifest.json").read_bytes() if index else b""
    measured = run(command + (["--index", str(index)] if index else []))
    if index:  # leave the index as it was (the run's segment is collected at the next open)
        (index / "manifest.json").write_bytes(manifest)
    return {"seconds": round(measured.seconds, 2), "peak_mb": round(measured.peak_mb),
            "returncode": measured.returncode}


def redis_figures(url: str, n: int, real: list[Fingerprint], queries: list[Fingerprint]) -> dict:
    location = f"{url}?prefix=bench{time.time_ns()}"
    store = open_store(location, CONFIG)
    store.begin("build", keep_staged=False)
    before = store.client.info("memory")["used_memory"]
    started = time.perf_counter()
    publish(store, synthetic(n, real), n)
    built = time.perf_counter() - started
    used = store.client.info("memory")["used_memory"] - before
    store.close()
    return {"paragraphs": n, "load_seconds": round(built, 1), "bytes_per_paragraph": round(used / n, 1),
            "passes": [(round(rate), hits) for rate, hits in throughput(location, queries)],
            "batched_passes": [(round(rate), hits) for rate, hits in throughput_batched(location, queries)]}


def run_rss(work: Path) -> list[dict]:
    """Peak RSS and time of `cleaner clean` on Reuters x1 and x4, without and with --index."""
    from bench.corpora import DATA, corpus
    from bench.measure import run

    rows = []
    for scale in (1, 4):
        source = corpus("reuters", DATA / "reuters21578.jsonl.gz", scale, work)
        for index in (None, work / f"runs-index-{scale}"):
            shutil.rmtree(work / "out", ignore_errors=True)
            command = [sys.executable, "-m", "cleaner", "clean", str(source.path), str(work / "out"), "-q"]
            measured = run(command + (["--index", str(index)] if index else []))
            rows.append({"corpus": f"reuters x{scale}", "mb": round(source.mb, 1), "index": bool(index),
                         "seconds": round(measured.seconds, 2), "peak_mb": round(measured.peak_mb),
                         "returncode": measured.returncode})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--paragraphs", type=int, default=10_000_000)
    parser.add_argument("--redis-paragraphs", type=int, default=1_000_000)
    parser.add_argument("--redis-url", default=None)
    parser.add_argument("--skip-runs", action="store_true")
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--reuse-index", type=Path, default=None, help="an index built before")
    parser.add_argument("--keep-index", action="store_true",
                        help="keep the index built (WORK/index-bench-*/index) for --reuse-index")
    args = parser.parse_args()
    queries = real_paragraphs()
    real = queries[:len(queries) // 2]
    work = Path(tempfile.mkdtemp(prefix="index-bench-", dir=args.work))
    try:
        out = {"queries": len(queries), "in_index": len(real), "memory": memory_figures(real, queries),
               "disk": disk_figures(work, args.paragraphs, real, queries, args.reuse_index)}
        print(json.dumps(out, indent=1), flush=True)
        if args.redis_url:
            out["redis"] = redis_figures(args.redis_url, args.redis_paragraphs, real, queries)
            print(json.dumps(out["redis"], indent=1), flush=True)
        if not args.skip_runs:
            out["runs"] = run_rss(work)
            print(json.dumps(out["runs"], indent=1), flush=True)
    finally:
        clean_up(work, keep=args.keep_index and args.reuse_index is None)


def clean_up(work: Path, keep: bool) -> None:
    """Delete `work`, or (`keep`) all of it but the index it built, whose path is printed."""
    if not keep:
        shutil.rmtree(work, ignore_errors=True)
        return
    for child in work.iterdir():
        if child.name != "index":
            shutil.rmtree(child, ignore_errors=True) if child.is_dir() else child.unlink()
    print(f"index kept: {work / 'index'}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
