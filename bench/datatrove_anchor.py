"""datatrove doing cleaner's job, as its own documentation builds it: the anchor `make bench`
compares against.

Each paragraph (split at blank lines, as cleaner does) is one datatrove Document, so the
dedup is at paragraph level like cleaner's. Four local pipelines, as in datatrove's
examples/minhash_deduplication.py:

1. read -> FTFYFormatter -> JsonlWriter (the repaired text) -> MinhashDedupSignature
2. MinhashDedupBuckets   3. MinhashDedupCluster
4. read the repaired text -> MinhashDedupFilter -> JsonlWriter (the output)

MinhashConfig: word 3-grams like cleaner; 16 buckets x 8 hashes = 128 hashes, cleaner's
num_perm (an S-curve centred near Jaccard (1/16)^(1/8) = 0.71, next to cleaner's 0.7;
datatrove's default is 14 x 8); datatrove decides on bucket collisions alone, without
verifying. A paragraph under cleaner's min_words (5) gets no shingle, so it is kept
unmatched, as cleaner keeps it. The word tokenizer is spaCy's multilingual one that
datatrove ships as `WhitespaceTokenizer` (the English default needs a spaCy model).

    python bench/datatrove_anchor.py SRC WORK [--workers N]

Prints one JSON line of counts on stdout.
"""

from __future__ import annotations

import argparse
import gzip
import json
from pathlib import Path
import re

from datatrove.data import Document
from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.dedup.minhash import (
    MinhashConfig,
    MinhashDedupBuckets,
    MinhashDedupCluster,
    MinhashDedupFilter,
    MinhashDedupSignature,
)
from datatrove.pipeline.formatters import FTFYFormatter
from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.writers import JsonlWriter
from datatrove.utils.word_tokenizers import WordTokenizer
from readers import documents

BLANK_LINES = re.compile(r"\n\s*\n")
CONFIG = MinhashConfig(n_grams=3, num_buckets=16, hashes_per_bucket=8)
MIN_WORDS = 5


class SplitTokenizer(WordTokenizer):
    """Words split on whitespace (datatrove has already lowered case and removed punctuation);
    none for a text under MIN_WORDS words, so it is never matched."""

    def word_tokenize(self, text: str) -> list[str]:
        words = text.split()
        return words if len(words) >= MIN_WORDS else []

    def sent_tokenize(self, text: str) -> list[str]:
        return [text]

    def span_tokenize(self, text: str) -> list[tuple[int, int]]:
        return [(0, len(text))]


class ParagraphReader(PipelineStep):
    """A folder of .txt (or a JSONL file with "text", plain, .gz or .zst), one Document per paragraph; task
    `rank` of `world_size` takes every world_size-th input."""

    name = "paragraph reader"
    type = "READER"

    def __init__(self, src: str) -> None:
        super().__init__()
        self.src = Path(src)

    def run(self, data=None, rank: int = 0, world_size: int = 1):
        for n, (name, text) in enumerate(documents(self.src)):
            if n % world_size != rank:
                continue
            for index, paragraph in enumerate(p.strip() for p in BLANK_LINES.split(text) if p.strip()):
                yield Document(text=paragraph, id=f"{name}#{index}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("src")
    parser.add_argument("work", type=Path)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    work, tasks = args.work, args.workers
    logs = work / "logs"
    stage1 = LocalPipelineExecutor(
        [ParagraphReader(args.src), FTFYFormatter(), JsonlWriter(str(work / "repaired")),
         MinhashDedupSignature(str(work / "signatures"), config=CONFIG, language=SplitTokenizer())],
        tasks=tasks, workers=tasks, logging_dir=str(logs / "1"))
    stage2 = LocalPipelineExecutor(
        [MinhashDedupBuckets(str(work / "signatures"), str(work / "buckets"), config=CONFIG)],
        tasks=CONFIG.num_buckets, workers=tasks, logging_dir=str(logs / "2"), depends=stage1)
    stage3 = LocalPipelineExecutor(
        [MinhashDedupCluster(str(work / "buckets"), str(work / "remove"), config=CONFIG)],
        tasks=1, logging_dir=str(logs / "3"), depends=stage2)
    stage4 = LocalPipelineExecutor(
        [JsonlReader(str(work / "repaired")),
         MinhashDedupFilter(str(work / "remove"), exclusion_writer=JsonlWriter(str(work / "removed"))),
         JsonlWriter(str(work / "output"))],
        tasks=tasks, workers=tasks, logging_dir=str(logs / "4"), depends=stage3)
    stage4.run()
    print(json.dumps(count(work)))


def count(work: Path) -> dict:
    def ids(folder: Path) -> list[str]:
        found = []
        for path in sorted(folder.glob("*.jsonl.gz")):
            with gzip.open(path, "rt", encoding="utf-8") as lines:
                found.extend(json.loads(line)["id"] for line in lines)
        return found

    kept, removed = ids(work / "output"), ids(work / "removed")
    documents = {i.rsplit("#", 1)[0] for i in kept + removed}
    return {"documents": len(documents), "paragraphs_in": len(kept) + len(removed),
            "paragraphs_removed": len(removed), "removed": removed}


if __name__ == "__main__":
    main()
