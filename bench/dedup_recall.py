"""Recall of the paragraph index at its threshold, on real paragraphs with synthetic edits.

    python bench/dedup_recall.py [BBC_FOLDER] [--threshold 0.7] [--pairs 2000] [--width 0.02]

Takes paragraphs of 20+ words from the BBC corpus, edits each (random word replacements)
until its true Jaccard with the original lies in [threshold, threshold + width), indexes the
originals, and counts how many edited copies the index finds. It prints the recall of the
LSH bands (the pair shares a band), of the index (`find` returns the original), and what
datasketch's own banding for that threshold would have made a candidate.
"""

from __future__ import annotations

import argparse
from pathlib import Path
import random

from datasketch import MinHashLSH
import numpy as np

from cleaner.config import Config
from cleaner.dedup.decide import paragraph_index
from cleaner.dedup.fingerprint import Fingerprinter, jaccard, shingle_hashes, words
from cleaner.record import Ref
from cleaner.text.segment import split_paragraphs

DEFAULT_BBC = Path(__file__).resolve().parents[2] / "shared" / "data" / "bbc"


def paragraphs(folder: Path, min_words: int = 20) -> list[list[bytes]]:
    seen, out = set(), []
    for path in sorted(folder.rglob("*.txt")):
        for text in split_paragraphs(path.read_bytes().decode("utf-8", "replace")):
            tokens = words(text)
            if len(tokens) >= min_words and tuple(tokens) not in seen:
                seen.add(tuple(tokens))
                out.append(tokens)
    return out


def edit_to(tokens: list[bytes], low: float, high: float, ngram: int, rng: random.Random) -> list[bytes] | None:
    """Replace random words one at a time until the Jaccard with `tokens` is in [low, high)."""
    original, edited = shingle_hashes(tokens, ngram), list(tokens)
    for _ in range(len(tokens)):
        edited[rng.randrange(len(edited))] = f"edit{rng.randrange(10**6)}".encode()
        similarity = jaccard(original, shingle_hashes(edited, ngram))
        if similarity < low:
            return None
        if similarity < high:
            return edited
    return None


def band_hit(a: np.ndarray, b: np.ndarray, bands: int, rows: int) -> bool:
    same = (a[: bands * rows] == b[: bands * rows]).reshape(bands, rows)
    return bool(same.all(axis=1).any())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("bbc", nargs="?", type=Path, default=DEFAULT_BBC)
    parser.add_argument("--threshold", type=float, default=0.7)
    parser.add_argument("--pairs", type=int, default=2000)
    parser.add_argument("--width", type=float, default=0.02, help="pairs' Jaccard lies in [t, t + width)")
    args = parser.parse_args()
    config = Config(threshold=args.threshold)
    fingerprint = Fingerprinter(config).fingerprint_words
    rng = random.Random(1)
    pairs = []
    for tokens in paragraphs(args.bbc):
        edited = edit_to(tokens, args.threshold, args.threshold + args.width, config.ngram, rng)
        if edited is not None:
            pairs.append((fingerprint(tokens, config.ngram), fingerprint(edited, config.ngram)))
        if len(pairs) == args.pairs:
            break
    index = paragraph_index(config)
    for i, (original, _) in enumerate(pairs):
        index.add(Ref(str(i), str(i), 0), original)
    ours = datasketch = found = 0
    theirs = MinHashLSH(threshold=args.threshold, num_perm=config.num_perm)
    for i, (original, edited) in enumerate(pairs):
        ours += band_hit(original.signature, edited.signature, index.bands, index.rows)
        datasketch += band_hit(original.signature, edited.signature, theirs.b, theirs.r)
        match = index.find(edited)
        found += match is not None and match.ref.source == str(i)
    n = len(pairs)
    print(f"{n} pairs at Jaccard [{args.threshold}, {args.threshold + args.width:.2f}) of word {config.ngram}-grams, "
          f"{config.num_perm} permutations")
    print(f"cleaner bands b={index.bands} r={index.rows}: candidate recall {ours / n:.4f}, "
          f"found by the index {found / n:.4f}")
    print(f"datasketch bands b={theirs.b} r={theirs.r}: candidate recall {datasketch / n:.4f}")


if __name__ == "__main__":
    main()
