"""The one record type that flows through every stage, and the decisions stages attach to it.

A stage never deletes data: a paragraph or document it drops keeps its text and gains a
`Removal` saying why and what it duplicated; an input that cannot be read gains a `Reject`.
That is how "nothing lost" is checked: every input paragraph is kept, removed or rejected.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True, slots=True)
class Ref:
    """Where a kept copy lives: a document, and optionally one of its paragraphs; `run`
    names the earlier run that kept it, for a copy found in a persistent index (None: this run)."""

    source: str
    id: str
    paragraph: int | None = None
    run: str | None = None

    def __repr__(self) -> str:  # `run` only when set: a run without an index reprs as before
        run = "" if self.run is None else f", run={self.run!r}"
        return f"Ref(source={self.source!r}, id={self.id!r}, paragraph={self.paragraph!r}{run})"

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"source": self.source, "id": self.id}
        if self.paragraph is not None:
            out["paragraph"] = self.paragraph
        if self.run is not None:
            out["run"] = self.run
        return out


@dataclass(frozen=True, slots=True)
class Removal:
    """Why a paragraph or document was dropped, and the kept copy it duplicated."""

    reason: str
    duplicate_of: Ref | None = None
    similarity: float | None = None
    estimated_similarity: float | None = None
    documents: int | None = None  # boilerplate: how many documents hold the paragraph
    shingles: str | None = None  # "characters": compared on character shingles (cleaner.dedup.tokens)


@dataclass(frozen=True, slots=True)
class Reject:
    """Why an input could not be cleaned at all (it is skipped, not silently dropped)."""

    reason: str
    message: str
    line: int | None = None

    def __post_init__(self) -> None:  # one line, whatever a library's error text held
        if "\n" in self.message or "\r" in self.message:
            object.__setattr__(self, "message", " ".join(self.message.split()))


@dataclass(slots=True)
class Origin:
    """Where a record came from and what it held, kept to write it back: its fields in
    order, its line (or row) in the input, and for a JSONL line its text and where the text
    value sits in it; for Parquet the input's schema, to write the same types back. Once
    the document holds the text, the text value is out of both (None in `fields`, an empty
    `span` in `raw`: cleaner.io.record_reader.without_text)."""

    fields: dict[str, Any]
    line: int
    raw: str | None = None
    span: tuple[int, int] | None = None
    schema: Any = None


@dataclass(slots=True)
class Fingerprint:
    """What the dedup index compares: an exact key, and for long paragraphs a MinHash.

    `shingles` holds the sorted unique 32-bit hashes of the word n-grams, used to verify a
    MinHash candidate by its true Jaccard similarity; `signature` the MinHash hash values.
    """

    key: int  # 64-bit, of the word sequence (cleaner.sketch.sequence_keys)
    words: int
    shingles: np.ndarray | None = None
    signature: np.ndarray | None = None


@dataclass(frozen=True, slots=True)
class Cut:
    """A span of a paragraph removed as a copy of kept text (`--unit sentence`,
    cleaner.dedup.windows): character offsets into the paragraph as written, the kept
    copy (`duplicate_of` names the paragraph it starts in, `kept` its offsets there and the
    paragraph and offset it ends at) and the lowest verified similarity of its windows."""

    start: int
    end: int
    duplicate_of: Ref
    kept: tuple[int, int, int]  # (start in duplicate_of.paragraph, end paragraph, end offset)
    similarity: float
    reason: str = "sentence_copy"
    shingles: str | None = None  # as Removal.shingles


@dataclass(slots=True)
class Paragraph:
    """One paragraph; `index` is its position in the document after segmentation.
    `cuts`: spans removed from it, in order (the rest is written); a paragraph whose
    cuts leave nothing but whitespace is removed whole instead (`removal` set, cuts kept)."""

    index: int
    text: str
    fingerprint: Fingerprint | None = None
    removal: Removal | None = None
    cuts: list[Cut] = field(default_factory=list)

    @property
    def kept(self) -> bool:
        return self.removal is None

    def output_text(self) -> str:
        """The text as written: `text` without its `cuts`."""
        if not self.cuts:
            return self.text
        pieces, at = [], 0
        for cut in self.cuts:
            pieces.append(self.text[at:cut.start])
            at = cut.end
        pieces.append(self.text[at:])
        return "".join(pieces)


@dataclass(slots=True)
class Document:
    """One input text (a file, or a record of a JSONL/Parquet stream) on its way through.

    `source` names where it came from (a path relative to the input root, or a record
    file's name); `origin` is set for a record (None for a text file);
    `raw` holds undecoded bytes until the decode stage turns them into `text`, and `text`
    the whole document until the segment stage splits it into `paragraphs`.
    """

    id: str
    source: str
    raw: bytes | None = None
    text: str | None = None
    paragraphs: list[Paragraph] = field(default_factory=list)
    origin: Origin | None = None
    audit: dict[str, Any] = field(default_factory=dict)
    bytes_in: int = 0
    fingerprint: Fingerprint | None = None
    removal: Removal | None = None
    reject: Reject | None = None
    separator: str = "\n\n"

    @property
    def ref(self) -> Ref:
        return Ref(self.source, self.id)

    @property
    def alive(self) -> bool:
        """True while later stages should still work on it (neither rejected nor removed)."""
        return self.reject is None and self.removal is None

    @property
    def kept_paragraphs(self) -> list[Paragraph]:
        return [p for p in self.paragraphs if p.kept]

    def cleaned_text(self) -> str:
        """The document as written: kept paragraphs, `separator` (a blank line unless
        segmented by line) apart, final newline."""
        kept = self.kept_paragraphs
        return self.separator.join(p.output_text() for p in kept) + "\n" if kept else ""

    def cleaned_size(self, kept: list[Paragraph] | None = None) -> int:
        """The UTF-8 length of `cleaned_text()` without building it: an ASCII paragraph (which
        `str.isascii` tells without reading it) is as many bytes as characters. `kept`: the
        kept paragraphs, when the caller has them already."""
        kept = self.kept_paragraphs if kept is None else kept
        if not kept:
            return 0
        size = len(self.separator.encode("utf-8")) * (len(kept) - 1) + 1
        for paragraph in kept:
            text = paragraph.output_text()
            size += len(text) if text.isascii() else len(text.encode("utf-8", "surrogateescape"))
        return size


def batches(docs: Iterable[Document], max_docs: int, max_bytes: int) -> Iterator[list[Document]]:
    """Group documents in order into lists of at most `max_docs` documents and, past the
    first document, at most `max_bytes` input bytes, so reading ahead stays bounded."""
    batch: list[Document] = []
    held = 0
    for doc in docs:
        weight = doc.bytes_in or len(doc.text or "")
        if batch and (len(batch) >= max_docs or held + weight > max_bytes):
            yield batch
            batch, held = [], 0
        batch.append(doc)
        held += weight
    if batch:
        yield batch
