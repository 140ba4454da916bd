"""The script a user writes instead of cleaner: the anchor `make bench` compares against.

ftfy.fix_text on each document, split into paragraphs at blank lines, a datasketch MinHash
per paragraph fed one word 3-gram at a time with `update()`, and one MinHashLSH over the
corpus: query, drop the paragraph if anything comes back, else insert it. Paragraphs under
three words are kept as they are (they have no shingle).

    python bench/naive.py SRC DST      SRC: a folder of .txt, or a .jsonl[.gz|.zst] with "text"

Prints one JSON line of counts on stdout. Same options as cleaner's defaults: 128
permutations, threshold 0.7, word 3-grams.
"""

from __future__ import annotations

import json
from pathlib import Path
import re
import sys

from datasketch import MinHash, MinHashLSH
import ftfy
from readers import documents

NUM_PERM, THRESHOLD, NGRAM = 128, 0.7, 3
WORD = re.compile(r"\w+")
BLANK_LINES = re.compile(r"\n\s*\n")


def main(src: Path, dst: Path) -> None:
    lsh = MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM)
    counts = {"documents": 0, "paragraphs_in": 0, "paragraphs_removed": 0, "removed": []}
    for name, text in documents(src):
        counts["documents"] += 1
        kept = []
        paragraphs = [p.strip() for p in BLANK_LINES.split(ftfy.fix_text(text)) if p.strip()]
        for index, paragraph in enumerate(paragraphs):
            counts["paragraphs_in"] += 1
            words = WORD.findall(paragraph.lower())
            if len(words) < NGRAM:
                kept.append(paragraph)
                continue
            minhash = MinHash(num_perm=NUM_PERM)
            for i in range(len(words) - NGRAM + 1):
                minhash.update(" ".join(words[i:i + NGRAM]).encode("utf-8"))
            if lsh.query(minhash):
                counts["paragraphs_removed"] += 1
                counts["removed"].append(f"{name}#{index}")
                continue
            lsh.insert(f"{name}#{index}", minhash)
            kept.append(paragraph)
        out = dst / (name if name.endswith(".txt") else name + ".txt")
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text("\n\n".join(kept) + "\n", encoding="utf-8")
    print(json.dumps(counts))


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
