"""CPU seconds per per-document step (decode, limits, normalise, segment, fingerprint) on one core.

    .venv/bin/python bench/steps_speed.py CORPUS [--repeats 3] [--mb 50]

Reads CORPUS with cleaner's own sources into memory first (the documents as the reader
gives them, up to `--mb` MB of input), then runs the chunks of cleaner.run.chain.document_steps
through cleaner.run.executor.apply_steps step by step, timing each step in CPU seconds of
this one process (best of `--repeats`, so other jobs on a shared machine disturb it less).
`CLEANER_KERNELS=numpy` or `compiled` picks the fingerprint path; results: bench/RESULTS.md,
"Per-document steps".
"""

from __future__ import annotations

import argparse
import copy
from pathlib import Path
import time

from cleaner.config import Config
from cleaner.io.sources import open_source
from cleaner.record import batches
from cleaner.run.chain import document_steps
from cleaner.run.executor import CHUNK_BYTES, CHUNK_DOCS

NAMES = ["decode", "limits", "normalise", "segment", "fingerprint"]


def read(corpus: Path, config: Config, limit: int) -> tuple[list, int]:
    started = time.process_time()
    docs, size = [], 0
    for doc in open_source(corpus, config).documents():
        docs.append(doc)
        size += len(doc.raw or b"") if doc.raw is not None else len((doc.text or "").encode())
        if size >= limit:
            break
    print(f"read: {len(docs)} documents, {size / 1e6:.1f} MB, {time.process_time() - started:.2f} CPU s")
    return docs, size


def once(steps: list, chunks: list) -> list[float]:
    spent = [0.0] * len(steps)
    for chunk in chunks:
        docs = copy.deepcopy(chunk)
        for i, step in enumerate(steps):
            started = time.process_time()
            many = getattr(step, "many", None)
            docs = many(docs) if many is not None else [step(doc) for doc in docs]
            spent[i] += time.process_time() - started
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--mb", type=float, default=50.0)
    args = parser.parse_args()
    config = Config()
    docs, size = read(args.corpus, config, int(args.mb * 1e6))
    chunks = list(batches(docs, CHUNK_DOCS, CHUNK_BYTES))
    steps = document_steps(config)
    best = [float("inf")] * len(steps)
    for _ in range(args.repeats):
        best = [min(a, b) for a, b in zip(best, once(steps, chunks), strict=True)]
    for name, spent in zip(NAMES, best, strict=True):
        print(f"{name:12s} {spent:7.2f} CPU s  {size / 1e6 / max(spent, 1e-9):8.1f} MB/s")
    total = sum(best)
    print(f"{'total':12s} {total:7.2f} CPU s  {size / 1e6 / total:8.1f} MB/s")


if __name__ == "__main__":
    main()
