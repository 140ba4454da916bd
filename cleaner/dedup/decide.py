"""The keep/remove decisions: whole documents first, then paragraphs, first seen wins.

    Deduplicator           per document: DocumentDeduplicator (cleaner.dedup.documents:
                           a copy of an earlier kept document is dropped whole), then per
                           paragraph: boilerplate, repeats inside the document, repeats
                           across the corpus

Both see documents in input order (sorted paths), so the result never depends on timing
or workers. Their state is the indexes behind `cleaner.dedup.index` (snapshot as plain
data) and the boilerplate counts from the first pass
(`cleaner.dedup.documents.count_boilerplate`). As a stage, `Deduplicator` looks up
`BATCH` documents in the indexes at once (cleaner.dedup.batch) and still decides them one
by one, with the same result as one at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
import dataclasses
import functools
from operator import attrgetter
from typing import TYPE_CHECKING, Any

import numpy as np

from cleaner.config import Config
from cleaner.dedup.batch import IndexWindow
from cleaner.dedup.columns import Columns
from cleaner.dedup.documents import DocumentDeduplicator, removal_for
from cleaner.dedup.fingerprint import Fingerprinter
from cleaner.dedup.index import Banding, Index, open_index
from cleaner.dedup.repeats import InDocumentRepeats
from cleaner.dedup.sketch import minhash_signatures, permutations
from cleaner.dedup.tokens import shingled_on
from cleaner.errors import UsageError
from cleaner.record import Document, Fingerprint, Ref, Removal, batches

if TYPE_CHECKING:
    from cleaner.dedup.store import Store

Signer = Callable[[np.ndarray], np.ndarray]


# Reasons found by comparing shingles (exact copies are found by their exact key, on words):
# their log lines say when the shingles were characters.
CHARACTER_REASONS = frozenset({"near_repeat", "near_duplicate", "duplicate_document"})


def paragraph_index(config: Config, signer: Signer | None = None, backend: str = "memory",
                    store: Store | None = None) -> Index:
    """An empty index of kept paragraphs, with the paragraph threshold; with `store`, the
    persistent one (what earlier runs kept, cleaner.dedup.store)."""
    signer = signer or Fingerprinter(config).signature
    if store is not None:
        banding = Banding(config.threshold, config.num_perm, config.lsh_recall, config.seed)
        return store.index("paragraphs", config.threshold, banding, signer)
    return open_index(config.threshold, config.num_perm, config.lsh_recall, config.seed, signer, backend)


class _Batch:
    """What `Deduplicator` knows about a batch of documents before deciding any: their
    paragraphs with words as `Columns` (document `number` owns rows starts[number] ..
    starts[number + 1] - 1), the corpus and document windows, and which rows and documents
    need a decision step (`loud`; the others are kept without one)."""

    def __init__(self, dedup: Deduplicator, docs: list[Document]) -> None:
        config, fps, paragraph, starts = dedup.config, [], [], [0]
        for doc in docs:
            for p in doc.paragraphs:
                if p.fingerprint is not None and p.fingerprint.words:
                    fps.append(p.fingerprint)
                    paragraph.append(p.index)
            starts.append(len(fps))
        self.number = {id(doc): number for number, doc in enumerate(docs)}
        self.starts = starts
        bounds = np.array(starts, dtype=np.intp)
        owner = np.repeat(np.arange(len(docs), dtype=np.intp), bounds[1:] - bounds[:-1])
        self.columns = Columns(dedup.banding, fps, owner, np.array(paragraph, dtype=np.int32),
                               [(doc.source, doc.id) for doc in docs])
        long_enough = np.fromiter(map(attrgetter("words"), fps), dtype=np.int64, count=len(fps)) >= config.min_words
        loud = self.columns.local.copy()
        if dedup.boilerplate:
            loud |= long_enough & np.isin(self.columns.keys, dedup.boilerplate_keys)
        self.corpus = None
        if dedup.corpus is not None:
            self.corpus = IndexWindow(dedup.corpus, self.columns, np.flatnonzero(long_enough), dedup.signatures)
            loud |= self.corpus.loud
        self.loud, self.local = loud.tolist(), self.columns.local.tolist()
        running = np.r_[0, np.cumsum(loud)]
        self.loud_docs = (running[starts[1:]] > running[starts[:-1]]).tolist()
        self.documents, self.document_rows = dedup.documents.window(docs, dedup.signatures)

    def flush(self) -> None:
        """Enter what the batch added in the indexes' key tables (see IndexWindow)."""
        for window in (self.documents, self.corpus):
            if window is not None:
                window.flush()


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

    BATCH = 512  # documents looked up at once (cleaner.dedup.batch); decisions stay one at a time
    BATCH_BYTES = 1 << 20  # ... and at most this much input past the first (memory stays flat)
    _batch: _Batch | None = None  # the batch being decided

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
        # The same signatures for many sets at once (the estimates of matches verified ahead).
        self.signatures = functools.partial(minhash_signatures, permutations=permutations(config.num_perm, config.seed))
        self.corpus = paragraph_index(config, self._signer, backend, store) if config.scope == "corpus" else None
        self.banding = self.corpus.banding if self.corpus is not None else \
            Banding(config.threshold, config.num_perm, config.lsh_recall, config.seed)
        self.documents = DocumentDeduplicator(config, backend, store)

    @property
    def boilerplate_keys(self) -> np.ndarray:
        return np.fromiter(self.boilerplate, dtype=np.uint64, count=len(self.boilerplate))

    def __call__(self, docs: Iterable[Document]) -> Iterator[Document]:
        for batch in batches(docs, self.BATCH, self.BATCH_BYTES):
            self._batch = _Batch(self, [doc for doc in batch if doc.alive])
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
        if batch is not None and id(doc) in batch.number:
            self._decide(doc, batch, batch.number[id(doc)])
            return
        self._flush()  # a document from outside the batch looks the whole index up
        alone = _Batch(self, [doc])
        self._decide(doc, alone, 0)
        alone.flush()

    def _flush(self) -> None:
        if self._batch is not None:
            self._batch.flush()

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

    def _decide(self, doc: Document, batch: _Batch, number: int) -> None:
        row = batch.document_rows[number]
        if not batch.loud_docs[number] and (row < 0 or not batch.documents.loud[row]):
            # Nothing in the indexes or the batch can match the document or its paragraphs: all kept.
            if batch.corpus is not None:
                batch.corpus.add(slice(batch.starts[number], batch.starts[number + 1]))
            if row >= 0 and doc.paragraphs:
                batch.documents.add(slice(row, row + 1))
            return
        local = InDocumentRepeats(self.config.threshold, self._signer, batch.columns)
        capped = self._capped()
        try:
            self._decide_paragraphs(doc, batch, number, local)
        finally:  # lookups whose verification budget was hit, for the report
            if self._capped() - capped + local.capped:
                doc.audit["capped_lookups"] = self._capped() - capped + local.capped

    def _capped(self) -> int:
        return sum(index.capped for index in (self.corpus, self.documents.index) if index is not None)

    def _decide_paragraphs(self, doc: Document, batch: _Batch, number: int, local: InDocumentRepeats) -> None:
        row = batch.document_rows[number]
        if row >= 0 and batch.documents.loud[row]:
            match = batch.documents.find(row)
            if match is not None:
                removal = removal_for(match, "duplicate_document")
                doc.removal = self._shingled(removal, *(p.text for p in doc.paragraphs))
                return
        kept, at, loud = [], batch.starts[number], batch.loud
        for paragraph in doc.paragraphs:
            fp = paragraph.fingerprint
            paragraph.removal = None
            if fp is None or not fp.words:
                continue
            if loud[at]:
                paragraph.removal = self._shingled(self._judge(at, fp, local, batch.corpus), paragraph.text)
                if paragraph.removal is None and batch.local[at]:
                    local.add(at, Ref(doc.source, doc.id, paragraph.index))
            if paragraph.removal is None:
                kept.append(at)
            at += 1
        if batch.corpus is not None:
            batch.corpus.add(kept)
        if row >= 0 and doc.kept_paragraphs:
            batch.documents.add(slice(row, row + 1))

    def _shingled(self, removal: Removal | None, *texts: str) -> Removal | None:
        """`removal`, saying so when it was found on character shingles (see CHARACTER_REASONS)."""
        if removal is None or removal.reason not in CHARACTER_REASONS:
            return removal
        shingles = shingled_on(self.config.tokens, *texts)
        return removal if shingles is None else dataclasses.replace(removal, shingles=shingles)

    def _judge(self, row: int, fp: Fingerprint, local: InDocumentRepeats, corpus: IndexWindow | None) -> Removal | None:
        long_enough = fp.words >= self.config.min_words
        if long_enough and fp.key in self.boilerplate:
            return Removal("boilerplate", None, 1.0, 1.0, documents=self.boilerplate[fp.key])
        match = local.find(row)
        if match is not None:
            return removal_for(match, "exact_repeat" if match.exact else "near_repeat")
        if corpus is not None and long_enough:
            match = corpus.find(row)
            if match is not None:
                return removal_for(match, "exact_duplicate" if match.exact else "near_duplicate")
        return None
