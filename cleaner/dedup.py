"""The keep/remove decisions: whole documents first, then paragraphs, first seen wins.

    Deduplicator           per document: DocumentDeduplicator (a copy of an earlier kept
                           document is dropped whole), then per paragraph: boilerplate,
                           repeats inside the document, repeats across the corpus

Both see documents in input order (sorted paths), so the result never depends on timing
or workers. Their state is the indexes in `cleaner.index` (plain, picklable data) and the
boilerplate counts from the first pass (`count_boilerplate`).
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping

import numpy as np

from .config import Config
from .errors import UsageError
from .fingerprint import Fingerprinter, jaccard
from .index import Banding, Found, Match, SimilarityIndex
from .record import Document, Fingerprint, Paragraph, Ref, Removal

Signer = Callable[[np.ndarray], np.ndarray]


def paragraph_index(config: Config, signer: Signer | None = None) -> SimilarityIndex:
    """An empty index of kept paragraphs, with the paragraph threshold."""
    signer = signer or Fingerprinter(config).signature
    return SimilarityIndex(config.threshold, config.num_perm, config.lsh_recall, config.seed, signer)


def document_index(config: Config) -> SimilarityIndex:
    """An empty index of kept documents, with the document threshold."""
    signer = Fingerprinter(config).signature
    return SimilarityIndex(config.doc_threshold, config.num_perm, config.lsh_recall, config.seed, signer)


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

    def __init__(self, config: Config) -> None:
        self.config = config
        self.index = document_index(config) if config.documents_compared else None

    def __call__(self, docs: Iterable[Document]) -> Iterator[Document]:
        for doc in docs:
            if doc.alive and not self.decide(doc):
                self.remember(doc)
            yield doc

    def decide(self, doc: Document) -> bool:
        """Mark `doc` removed when it repeats a remembered document; True if it did."""
        fp = doc.fingerprint
        if self.index is None or fp is None or fp.words < self.config.min_words:
            return False
        match = self.index.find(fp)
        if match is not None:
            doc.removal = _removal(match, "duplicate_document")
        return match is not None

    def remember(self, doc: Document) -> None:
        fp = doc.fingerprint
        if self.index is not None and fp is not None and fp.words >= self.config.min_words:
            self.index.add(doc.ref, fp)


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

    def __init__(self, config: Config, boilerplate: Mapping[bytes, int] | None = None) -> None:
        if config.boilerplate_min_docs and boilerplate is None:
            raise UsageError("boilerplate_min_docs needs a first pass over the input: pass "
                             "boilerplate=find_boilerplate(...), or clean files or folders, not a stream")
        self.config = config
        self.boilerplate = boilerplate or {}
        self._signer = Fingerprinter(config).signature
        self.corpus = paragraph_index(config, self._signer) if config.scope == "corpus" else None
        self._banding = Banding(config.threshold, config.num_perm, config.lsh_recall, config.seed)
        self.documents = DocumentDeduplicator(config)

    def __call__(self, docs: Iterable[Document]) -> Iterator[Document]:
        for doc in docs:
            if doc.alive:
                self.decide(doc)
            yield doc

    def decide(self, doc: Document) -> None:
        if self.documents.decide(doc):
            return
        # The corpus index does not change while a document is judged (its kept paragraphs
        # go in afterwards), so all of them are looked up at once; candidates are verified
        # only for the paragraphs that get that far.
        min_words = self.config.min_words
        with_words = [p.fingerprint for p in doc.paragraphs if p.fingerprint is not None and p.fingerprint.words]
        bands = DocumentBands(self._banding, with_words)
        long = [p for p in doc.paragraphs if p.fingerprint is not None and p.fingerprint.words >= min_words]
        found: dict[int, Found] = {}
        if self.corpus is not None and long:
            fps = [p.fingerprint for p in long]
            found = dict(zip(map(id, long), self.corpus.lookup(fps, bands.of(fps)), strict=True))
        local = InDocumentRepeats(self.config.threshold, self._signer, bands)
        for paragraph in doc.paragraphs:
            paragraph.removal = self._judge(paragraph, local, found.get(id(paragraph)))
            if paragraph.removal is None and paragraph.fingerprint is not None and paragraph.fingerprint.words:
                local.add(Ref(doc.source, doc.id, paragraph.index), paragraph.fingerprint)
        if self.corpus is not None:
            kept = [p for p in long if p.kept]
            if kept:
                fps = [p.fingerprint for p in kept]
                self.corpus.add_many([Ref(doc.source, doc.id, p.index) for p in kept], fps, bands.of(fps))
        if doc.kept_paragraphs:
            self.documents.remember(doc)

    def _judge(self, paragraph: Paragraph, local: InDocumentRepeats, found: Found | None) -> Removal | None:
        fp = paragraph.fingerprint
        if fp is None or fp.words == 0:
            return None
        long_enough = fp.words >= self.config.min_words
        if long_enough and fp.key in self.boilerplate:
            return Removal("boilerplate", None, 1.0, 1.0, documents=self.boilerplate[fp.key])
        match = local.find(fp)
        if match is not None:
            return _removal(match, "exact_repeat" if match.exact else "near_repeat")
        if self.corpus is not None and found is not None:
            match = self.corpus.verify(fp, found)
            if match is not None:
                return _removal(match, "exact_duplicate" if match.exact else "near_duplicate")
        return None


class DocumentBands:
    """The band keys of one document's signed paragraph fingerprints, computed once for the
    corpus lookup, the in-document repeats and the corpus insert."""

    def __init__(self, banding: Banding, fps: list[Fingerprint]) -> None:
        self.signed = [fp for fp in fps if fp.signature is not None and fp.shingles is not None]
        self._row = {id(fp): row for row, fp in enumerate(self.signed)}
        if self.signed:
            self.keys = banding.keys(np.stack([fp.signature for fp in self.signed]))
        else:
            self.keys = np.empty((0, banding.bands), dtype=np.uint32)

    def of(self, fps: list[Fingerprint]) -> np.ndarray | None:
        """The rows of `fps` that have a signature, in order; None if one is not known here."""
        rows = [self._row.get(id(fp), -1) for fp in fps if fp.signature is not None and fp.shingles is not None]
        return None if -1 in rows else self.keys[rows]


class InDocumentRepeats:
    """The kept paragraphs of one document so far, answering `find` exactly as a fresh
    `SimilarityIndex` would (earliest exact copy, else the verified candidate of highest
    Jaccard, earliest on a tie) without building one per document.

    Exact keys go in a dict. Band keys are computed for all of the document's signed
    paragraphs at once (`fps`, in order); a paragraph none of whose band keys occurs in
    another paragraph of the document can be no one's candidate, so only the others enter
    a dict of band key -> kept paragraphs. Most documents have none. Like the index, a band
    key matches whatever band it came from; a sort finds the shared keys in O(n log n).
    """

    def __init__(self, threshold: float, signer: Signer, bands: DocumentBands) -> None:
        self.threshold = threshold
        self._signer = signer
        self._exact: dict[bytes, Ref] = {}
        self._by_band: dict[int, list[tuple[int, Ref, Fingerprint]]] = {}  # (order added, ...)
        self._added = 0
        self._shared: dict[int, list[int]] = {}  # id(fp) -> its band keys, for fps sharing one
        keys = bands.keys
        if len(keys) < 2:
            return
        owner = np.repeat(np.arange(len(keys)), keys.shape[1])
        flat = keys.ravel()
        order = np.lexsort((owner, flat))
        flat, owner = flat[order], owner[order]
        across = np.flatnonzero((flat[1:] == flat[:-1]) & (owner[1:] != owner[:-1]))
        if len(across):
            for row in np.union1d(owner[across], owner[across + 1]).tolist():
                self._shared[id(bands.signed[row])] = keys[row].tolist()

    def find(self, fp: Fingerprint) -> Match | None:
        ref = self._exact.get(fp.key)
        if ref is not None:
            return Match(ref, 1.0, 1.0, exact=True)
        band_keys = self._shared.get(id(fp))
        if band_keys is None or fp.shingles is None or fp.signature is None:
            return None
        candidates: dict[int, tuple[Ref, Fingerprint]] = {}  # by order added: the earliest first
        for key in band_keys:
            for order, ref, kept in self._by_band.get(key, ()):
                candidates[order] = (ref, kept)
        best: tuple[float, Ref, Fingerprint] | None = None
        for order in sorted(candidates):
            ref, kept = candidates[order]
            similarity = jaccard(fp.shingles, kept.shingles)
            if similarity >= self.threshold and (best is None or similarity > best[0]):
                best = (similarity, ref, kept)
        if best is None:
            return None
        similarity, ref, kept = best
        estimated = float(np.mean(self._signer(kept.shingles.astype(np.uint32)) == fp.signature))
        return Match(ref, similarity, estimated)

    def add(self, ref: Ref, fp: Fingerprint) -> None:
        self._exact.setdefault(fp.key, ref)
        band_keys = self._shared.get(id(fp))
        if band_keys is not None:
            for key in band_keys:
                self._by_band.setdefault(key, []).append((self._added, ref, fp))
        self._added += 1


def count_boilerplate(docs: Iterable[Document], config: Config) -> dict[bytes, int]:
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
            keys.extend(int.from_bytes(key, "little") for key in sorted(distinct))
    values, counts = np.unique(np.frombuffer(keys, dtype=np.uint64), return_counts=True)
    frequent = counts >= max(config.boilerplate_min_docs, 2)
    return {int(key).to_bytes(8, "little"): int(n)
            for key, n in zip(values[frequent].tolist(), counts[frequent].tolist(), strict=True)}


def _removal(match: Match, reason: str) -> Removal:
    return Removal(reason, match.ref, round(match.similarity, 4), round(match.estimated, 4))
