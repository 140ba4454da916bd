"""CPU time of the dedup decision stage alone (`Deduplicator`), the serial part of a run.

    .venv/bin/python bench/decide_speed.py [--repeats 3] [--digest] SOURCE

SOURCE is a folder of .txt files or a JSONL file (plain, .gz or .zst). Every document is read,
decoded, segmented and fingerprinted first, in memory; then a fresh `Deduplicator` with the
default options decides a copy of them: best of `repeats`, in CPU seconds of this one
process (other jobs on a shared machine disturb that less than wall time). The prepared
documents are frozen out of the garbage collector's sight first (`gc.freeze`): a run holds
only the few batches in flight, where this holds the whole corpus, whose every object a
full collection would otherwise walk again and again (`--no-freeze` measures with it). With
`--digest`, also a SHA-256 of every decision (source, paragraph, removal) in order, to
compare two versions of the code: equal digests mean the same decisions.
"""

from __future__ import annotations

import argparse
import copy
import gc
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
    """sha256 of every decision's repr; a Removal's `shingles`, when None, is left out, so
    digests stay comparable with those taken before the field existed."""
    digest = hashlib.sha256()
    for doc in docs:
        for index, removal in [(None, doc.removal), *((p.index, p.removal) for p in doc.paragraphs)]:
            digest.update(repr((doc.source, index, removal)).replace(", shingles=None)", ")").encode())
    return digest.hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--digest", action="store_true")
    parser.add_argument("--no-freeze", dest="freeze", action="store_false",
                        help="leave the prepared documents to the garbage collector")
    args = parser.parse_args()
    config = Config()
    docs = prepared(args.source, config)
    best, decided = float("inf"), docs
    for _ in range(args.repeats):
        decided = copy.deepcopy(docs)
        if args.freeze:
            gc.collect()
            gc.freeze()
        started = time.process_time()
        for _ in Deduplicator(config)(decided):
            pass
        best = min(best, time.process_time() - started)
        gc.unfreeze()
    paragraphs = sum(len(doc.paragraphs) for doc in docs)
    megabytes = sum(doc.bytes_in for doc in docs) / 1e6
    print(f"{args.source.name}: {len(docs)} documents, {paragraphs} paragraphs, {megabytes:.1f} MB: decided in "
          f"{best:.3f} s CPU (best of {args.repeats}{'' if args.freeze else ', no freeze'}), "
          f"{best / max(1, paragraphs) * 1e6:.1f} us a paragraph, {best / max(megabytes, 1e-9):.4f} s a MB")
    if args.digest:
        print(f"decisions sha256 {decisions_digest(decided)}")


if __name__ == "__main__":
    main()
