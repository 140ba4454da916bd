"""Bytes per indexed paragraph, measured with tracemalloc: cleaner's index vs MinHashLSH.

    python bench/dedup_memory.py [--paragraphs 100000] [--words 40] [--datasketch 20000] [--documents BBC]

Makes distinct synthetic paragraphs (random words from a 20,000-word vocabulary, seeded),
fingerprints them first, then measures the memory that inserting them adds to
(1) cleaner's corpus `MemoryIndex` and (2) datasketch `MinHashLSH` (dict storage, the
same bands) holding LeanMinHash entries plus the shingle arrays verification needs, as the
first version of cleaner did. Prints bytes per entry (after inserting, and at the peak,
which includes merging sorted runs) and the projection per million paragraphs. With
`--documents FOLDER`, also the document index over that folder's files (bytes per word).
"""

from __future__ import annotations

import argparse
from pathlib import Path
import random
import tracemalloc

from datasketch import LeanMinHash, MinHashLSH

from cleaner.config import Config
from cleaner.dedup.decide import paragraph_index
from cleaner.dedup.documents import document_index
from cleaner.dedup.fingerprint import SCHEME, Fingerprinter
from cleaner.io.sources import FolderSource
from cleaner.record import Fingerprint, Ref
from cleaner.run.chain import document_steps, prepare


def synthetic(count: int, length: int, config: Config) -> list[Fingerprint]:
    rng = random.Random(1)
    vocabulary = [f"w{i}".encode() for i in range(20_000)]
    fingerprint = Fingerprinter(config).fingerprint_words
    return [fingerprint(rng.choices(vocabulary, k=length), config.ngram) for _ in range(count)]


def measure(insert, fingerprints: list[Fingerprint]) -> tuple[float, float]:
    """(bytes per entry held after all inserts, bytes per entry at the peak)."""
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    holder = insert(fingerprints)
    after, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del holder
    return (after - before) / len(fingerprints), (peak - before) / len(fingerprints)


def cleaner_index(fingerprints: list[Fingerprint]):
    index = paragraph_index(Config())
    for i, fp in enumerate(fingerprints):
        index.add(Ref(f"doc{i // 10}.txt", f"doc{i // 10}.txt", i % 10), fp)
    return index


def datasketch_index(fingerprints: list[Fingerprint]):
    config = Config()
    probe = paragraph_index(config)
    lsh = MinHashLSH(num_perm=config.num_perm, params=(probe.bands, probe.rows))
    refs, shingles, signatures = [], [], []
    for i, fp in enumerate(fingerprints):
        minhash = LeanMinHash(seed=config.seed, hashvalues=fp.signature, scheme=SCHEME)
        lsh.insert(i, minhash)
        refs.append(Ref(f"doc{i // 10}.txt", f"doc{i // 10}.txt", i % 10))
        shingles.append(fp.shingles.copy())
        signatures.append(fp.signature.copy())
    return lsh, refs, shingles, signatures


def document_memory(folder: Path) -> None:
    config = Config(repair="off")
    docs = [d for d in prepare(document_steps(config))(FolderSource(folder, config).documents()) if d.alive]
    words = sum(d.fingerprint.words for d in docs)

    def insert(_):
        index = document_index(config)
        for doc in docs:
            index.add(doc.ref, doc.fingerprint)
        return index

    held, _ = measure(insert, [d.fingerprint for d in docs])
    print(f"document index: {len(docs)} documents of {words / len(docs):.0f} words on average, "
          f"{held:.0f} B/document held, {held * len(docs) / words:.1f} B/word")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--paragraphs", type=int, default=100_000)
    parser.add_argument("--words", type=int, default=40)
    parser.add_argument("--datasketch", type=int, default=20_000, help="entries for the MinHashLSH run")
    parser.add_argument("--documents", type=Path, help="a folder of .txt files for the document index")
    args = parser.parse_args()
    if args.documents:
        document_memory(args.documents)
    config = Config()
    fingerprints = synthetic(max(args.paragraphs, args.datasketch), args.words, config)
    probe = paragraph_index(config)
    print(f"paragraphs of {args.words} words, word {config.ngram}-grams, {config.num_perm} permutations, "
          f"{probe.bands} bands of {probe.rows} rows")
    for name, insert, n in [("cleaner MemoryIndex", cleaner_index, args.paragraphs),
                            ("datasketch MinHashLSH + shingles", datasketch_index, args.datasketch)]:
        held, peak = measure(insert, fingerprints[:n])
        print(f"{name}: {n} entries, {held:.0f} B/entry held, {peak:.0f} B/entry peak "
              f"-> {held * 1e6 / 2**20:.0f} MiB per million paragraphs ({peak * 1e6 / 2**20:.0f} MiB peak)")


if __name__ == "__main__":
    main()
