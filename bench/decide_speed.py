"""CPU time of the dedup decision stage alone (`Deduplicator`), the serial part of a run.

    .venv/bin/python bench/decide_speed.py [--repeats 3] [--digest] SOURCE

SOURCE is a folder of .txt files or a JSONL file (plain, .gz or .zst). Every document is read,
decoded, segmented and fingerprinted first, in memory; then a fresh `Deduplicator` with the
default options decides a copy of them: best of `repeats`, in CPU seconds of this one
process (other jobs on a shared machine disturb that less than wall time). With
`--digest`, also a SHA-256 of every decision (source, paragraph, removal) in order, to
compare two versions of the code: equal digests mean the same decisions.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
from pathlib import Path
import time

from cleaner.config import Config
from cleaner.dedup.decide import Deduplicator
from cleaner.io.record_reader import open_jsonl, read_jsonl
from cleaner.io.sources import FolderSource
from cleaner.record import Document
from cleaner.run.chain import compose, document_steps, prepare


def prepared(source: Path, config: Config) -> list[Document]:
    if source.is_dir():
        docs = FolderSource(source, config).documents()
    else:
        docs = read_jsonl(open_jsonl(source), source.name, config)
    return list(compose(docs, prepare(document_steps(config))))


def decisions_digest(docs: list[Document]) -> str:
    digest = hashlib.sha256()
    for doc in docs:
        digest.update(repr((doc.source, None, doc.removal)).encode())
        for paragraph in doc.paragraphs:
            digest.update(repr((doc.source, paragraph.index, paragraph.removal)).encode())
    return digest.hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--digest", action="store_true")
    args = parser.parse_args()
    config = Config()
    docs = prepared(args.source, config)
    best, decided = float("inf"), docs
    for _ in range(args.repeats):
        decided = copy.deepcopy(docs)
        started = time.process_time()
        for _ in Deduplicator(config)(decided):
            pass
        best = min(best, time.process_time() - started)
    paragraphs = sum(len(doc.paragraphs) for doc in docs)
    print(f"{args.source.name}: {len(docs)} documents, {paragraphs} paragraphs: decided in {best:.3f} s CPU "
          f"(best of {args.repeats}), {best / max(1, paragraphs) * 1e6:.0f} us a paragraph")
    if args.digest:
        print(f"decisions sha256 {decisions_digest(decided)}")


if __name__ == "__main__":
    main()
