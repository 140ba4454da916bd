"""The second pass over removed.jsonl, done on keys the first pass kept instead of the log.

The first pass parses every line anyway, so it writes a few numbers of each line (the text
key, a hash of the source and of the document, the byte offset, the paragraphs it takes
out) to a temporary file in blocks, in bounded memory. The second pass reads those blocks
with numpy: it counts the candidate texts and sources exactly and finds the lines of the
documents whose kept copies are shown, which alone are read and parsed again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
import tempfile
from typing import IO, Any

import numpy as np
import xxhash

HAS_TEXT, WHOLE, NUMBERED = 1, 2, 4  # flags: a text, a whole document, an int paragraph
KEYS = ("text", "source", "document", "offset", "paragraphs", "flags")  # a row's columns
MASK = (1 << 64) - 1
MIX = 0x9E3779B97F4A7C15  # an odd multiplier: (source, id) keys as source * MIX ^ id, modulo 2**64


def text_hash(text: str) -> int:
    """A string's 64-bit key: xxh64, the same in every process (Python's hash() is seeded
    per process, so a collision, however unlikely, would make the page differ run to run)."""
    return xxhash.xxh64_intdigest(text.encode("utf-8", "surrogatepass"))


def source_key(source: str) -> int:
    """A source's key in the columns."""
    return text_hash(source)


def document_key(key: Any) -> int:
    """The key a document is looked up by: its source (folder runs) or (source, id), the
    latter mixed as report_batch mixes the columns (a collision only rereads a line)."""
    if isinstance(key, str):
        return source_key(key)
    return (source_key(key[0]) * MIX ^ text_hash(key[1])) & MASK


class Columns:
    """Per-line keys of the removal log, spilled to a temporary file a block at a time."""

    def __init__(self) -> None:
        self.file: IO[bytes] = tempfile.TemporaryFile()
        self.sizes: list[int] = []
        self.large: Counter = Counter()  # source -> paragraphs of lines whose count is too large for a column

    def write(self, rows: np.ndarray) -> None:
        """A block of lines' keys: uint64 rows in the order of KEYS (paragraphs as int64)."""
        rows.astype(np.uint64).tofile(self.file)
        self.sizes.append(len(rows))

    def blocks(self) -> Iterator[dict[str, np.ndarray]]:
        """Each block's columns, in file order."""
        self.file.seek(0)
        for size in self.sizes:
            rows = np.fromfile(self.file, np.uint64, size * len(KEYS)).reshape(size, len(KEYS))
            block = {name: rows[:, i] for i, name in enumerate(KEYS)}
            block["paragraphs"] = block["paragraphs"].view(np.int64)
            yield block

    def close(self) -> None:
        self.file.close()


@dataclass
class Exact:
    """The second pass: exact counts of the first pass's candidates, and the removed
    paragraph numbers of the documents whose kept copies are shown."""

    texts: Counter = field(default_factory=Counter)
    sources: dict[str, list[int]] = field(default_factory=dict)  # source -> [lines, paragraphs, whole]
    removed_in: dict[Any, list[int]] = field(default_factory=dict)  # document key -> paragraphs


def second_pass(columns: Columns, texts: set[int] | None, sources: set[str], kept: set[Any]) -> tuple[Exact, list[int]]:
    """Count candidate texts (None: the first pass's counts are exact) and all of `sources`
    from the columns; return them and the byte offsets of the lines of the `kept` documents
    that remove a numbered paragraph (the caller reads those lines)."""
    exact = Exact(Counter(), {}, {key: [] for key in kept})
    by_hash = {source_key(s): s for s in sources}
    wanted = {"text": _keys(texts or ()), "source": _keys(by_hash), "document": _keys(document_key(k) for k in kept)}
    offsets: list[int] = []
    totals = np.zeros((0, 3), np.int64)
    found = np.zeros(0, np.uint64)
    for block in columns.blocks():
        if texts:
            keys, counts = np.unique(block["text"][_member(block, "text", wanted, HAS_TEXT)], return_counts=True)
            exact.texts.update(dict(zip(keys.tolist(), counts.tolist(), strict=True)))
        if by_hash:
            found, totals = _merge(found, totals, block, _member(block, "source", wanted, 0))
        if kept:
            offsets += block["offset"][_member(block, "document", wanted, NUMBERED)].tolist()
    exact.sources = {s: [0, 0, 0] for s in sources}
    for key, (lines, paragraphs, whole) in zip(found.tolist(), totals.tolist(), strict=True):
        exact.sources[by_hash[key]] = [lines, paragraphs, whole]
    for source in sources:
        exact.sources[source][1] += columns.large.get(source, 0)
    return exact, offsets


def _keys(keys: Any) -> np.ndarray:
    return np.array(sorted(keys), np.uint64)


def _member(block: dict[str, np.ndarray], name: str, wanted: dict[str, np.ndarray], flag: int) -> np.ndarray:
    """The lines of a block whose `name` key is wanted (and that have `flag`, if any)."""
    mask = np.isin(block[name], wanted[name])
    return mask & ((block["flags"] & flag) != 0) if flag else mask


def _merge(found: np.ndarray, totals: np.ndarray, block: dict[str, np.ndarray],
           mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Add a block's [lines, paragraphs, whole] per source hash to the running totals."""
    keys = np.concatenate([found, block["source"][mask]])
    rows = np.concatenate([totals, np.stack([np.ones(int(mask.sum()), np.int64), block["paragraphs"][mask],
                                             ((block["flags"][mask] & WHOLE) != 0).astype(np.int64)], axis=1)])
    if not len(keys):
        return found, totals
    order = np.argsort(keys, kind="stable")
    keys, rows = keys[order], rows[order]
    starts = np.flatnonzero(np.concatenate([[True], keys[1:] != keys[:-1]]))
    return keys[starts], np.add.reduceat(rows, starts, axis=0)
