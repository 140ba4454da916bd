"""A corpus of unique prose at any size, with known injected copies: the input of `make bench-scale`.

The shared corpora (BBC folder, Reuters JSONL) are split into sentences, each turned into a
template whose numbers (always) and capitalised names (half the time) are filled from pools
on every use, so a sentence used many times reads differently each time. Articles are 3-9
paragraphs of 30-110 words and at least 3 sampled sentences of 6-40 words (so no sentence
dominates a paragraph: two paragraphs sharing one stay far below a Jaccard of 0.7). Copies are injected at known rates:

- document level: an earlier article again, exactly or with 1 word in 100 replaced (near);
- paragraph level: an earlier paragraph of the same article or of an earlier one, exactly
  or with 1 word in 30 replaced (near: Jaccard of word 3-grams about 0.8, above 0.7).

Copy sources are originals only (never a copy), drawn by reservoir sampling from everything
generated so far, so the stream stays in bounded memory. Output: OUT (`.jsonl.zst`, fields
id and text), OUT's ground truth `<stem>.truth.jsonl` (one line per copy: which doc or
paragraph copies which, exact or near) and `<stem>.meta.json` (parameters and counts; deterministic too);
with `--txt DIR`, the same articles as DIR/NNN/<id>.txt. Same seed and size, same bytes.

    python bench/generate.py bench/work/scale-200MB.jsonl.zst --size 200MB [--seed 17] [--txt DIR]
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from dataclasses import dataclass, field
import gzip
import json
from pathlib import Path
import random
import re
import sys
import time

import zstandard

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
RATES = {"doc_exact": 0.01, "doc_near": 0.01, "para_exact_within": 0.005, "para_near_within": 0.005,
         "para_exact_across": 0.015, "para_near_across": 0.015}
RESERVOIR_DOCS, RESERVOIR_PARAGRAPHS = 4096, 16384
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'])")
SLOT = re.compile(r"\d+|(?<=\s)[A-Z][a-z]{2,}\b")
BLANK_LINES = re.compile(r"\n\s*\n")
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f<>{}|\\]")
WORD = re.compile(r"[a-z]{3,}")


@dataclass
class Pools:
    """Sentence templates (format string, slot kinds, original names) and the fill pools."""

    templates: list[tuple[str, tuple[str, ...]]]
    names: list[str]
    words: list[str]


def source_texts(data: Path = DATA) -> Iterator[str]:
    """Every article of the shared corpora, in a fixed order."""
    for path in sorted((data / "bbc").rglob("*.txt")):
        yield path.read_bytes().decode("utf-8", errors="replace")
    reuters = data / "reuters21578.jsonl.gz"
    if reuters.exists():
        with gzip.open(reuters, "rt", encoding="utf-8") as lines:
            yield from (json.loads(line)["text"] for line in lines)


def sentences(texts: Iterator[str]) -> Iterator[str]:
    """Whole sentences of 6-40 words, whitespace collapsed, each once (first occurrence)."""
    seen: dict[str, None] = {}
    for block in (block for text in texts for block in BLANK_LINES.split(text)):
        for sentence in SENTENCE_END.split(" ".join(block.split())):
            words = sentence.count(" ") + 1
            if 6 <= words <= 40 and sentence[-1] in ".!?\"'" and not CONTROL.search(sentence) \
                    and "\ufffd" not in sentence and sentence not in seen:
                seen[sentence] = None
                yield sentence


def template(sentence: str, names: dict[str, None]) -> tuple[str, tuple[str, ...]]:
    """`sentence` as a format string: each number becomes a slot "#<digits>", each name "@<name>"."""
    kinds: list[str] = []

    def slot(match: re.Match[str]) -> str:
        token = match.group()
        if token.isdigit():
            kinds.append(f"#{len(token)}")
        else:
            kinds.append("@" + token)
            names.setdefault(token, None)
        return "{}"

    return SLOT.sub(slot, sentence), tuple(kinds)


def load_pools(data: Path = DATA) -> Pools:
    """Templates, names and words of the shared corpora."""
    names: dict[str, None] = {}
    words: dict[str, None] = {}
    templates = []
    for sentence in sentences(source_texts(data)):
        templates.append(template(sentence, names))
        for word in WORD.findall(sentence):
            words.setdefault(word, None)
    if not templates:
        sys.exit(f"generate: no sentences under {data}")
    return Pools(templates, list(names), list(words))


@dataclass
class Reservoir:
    """A uniform sample of at most `size` items of everything offered so far."""

    size: int
    items: list = field(default_factory=list)
    seen: int = 0

    def offer(self, item: object, rng: random.Random) -> None:
        if len(self.items) < self.size:
            self.items.append(item)
        else:
            slot = rng.randrange(self.seen + 1)
            if slot < self.size:
                self.items[slot] = item
        self.seen += 1


class Generator:
    """Articles one at a time; `truth` collects the copies injected into the last one."""

    def __init__(self, pools: Pools, seed: int, rates: dict[str, float] = RATES) -> None:
        self.pools, self.rates = pools, rates
        self.rng = random.Random(seed)
        self.docs = Reservoir(RESERVOIR_DOCS)
        self.paragraphs = Reservoir(RESERVOIR_PARAGRAPHS)
        self.count = 0
        self.truth: list[dict] = []

    def sentence(self) -> str:
        rng, pools = self.rng, self.pools
        fmt, kinds = pools.templates[rng.randrange(len(pools.templates))]
        values = []
        for kind in kinds:
            if kind[0] == "#":
                digits = int(kind[1:])
                values.append(str(rng.randrange(10 ** (digits - 1) if digits > 1 else 0, 10 ** digits)))
            else:
                values.append(kind[1:] if rng.random() < 0.5 else pools.names[rng.randrange(len(pools.names))])
        return fmt.format(*values)

    def paragraph(self) -> str:
        """A new paragraph of at least 30 (up to about 110) words and 3 sentences: with one or two, two
        paragraphs sharing one long sentence would be near copies by chance."""
        target, parts, words = self.rng.randint(30, 110), [], 0
        while words < target or len(parts) < 3:
            parts.append(self.sentence())
            words += parts[-1].count(" ") + 1
        return " ".join(parts)

    def edit(self, paragraphs: list[str], per: int) -> list[str]:
        """`paragraphs` with one word in `per` (at least one) replaced by a different word."""
        words = [paragraph.split(" ") for paragraph in paragraphs]
        places = [(p, w) for p, paragraph in enumerate(words) for w in range(len(paragraph))]
        for p, w in self.rng.sample(places, max(1, len(places) // per)):
            new = words[p][w]
            while new == words[p][w]:
                new = self.pools.words[self.rng.randrange(len(self.pools.words))]
            words[p][w] = new
        return [" ".join(paragraph) for paragraph in words]

    def document(self) -> dict[str, str]:
        """The next article, {"id", "text"}; its injected copies are in `self.truth`."""
        doc_id, self.truth = f"g{self.count:09d}", []
        self.count += 1
        roll, rates = self.rng.random(), self.rates
        if self.docs.items and roll < rates["doc_exact"] + rates["doc_near"]:
            near = roll >= rates["doc_exact"]
            source_id, paragraphs = self.docs.items[self.rng.randrange(len(self.docs.items))]
            paragraphs = self.edit(paragraphs, 100) if near else paragraphs
            self.truth.append({"level": "document", "id": doc_id, "kind": "near" if near else "exact",
                               "of": source_id, "paragraphs": len(paragraphs)})
            return {"id": doc_id, "text": "\n\n".join(paragraphs)}
        paragraphs: list[str] = []
        originals: list[int] = []
        for index in range(self.rng.randint(3, 9)):
            paragraphs.append(self.next_paragraph(doc_id, index, paragraphs, originals))
        self.docs.offer((doc_id, paragraphs), self.rng)
        return {"id": doc_id, "text": "\n\n".join(paragraphs)}

    def next_paragraph(self, doc_id: str, index: int, before: list[str], originals: list[int]) -> str:
        """Paragraph `index` of `doc_id`: new, or a copy of an earlier original one (then logged)."""
        roll, rates, rng = self.rng.random(), self.rates, self.rng
        for key in ("para_exact_within", "para_near_within", "para_exact_across", "para_near_across"):
            if roll >= rates[key]:
                roll -= rates[key]
                continue
            within = key.endswith("within")
            if (within and not originals) or (not within and not self.paragraphs.items):
                break
            if within:
                source = originals[rng.randrange(len(originals))]
                of, text = {"id": doc_id, "paragraph": source}, before[source]
            else:
                (source_id, source), text = self.paragraphs.items[rng.randrange(len(self.paragraphs.items))]
                of = {"id": source_id, "paragraph": source}
            near = "_near_" in key
            self.truth.append({"level": "paragraph", "id": doc_id, "paragraph": index,
                               "kind": "near" if near else "exact",
                               "scope": "within" if of["id"] == doc_id else "across",
                               "of": of})
            return self.edit([text], 30)[0] if near else text
        text = self.paragraph()
        originals.append(index)
        self.paragraphs.offer(((doc_id, index), text), rng)
        return text


def parse_size(text: str) -> int:
    """"200MB", "2GB", "500kB" or a plain number of MB -> bytes (decimal units)."""
    match = re.fullmatch(r"\s*([\d.]+)\s*([kKmMgG]?)[bB]?\s*", text)
    if not match:
        raise argparse.ArgumentTypeError(f"not a size: {text!r}")
    scale = {"": 1e6, "k": 1e3, "m": 1e6, "g": 1e9}[match.group(2).lower()]
    return int(float(match.group(1)) * scale)


def sidecars(out: Path) -> tuple[Path, Path]:
    """The ground-truth and meta files that go with corpus `out`."""
    stem = out.name.removesuffix(".zst").removesuffix(".jsonl")
    return out.with_name(stem + ".truth.jsonl"), out.with_name(stem + ".meta.json")


def generate(out: Path, size: int, seed: int, txt: Path | None = None, data: Path = DATA) -> dict:
    """Write the corpus, its truth and meta; return the meta (counts of each kind of copy)."""
    started = time.perf_counter()
    generator = Generator(load_pools(data), seed)
    truth_path, meta_path = sidecars(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    written = documents = paragraphs = 0
    partial = out.with_name(out.name + ".partial")
    with open(partial, "wb") as raw, zstandard.ZstdCompressor(level=3).stream_writer(raw) as sink, \
            open(truth_path, "w", encoding="utf-8") as truth:
        while written < size:
            doc = generator.document()
            sink.write((json.dumps(doc, ensure_ascii=False) + "\n").encode("utf-8"))
            if txt is not None:
                folder = txt / f"{documents // 1000:04d}"
                folder.mkdir(parents=True, exist_ok=True)
                (folder / f"{doc['id']}.txt").write_text(doc["text"] + "\n", encoding="utf-8")
            for line in generator.truth:
                truth.write(json.dumps(line) + "\n")
                key = f"{line['level']}_{line['kind']}" + (f"_{line['scope']}" if "scope" in line else "")
                counts[key] = counts.get(key, 0) + 1
            written += len(doc["text"].encode("utf-8"))
            documents += 1
            paragraphs += doc["text"].count("\n\n") + 1
    partial.rename(out)
    meta = {"seed": seed, "size": size, "text_bytes": written, "documents": documents, "paragraphs": paragraphs,
            "rates": RATES, "copies": dict(sorted(counts.items())), "sentences": len(generator.pools.templates)}
    meta_path.write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    return {**meta, "seconds": round(time.perf_counter() - started, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path, help="the corpus to write, a .jsonl.zst")
    parser.add_argument("--size", type=parse_size, default=parse_size("200MB"),
                        help="text bytes to generate: 200MB (default) up to 2GB")
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--txt", type=Path, default=None, help="also write the articles as a folder of .txt")
    parser.add_argument("--data", type=Path, default=DATA, help="the shared corpora (bbc/, reuters21578.jsonl.gz)")
    args = parser.parse_args()
    if not args.out.name.endswith(".jsonl.zst"):
        parser.error("OUT must end in .jsonl.zst")
    if args.size > 2 * 10**9:
        parser.error("--size is at most 2GB")
    print(json.dumps(generate(args.out, args.size, args.seed, args.txt, args.data)))


if __name__ == "__main__":
    main()
