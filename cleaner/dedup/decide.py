"""The keep/remove decisions: whole documents first, then paragraphs, first seen wins.

    Deduplicator           per document: DocumentDeduplicator (a copy of an earlier kept
                           document is dropped whole), then per paragraph: boilerplate,
                           repeats inside the document, repeats across the corpus

Both see documents in input order (sorted paths), so the result never depends on timing
or workers. Their state is the indexes behind `cleaner.dedup.index` (snapshot as plain data) and the
boilerplate counts from the first pass (`count_boilerplate`). As a stage, `Deduplicator`
looks up `BATCH` documents in the indexes at once (cleaner.dedup.batch) and still decides them
one by one, with the same result as one at a time.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from cleaner.config import Config
from cleaner.dedup.batch import BandKeys, IndexWindow, InDocumentRepeats
from cleaner.dedup.fingerprint import Fingerprinter
from cleaner.dedup.index import Banding, Index, Match, open_index
from cleaner.errors import UsageError
from cleaner.record import Document, Fingerprint, Paragraph, Ref, Removal, batches

if TYPE_CHECKING:
    from cleaner.dedup.store import Store

Signer = Callable[[np.ndarray], np.ndarray]


def paragraph_index(config: Config, signer: Signer | None = None, backend: str = "memory",
                    store: Store | None = None) -> Index:
    """An empty index of kept paragraphs, with the paragraph threshold; with `store`, the
    persistent one (what earlier runs kept, cleaner.dedup.store)."""
    signer = signer or Fingerprinter(config).signature
    if store is not None:
        banding = Banding(config.threshold, config.num_perm, config.lsh_recall, config.seed)
        return store.index("paragraphs", config.threshold, banding, signer)
    return open_index(config.threshold, config.num_perm, config.lsh_recall, config.seed, signer, backend)


def document_index(config: Config, backend: str = "memory", store: Store | None = None) -> Index:
    """An empty index of kept documents, with the document threshold (`store`: as above)."""
    signer = Fingerprinter(config).signature
    if store is not None:
        banding = Banding(config.doc_threshold, config.num_perm, config.lsh_recall, config.seed)
        return store.index("documents", config.doc_threshold, banding, signer)
    return open_index(config.doc_threshold, config.num_perm, config.lsh_recall, config.seed, signer, backend)


class DocumentDeduplicator:
    """Drop a document whose text is a (near) copy of an earlier kept document.

    `Deduplicator` calls `decide` before its paragraph decisions, so a dropped document
    neither loses paragraphs one by one nor puts any into the paragraph index, and calls
    `remember` after them, only for a document with kept paragraphs: `duplicate_of` then
    always names a document that is in the output. Used alone as a stage (the first pass
    of boilerplate counting) it remembers every document it does not drop. Documents
    under `min_words` words are left to the paragraph rules. Does nothing unless
    `config.documents_compared`.
    """

    def __init__(self, config: Config, backend: str = "memory", store: Store | None = None) -> None:
        self.config = config
        self.index = document_index(config, backend, store) if config.documents_compared else None

    def __call__(self, docs: Iterable[Document]) -> Iterator[Document]:
        for doc in docs:
            if doc.alive and not self.decide(doc):
                self.remember(doc)
            yield doc

    def window(self, docs: list[Document]) -> IndexWindow | None:
        """The index as a batch of documents sees it (see cleaner.dedup.batch), or None if off."""
        if self.index is None:
            return None
        return IndexWindow(self.index, [doc.fingerprint for doc in docs if self._compared(doc.fingerprint)])

    def _compared(self, fp: Fingerprint | None) -> bool:
        return fp is not None and fp.words >= self.config.min_words

    def decide(self, doc: Document, window: IndexWindow | None = None) -> bool:
        """Mark `doc` removed when it repeats a remembered document; True if it did.
        `window`: this index's window for a batch holding `doc`, if any."""
        fp = doc.fingerprint
        if self.index is None or fp is None or fp.words < self.config.min_words:
            return False
        match = (window or self.index).find(fp)
        if match is not None:
            doc.removal = _removal(match, "duplicate_document")
        return match is not None

    def remember(self, doc: Document, window: IndexWindow | None = None) -> None:
        fp = doc.fingerprint
        if self.index is not None and fp is not None and fp.words >= self.config.min_words:
            (window or self.index).add_many([doc.ref], [fp])


class Deduplicator:
    """Stage: drop copies of earlier documents, then mark repeated paragraphs removed.

    First seen wins. A paragraph whose exact key is in `boilerplate` (found by the first
    pass in at least `boilerplate_min_docs` documents) goes first, from every document.
    Inside a document
    every paragraph with words is compared (exactly, and fuzzily when long enough). With
    `scope="corpus"` paragraphs of at least `min_words` words are also compared with every
    paragraph kept in earlier documents. Paragraphs without any word ("* * *") are never
    removed: they carry layout, not content.
    """

    BATCH = 64  # documents looked up at once (cleaner.dedup.batch); decisions stay one at a time
    BATCH_BYTES = 1 << 20  # ... and at most this much input past the first (memory stays flat)
    _batch: tuple[set[int], tuple] | None = None  # (ids of its documents, their windows) during a batch

    def __init__(self, config: Config, boilerplate: Mapping[int, int] | None = None, backend: str = "memory",
                 store: Store | None = None) -> None:
        """`backend`: the registered in-memory index to use; `store`: a persistent index
        (cleaner.dedup.store) to read and add to, begun."""
        if config.boilerplate_min_docs and boilerplate is None:
            raise UsageError("boilerplate_min_docs needs a first pass over the input: pass "
                             "boilerplate=find_boilerplate(...), or clean files or folders, not a stream")
        self.config = config
        self.boilerplate = boilerplate or {}
        self._signer = Fingerprinter(config).signature
        self.corpus = paragraph_index(config, self._signer, backend, store) if config.scope == "corpus" else None
        self._banding = self.corpus.banding if self.corpus is not None else \
            Banding(config.threshold, config.num_perm, config.lsh_recall, config.seed)
        self.documents = DocumentDeduplicator(config, backend, store)

    def __call__(self, docs: Iterable[Document]) -> Iterator[Document]:
        for batch in batches(docs, self.BATCH, self.BATCH_BYTES):
            alive = [doc for doc in batch if doc.alive]
            self._batch = ({id(doc) for doc in alive}, self._windows(alive))
            try:
                for doc in batch:
                    if doc.alive:
                        self.decide(doc)
                    yield doc
            finally:
                self._flush()
                self._batch = None

    def decide(self, doc: Document) -> None:
        """Decide one document. Inside the stage, the index lookups for the batch holding
        `doc` were made at once when the batch began; the result is the same."""
        batch = self._batch
        if batch is not None and id(doc) in batch[0]:
            self._decide(doc, *batch[1])
            return
        self._flush()  # a document from outside the batch looks the whole index up
        windows = self._windows([doc])
        self._decide(doc, *windows)
        _flush_windows(windows)

    def _flush(self) -> None:
        """Enter what the current batch added in the indexes' key tables (see IndexWindow)."""
        if self._batch is not None:
            _flush_windows(self._batch[1])

    def snapshot(self) -> dict[str, Any]:
        """The indexes and boilerplate counts as plain data, for a checkpoint. What the
        current batch added is keyed first; the batch's lookups are redone after a resume."""
        self._flush()
        return {"boilerplate": self.boilerplate,
                "corpus": self.corpus.snapshot() if self.corpus is not None else None,
                "documents": self.documents.index.snapshot() if self.documents.index is not None else None}

    def restore(self, state: dict[str, Any]) -> None:
        """Go on from a `snapshot` of a Deduplicator made with the same config."""
        self.boilerplate = state["boilerplate"]
        if self.corpus is not None:
            self.corpus.restore(state["corpus"])
        if self.documents.index is not None:
            self.documents.index.restore(state["documents"])

    def _windows(self, docs: list[Document]) -> tuple[IndexWindow | None, IndexWindow | None, BandKeys]:
        """The document index and corpus index as these documents see them, and the band
        keys of their paragraphs for the repeats inside each one."""
        with_words = [p.fingerprint for doc in docs for p in doc.paragraphs
                      if p.fingerprint is not None and p.fingerprint.words]
        bands = BandKeys(self._banding, with_words)
        corpus = None
        if self.corpus is not None:
            # The same band keys serve the corpus window: only paragraphs of min_words or more
            # are signed, so both sets have the same signed fingerprints.
            corpus = IndexWindow(self.corpus, [fp for fp in with_words if fp.words >= self.config.min_words], bands)
        return self.documents.window(docs), corpus, bands

    def _decide(self, doc: Document, documents: IndexWindow | None, corpus: IndexWindow | None,
                bands: BandKeys) -> None:
        local = InDocumentRepeats(self.config.threshold, self._signer, bands)
        capped = self._capped()
        try:
            self._decide_paragraphs(doc, documents, corpus, local)
        finally:  # lookups whose verification budget was hit, for the report
            if self._capped() - capped + local.capped:
                doc.audit["capped_lookups"] = self._capped() - capped + local.capped

    def _capped(self) -> int:
        return sum(index.capped for index in (self.corpus, self.documents.index) if index is not None)

    def _decide_paragraphs(self, doc: Document, documents: IndexWindow | None, corpus: IndexWindow | None,
                           local: InDocumentRepeats) -> None:
        if self.documents.decide(doc, documents):
            return
        for paragraph in doc.paragraphs:
            paragraph.removal = self._judge(paragraph, local, corpus)
            if paragraph.removal is None and paragraph.fingerprint is not None and paragraph.fingerprint.words:
                local.add(Ref(doc.source, doc.id, paragraph.index), paragraph.fingerprint)
        if corpus is not None:
            kept = [p for p in doc.kept_paragraphs
                    if p.fingerprint is not None and p.fingerprint.words >= self.config.min_words]
            if kept:
                corpus.add_many([Ref(doc.source, doc.id, p.index) for p in kept], [p.fingerprint for p in kept])
        if doc.kept_paragraphs:
            self.documents.remember(doc, documents)

    def _judge(self, paragraph: Paragraph, local: InDocumentRepeats, corpus: IndexWindow | None) -> Removal | None:
        fp = paragraph.fingerprint
        if fp is None or fp.words == 0:
            return None
        long_enough = fp.words >= self.config.min_words
        if long_enough and fp.key in self.boilerplate:
            return Removal("boilerplate", None, 1.0, 1.0, documents=self.boilerplate[fp.key])
        match = local.find(fp)
        if match is not None:
            return _removal(match, "exact_repeat" if match.exact else "near_repeat")
        if corpus is not None and long_enough:
            match = corpus.find(fp)
            if match is not None:
                return _removal(match, "exact_duplicate" if match.exact else "near_duplicate")
        return None


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


def _flush_windows(windows: tuple[IndexWindow | None, IndexWindow | None, BandKeys]) -> None:
    """Flush the document and corpus windows of `Deduplicator._windows`."""
    for window in windows[:2]:
        if window is not None:
            window.flush()


def _removal(match: Match, reason: str) -> Removal:
    return Removal(reason, match.ref, round(match.similarity, 4), round(match.estimated, 4))
