"""Whole documents: a (near) copy of an earlier kept document is dropped whole, and the
first pass of `--boilerplate-min-docs` counts paragraph keys over documents that stay.

`Deduplicator` (cleaner.dedup.decide) asks `DocumentDeduplicator` before its paragraph
decisions; alone, it is the stage before `count_boilerplate`.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

import numpy as np

from cleaner.config import Config
from cleaner.dedup.batch import IndexWindow, ManySigner
from cleaner.dedup.columns import Columns
from cleaner.dedup.fingerprint import Fingerprinter
from cleaner.dedup.index import Banding, Index, Match, open_index
from cleaner.record import Document, Fingerprint, Removal

if TYPE_CHECKING:
    from cleaner.dedup.store import Store


def document_index(config: Config, backend: str = "memory", store: Store | None = None) -> Index:
    """An empty index of kept documents, with the document threshold; with `store`, the
    persistent one (what earlier runs kept, cleaner.dedup.store)."""
    signer = Fingerprinter(config).signature
    if store is not None:
        banding = Banding(config.doc_threshold, config.num_perm, config.lsh_recall, config.seed)
        return store.index("documents", config.doc_threshold, banding, signer)
    return open_index(config.doc_threshold, config.num_perm, config.lsh_recall, config.seed, signer, backend)


class DocumentDeduplicator:
    """Drop a document whose text is a (near) copy of an earlier kept document.

    `Deduplicator` asks it before its paragraph decisions, so a dropped document neither
    loses paragraphs one by one nor puts any into the paragraph index, and has it remember
    a document after them, only one with kept paragraphs: `duplicate_of` then always names
    a document that is in the output. Used alone as a stage (the first pass of boilerplate
    counting) it remembers every document it does not drop. Documents under `min_words`
    words are left to the paragraph rules. Does nothing unless `config.documents_compared`.
    """

    def __init__(self, config: Config, backend: str = "memory", store: Store | None = None) -> None:
        self.config = config
        self.index = document_index(config, backend, store) if config.documents_compared else None

    def __call__(self, docs: Iterable[Document]) -> Iterator[Document]:
        for doc in docs:
            if doc.alive and not self.decide(doc):
                self.remember(doc)
            yield doc

    def compared(self, fp: Fingerprint | None) -> bool:
        """True if a document of this fingerprint is compared with the others."""
        return self.index is not None and fp is not None and fp.words >= self.config.min_words

    def window(self, docs: list[Document], signatures: ManySigner | None = None,
               ) -> tuple[IndexWindow | None, list[int]]:
        """The index as a batch of documents sees it (see cleaner.dedup.batch), or None if
        off, and each document's row in it (-1: not compared)."""
        rows = [-1] * len(docs)
        if self.index is None:
            return None, rows
        compared = [number for number, doc in enumerate(docs) if self.compared(doc.fingerprint)]
        for row, number in enumerate(compared):
            rows[number] = row
        columns = Columns(self.index.banding, [docs[n].fingerprint for n in compared],
                          np.array(compared, dtype=np.intp), np.full(len(compared), -1, dtype=np.int32),
                          [(doc.source, doc.id) for doc in docs])
        return IndexWindow(self.index, columns, np.arange(len(compared)), signatures), rows

    def decide(self, doc: Document) -> bool:
        """Mark `doc` removed when it repeats a remembered document; True if it did."""
        if not self.compared(doc.fingerprint):
            return False
        match = self.index.find(doc.fingerprint)
        if match is not None:
            doc.removal = removal_for(match, "duplicate_document")
        return match is not None

    def remember(self, doc: Document) -> None:
        if self.compared(doc.fingerprint):
            self.index.add_many([doc.ref], [doc.fingerprint])


def count_boilerplate(docs: Iterable[Document], config: Config) -> dict[int, int]:
    """First pass of `--boilerplate-min-docs`: exact paragraph key -> number of documents.

    `docs` must be fingerprinted (paragraph keys are enough) and document-deduplicated
    (a dropped duplicate document would otherwise count twice). Each document counts once
    per distinct key of at least `min_words` words. Memory: 8 bytes per (document,
    paragraph) until the end, then only the keys found in `boilerplate_min_docs` or more.
    """
    keys = array("Q")
    for doc in docs:
        if doc.alive:
            distinct = {p.fingerprint.key for p in doc.paragraphs
                        if p.fingerprint is not None and p.fingerprint.words >= config.min_words}
            keys.extend(sorted(distinct))
    values, counts = np.unique(np.frombuffer(keys, dtype=np.uint64), return_counts=True)
    frequent = counts >= max(config.boilerplate_min_docs, 2)
    return {int(key): int(n)
            for key, n in zip(values[frequent].tolist(), counts[frequent].tolist(), strict=True)}


def removal_for(match: Match, reason: str) -> Removal:
    """The removal of what `match` found, for `reason`: its kept copy and similarities, rounded."""
    return Removal(reason, match.ref, round(match.similarity, 4), round(match.estimated, 4))
