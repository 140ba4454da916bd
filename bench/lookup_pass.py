"""Lookup + verify passes against a kept index (one built by `bench/index_bench.py --keep-index`):
paragraphs per CPU second of each pass, their median, and a digest of every answer.

    PYTHONPATH=. .venv/bin/python bench/lookup_pass.py INDEX|redis://HOST:PORT/0?prefix=NAME [--passes 3] [--profile 30]

The queries are the real paragraphs of BBC and Reuters (those index_bench.py queries),
BATCH at a time, looked up as the decide stage does (cleaner.dedup.batch.IndexWindow: a
batch's candidates in arrays, the queries the batch cannot change verified ahead), and
every query `loud` there asked with `find`, nothing added: so every query gets its answer.
The digest covers each query's answer (the kept paragraph it matched, the similarities,
exact or not): a change to the lookup that keeps the digest keeps every decision against
this index. The rate is CPU time of this process (time.process_time), so it holds on a
shared machine; the index's pages are read once before the first pass (a warm cache, as
the passes after a run's first batches see it). `--profile N`: cProfile one more pass and
print the top N functions by tottime and by cumtime.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
from pathlib import Path
import pstats
import statistics
import sys
import time

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.index_bench import BATCH, CONFIG, real_paragraphs, windows
from cleaner.dedup.decide import paragraph_index
from cleaner.dedup.index import Index, Match
from cleaner.dedup.sketch import minhash_signatures, permutations
from cleaner.dedup.store import open_store
from cleaner.record import Fingerprint


def answers(index: Index, queries: list[Fingerprint], signatures, ask: bool = True) -> list[Match | None]:
    """The answer of every query, as IndexWindow gives it at the start of its batch; without
    `ask`, only the windows are made (what index_bench.py's batched passes time), and the
    answers are those the windows verified ahead."""
    out: list[Match | None] = []
    for window in windows(index, queries, signatures):
        if ask:
            out += [window.find(row) if loud else None for row, loud in enumerate(window.loud.tolist())]
        else:
            out += [window._verified.get(row) for row in range(len(window.loud))]
    return out


def digest(found: list[Match | None]) -> str:
    """sha256 of every answer: query number, matched reference, similarity, estimate, exact."""
    hashed = hashlib.sha256()
    for number, match in enumerate(found):
        if match is not None:
            ref = match.ref
            line = f"{number}\t{ref.source}\t{ref.id}\t{ref.paragraph}\t{ref.run}\t{match.similarity!r}\t" \
                   f"{match.estimated!r}\t{match.exact}\n"
            hashed.update(line.encode())
    return hashed.hexdigest()


def warm(index_path: Path) -> None:
    """Read every file of the index once, so the first pass does not pay the disk."""
    for path in sorted(index_path.rglob("*.npy")):
        with path.open("rb") as stream:
            while stream.read(1 << 24):
                pass


def stdlib_cprofile():
    """cProfile, with bench/ out of the path first: bench/profile.py would shadow the
    stdlib's `profile`, which cProfile imports."""
    here = str(Path(__file__).resolve().parent)
    sys.path[:] = [p for p in sys.path if str(Path(p or ".").resolve()) != here]
    import cProfile

    return cProfile


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("index", help="an index folder, or redis://HOST:PORT/DB?prefix=NAME")
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--profile", type=int, default=0, help="cProfile one more pass; print the top N")
    parser.add_argument("--window-only", action="store_true",
                        help="time only the windows (lookup, verification ahead), not the queries asked after")
    args = parser.parse_args()
    queries = real_paragraphs()
    if "://" not in args.index:
        warm(Path(args.index))
    store = open_store(args.index, CONFIG)
    store.begin("lookup-pass", keep_staged=False)
    try:
        index = paragraph_index(CONFIG, store=store)
        signatures = functools.partial(minhash_signatures, permutations=permutations(CONFIG.num_perm, CONFIG.seed))
        answers(index, queries[:BATCH], signatures)  # numba's kernels loaded, the segment opened
        ask = not args.window_only
        rates, digests = [], set()
        for number in range(args.passes):
            started = time.process_time()
            found = answers(index, queries, signatures, ask)
            rates.append(len(queries) / (time.process_time() - started))
            digests.add(digest(found))
            print(f"pass {number + 1}: {rates[-1]:,.0f} paragraphs/CPU s, "
                  f"{sum(m is not None for m in found)} of {len(queries)} matched", flush=True)
        print(f"median: {statistics.median(rates):,.0f} paragraphs/CPU s")
        print(f"digest{'' if ask else ' (verified ahead only)'}: {' '.join(sorted(digests))}")
        if args.profile:
            profiler = stdlib_cprofile().Profile(time.process_time)
            profiler.runcall(answers, index, queries, signatures, ask)
            for key in ("tottime", "cumtime"):
                pstats.Stats(profiler).strip_dirs().sort_stats(key).print_stats(args.profile)
    finally:
        store.close()


if __name__ == "__main__":
    main()
