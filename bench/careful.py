"""The script a careful user writes: datasketch used the fast way, the second anchor of the bench.

Like bench/naive.py (ftfy.fix_text on each document, paragraphs at blank lines, word
3-grams, 128 permutations, one MinHashLSH at threshold 0.7, keep the first copy), but as
someone who has read datasketch's docs: every paragraph of a document is sketched in one
`MinHash.bulk` call (the permutations are set up once, the hashing vectorised), shingles
are a set, paragraphs under cleaner's `min_words` (5) are kept without being matched, and
the output is one JSONL file written through a buffered stream instead of a file per document.

    python bench/careful.py SRC DST      SRC: a folder of .txt, or a .jsonl[.gz|.zst] with "text"

Prints one JSON line of counts on stdout.
"""

from __future__ import annotations

import json
from pathlib import Path
import re
import sys

from datasketch import MinHash, MinHashLSH
import ftfy
from readers import documents

NUM_PERM, THRESHOLD, NGRAM, MIN_WORDS = 128, 0.7, 3, 5
WORD = re.compile(r"\w+")
BLANK_LINES = re.compile(r"\n\s*\n")


def shingles(paragraph: str) -> set[bytes] | None:
    """The word 3-grams of a paragraph, or None when it has fewer than MIN_WORDS words."""
    words = WORD.findall(paragraph.lower())
    if len(words) < MIN_WORDS:
        return None
    return {" ".join(words[i:i + NGRAM]).encode("utf-8") for i in range(len(words) - NGRAM + 1)}


def dedup(name: str, paragraphs: list[str], lsh: MinHashLSH, counts: dict) -> list[str]:
    """The paragraphs of one document that are no near copy of an earlier kept one."""
    sets = [shingles(p) for p in paragraphs]
    hashed = iter(MinHash.bulk([s for s in sets if s is not None], num_perm=NUM_PERM))
    kept = []
    for index, (paragraph, shingle_set) in enumerate(zip(paragraphs, sets, strict=True)):
        if shingle_set is not None:
            minhash = next(hashed)
            if lsh.query(minhash):
                counts["paragraphs_removed"] += 1
                counts["removed"].append(f"{name}#{index}")
                continue
            lsh.insert(f"{name}#{index}", minhash, check_duplication=False)
        kept.append(paragraph)
    return kept


def main(src: Path, dst: Path) -> None:
    lsh = MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM)
    counts = {"documents": 0, "paragraphs_in": 0, "paragraphs_removed": 0, "removed": []}
    dst.mkdir(parents=True, exist_ok=True)
    with open(dst / "out.jsonl", "w", encoding="utf-8", buffering=1 << 20) as out:
        for name, text in documents(src):
            counts["documents"] += 1
            paragraphs = [p.strip() for p in BLANK_LINES.split(ftfy.fix_text(text)) if p.strip()]
            counts["paragraphs_in"] += len(paragraphs)
            kept = dedup(name, paragraphs, lsh, counts)
            out.write(json.dumps({"id": name, "text": "\n\n".join(kept)}, ensure_ascii=False) + "\n")
    print(json.dumps(counts))


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
