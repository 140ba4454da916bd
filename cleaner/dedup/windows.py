"""Sentence windows (`--unit sentence`): runs of copied sentences, inside and across documents.

After the paragraph decisions, each document's kept paragraphs are split into sentences
(cleaner.text.sentences, on an unwrapped copy: line breaks count as spaces, so a copy
re-wrapped at another width splits the same) and every run of `Config.window`
consecutive sentences, across paragraph breaks, is a window: shingled on
`Config.tokens` and signed as a paragraph is (cleaner.dedup.fingerprint, sketch), and
looked up in an index of its own (cleaner.dedup.index) holding the windows kept so far,
earlier in the same document too (never one that overlaps it). A match is verified by
its true Jaccard, at or above `Config.threshold`.

A removal is a maximal run of at least `window` sentences covered by matching windows,
so one shared sentence or a short quote never goes. A window can match only because its
edge sentence is short (a "He said." next to a copied pair), so each sentence of a run
must also be confirmed: at least `CONFIRM` of the shingles touching it are in the kept
window; an unconfirmed one ends the run. Windows with fewer than `window * min_words`
words are not compared at all.

A removal is data: each paragraph it touches gains a `Cut` (offsets as written, the kept
copy's reference and offsets, the similarity), the writer leaves the cut text out
(`Paragraph.output_text`), and a paragraph left with only whitespace is removed whole.
Only windows whose sentences all stay are indexed, so a cut points at written text.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator
from typing import Any, NamedTuple

import numpy as np

from cleaner.config import Config
from cleaner.dedup.fingerprint import Fingerprinter
from cleaner.dedup.index import Banding, Index, open_index
from cleaner.dedup.repeats import InDocumentRepeats
from cleaner.dedup.sketch import (
    combine_ngrams,
    minhash_signatures,
    permutations,
    sequence_keys,
    shingle_sets,
    word_hashes,
)
from cleaner.dedup.tokens import shingled_on
from cleaner.record import Cut, Document, Fingerprint, Paragraph, Ref, Removal
from cleaner.text.sentences import sentence_spans

# Share of a run's edge sentence's shingles that must be in the kept window: a one-word
# edit in a 5-word sentence leaves 4 of its 7 touching 3-grams; a short sentence that is
# not copied shares none.
CONFIRM = 0.5
REASON = "sentence_copy"
# Paragraph decisions the windows judge instead, for paragraphs of `min_words` or more: a
# near copy keeps the sentences it does not share (a copied run plus one sentence of its
# own is a near copy), and a copied sentence or pair stays, as anywhere. Shorter exact
# repeats inside a document (layout: "Advertisement"), boilerplate and documents stand.
REOPENED = frozenset({"exact_repeat", "near_repeat", "exact_duplicate", "near_duplicate"})


class Sentence(NamedTuple):
    paragraph: int  # position in doc.paragraphs
    start: int
    end: int


class _Bands(NamedTuple):
    """What InDocumentRepeats reads of a batch's Columns: rows are window numbers."""

    banding: Banding
    shared: dict[int, list[int]]
    fps: list[Fingerprint | None]


class Hit(NamedTuple):
    """A matching window: its kept copy's document, first sentence and shingles, and similarity."""

    kept_doc: tuple[str, str]
    rows: array  # the kept document's (paragraph index, start, end) per sentence
    kept_first: int
    shingles: np.ndarray
    similarity: float


class SentenceWindows:
    """Cuts runs of copied sentences, a document at a time, after its paragraph decisions
    (cleaner.dedup.windowed runs it in the ordered stage)."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.n = config.window
        self._fingerprinter = Fingerprinter(config)
        self._permutations = permutations(config.num_perm, config.seed)
        self.index: Index = open_index(config.threshold, config.num_perm, config.lsh_recall, config.seed,
                                       self._fingerprinter.signature)
        self._first_of = array("I")  # per slot: the window's first sentence in its document
        self._table_of = array("I")  # per slot: its document's place in `_tables`
        self._tables: list[array] = []  # per document with kept windows: (paragraph index, start, end) per sentence

    def snapshot(self) -> dict[str, Any]:
        return {"index": self.index.snapshot(), "first_of": self._first_of, "table_of": self._table_of,
                "tables": self._tables}

    def restore(self, state: dict[str, Any]) -> None:
        self.index.restore(state["index"])
        self._first_of, self._table_of, self._tables = state["first_of"], state["table_of"], state["tables"]

    def decide(self, doc: Document) -> None:
        """Cut the runs of `doc` that copy kept windows; index its windows that stay."""
        for paragraph in doc.paragraphs:
            if paragraph.removal is not None and paragraph.removal.reason in REOPENED \
                    and paragraph.fingerprint is not None and paragraph.fingerprint.words >= self.config.min_words:
                paragraph.removal = None
        sentences = [Sentence(i, a, b) for i, p in enumerate(doc.paragraphs) if p.kept
                     for a, b in sentence_spans(p.text.replace("\n", " "))]
        if len(sentences) < self.n:
            return
        hashes, bounds, fps, band = self._windows(doc, sentences)
        table = array("i", [v for s in sentences for v in (doc.paragraphs[s.paragraph].index, s.start, s.end)])
        hits = self._matches(doc, fps, table, band)
        removed = self._removed(hits, hashes, bounds)
        if removed:
            self._cut(doc, sentences, removed, hits)
        keep = [j for j, fp in enumerate(fps) if fp is not None and not any(k in removed for k in range(j, j + self.n))]
        if keep:
            first, rows = len(self.index), np.cumsum([fp is not None for fp in fps]) - 1
            self.index.add_many([Ref(doc.source, doc.id, first + i) for i in range(len(keep))], [fps[j] for j in keep],
                                band[rows[keep]])
            self._first_of.extend(keep)
            self._table_of.extend([len(self._tables)] * len(keep))
            self._tables.append(table)

    def _windows(self, doc: Document, sentences: list[Sentence]
                 ) -> tuple[np.ndarray, np.ndarray, list[Fingerprint | None], np.ndarray]:
        """Token hashes of every sentence end to end, where each sentence starts in them,
        a fingerprint per window (None for one too short to compare), and the band keys of
        those with one, in order."""
        tokens = [self._fingerprinter.tokenize(doc.paragraphs[s.paragraph].text[s.start:s.end]) for s in sentences]
        hashes = word_hashes([t for _, shingled, _ in tokens for t in shingled])
        bounds = np.cumsum([0, *(len(shingled) for _, shingled, _ in tokens)])
        counts = np.cumsum([0, *(count for _, _, count in tokens)])
        n, ngram = self.n, self.config.ngram
        wanted = [j for j in range(len(sentences) - n + 1)
                  if counts[j + n] - counts[j] >= n * self.config.min_words and bounds[j + n] - bounds[j] >= ngram]
        fps: list[Fingerprint | None] = [None] * (len(sentences) - n + 1)
        if not wanted:
            return hashes, bounds, fps, np.empty((0, self.index.banding.bands), dtype=np.uint32)
        flat = np.concatenate([hashes[bounds[j]:bounds[j + n]] for j in wanted])
        lengths = np.array([bounds[j + n] - bounds[j] for j in wanted], dtype=np.int64)
        sets, starts = shingle_sets(flat, lengths, ngram)
        ends = np.append(starts[1:], len(sets))
        signatures = minhash_signatures(sets, starts, self._permutations)
        keys = sequence_keys(flat, lengths).tolist()
        for row, j in enumerate(wanted):
            fps[j] = Fingerprint(keys[row], int(counts[j + n] - counts[j]), sets[starts[row]:ends[row]].copy(),
                                 signatures[row])
        return hashes, bounds, fps, self.index.banding.keys(signatures)

    def _matches(self, doc: Document, fps: list[Fingerprint | None], table: array,
                 band: np.ndarray) -> dict[int, Hit]:
        """Window -> its kept copy, for the windows that match: in the index (earlier
        documents) first, else an earlier window of this document that does not overlap.
        `band`: the band keys of the windows with a fingerprint, in order."""
        signed = [fp for fp in fps if fp is not None]
        if not signed:
            return {}
        found = dict(zip(map(id, signed), self.index.lookup_many(signed, band), strict=True))
        local = InDocumentRepeats(self.config.threshold, self._fingerprinter.signature, self._far_bands(fps, band))
        hits: dict[int, Hit] = {}
        here = (doc.source, doc.id)
        for j, fp in enumerate(fps):
            earlier = j - self.n
            if earlier >= 0 and fps[earlier] is not None and not any(k in hits for k in range(earlier - self.n + 1, j)):
                local.add(earlier, Ref(doc.source, doc.id, earlier))
            if fp is None:
                continue
            before = found[id(fp)]
            match = self.index.verify(fp, before) if before.exact >= 0 or before.candidates else None
            if match is not None:
                slot = match.ref.paragraph
                hits[j] = Hit((match.ref.source, match.ref.id), self._tables[self._table_of[slot]],
                              self._first_of[slot], self.index.shingles(slot), match.similarity)
            elif (match := local.find(j)) is not None:
                hits[j] = Hit(here, table, match.ref.paragraph, fps[match.ref.paragraph].shingles, match.similarity)
        return hits

    def _far_bands(self, fps: list[Fingerprint | None], band: np.ndarray) -> _Bands:
        """The band keys (for InDocumentRepeats) of the windows with a key in common with a
        window they do not overlap: neighbours share most bands, and need no lookup."""
        numbers = np.array([j for j, fp in enumerate(fps) if fp is not None], dtype=np.int64)
        owner = np.repeat(numbers, band.shape[1])
        order = np.lexsort((owner, band.ravel()))
        keys, owner = band.ravel()[order], owner[order]
        starts = np.flatnonzero(np.concatenate([[True], keys[1:] != keys[:-1]]))
        far = (np.maximum.reduceat(owner, starts) - np.minimum.reduceat(owner, starts)) >= self.n
        wanted = set(owner[np.repeat(far, np.diff(np.append(starts, len(keys))))].tolist())
        row = {j: r for r, j in enumerate(numbers.tolist())}
        return _Bands(self.index.banding, {j: band[row[j]].tolist() for j in wanted}, fps)

    def _removed(self, hits: dict[int, Hit], hashes: np.ndarray, bounds: np.ndarray) -> dict[int, int]:
        """Sentence -> the matching window that best confirms it, for every sentence of a
        run of confirmed covered sentences at least `window` long."""
        best: dict[int, tuple[float, float, int]] = {}  # sentence -> (share, similarity, window)
        for j, hit in hits.items():
            for k, share in enumerate(self._confirmed(hit, hashes, bounds, j)):
                if k + j not in best or (share, hit.similarity) > best[k + j][:2]:
                    best[k + j] = (share, hit.similarity, j)
        removed: dict[int, int] = {}
        for run in _runs(sorted(k for k, (share, _, _) in best.items() if share >= CONFIRM)):
            if len(run) >= self.n:
                removed.update((k, best[k][2]) for k in run)
        return removed

    def _confirmed(self, hit: Hit, hashes: np.ndarray, bounds: np.ndarray, j: int) -> list[float]:
        """For each sentence of window `j`: the share of the window's shingles touching it
        that are in the kept window (0 for a sentence without any)."""
        ngram, base = self.config.ngram, bounds[j]
        grams = combine_ngrams(hashes[base:bounds[j + self.n]], ngram)
        inside = np.isin(grams, hit.shingles)
        shares = []
        for k in range(j, j + self.n):
            low, high = max(0, bounds[k] - base - ngram + 1), min(len(grams), bounds[k + 1] - base)
            shares.append(float(inside[low:high].mean()) if high > low else 0.0)
        return shares

    def _cut(self, doc: Document, sentences: list[Sentence], removed: dict[int, int], hits: dict[int, Hit]) -> None:
        """Give each paragraph a Cut per stretch of removed sentences with one kept copy."""
        groups: list[list[int]] = []
        for k in sorted(removed):
            hit = hits[removed[k]]
            if groups and groups[-1][-1] == k - 1 and sentences[k - 1].paragraph == sentences[k].paragraph \
                    and hits[removed[k - 1]].rows is hit.rows:
                groups[-1].append(k)
            else:
                groups.append([k])
        for group in groups:
            paragraph = doc.paragraphs[sentences[group[0]].paragraph]
            ref, (start_para, start, _) = _kept_sentence(hits, removed, group[0])
            _, (end_para, _, end) = _kept_sentence(hits, removed, group[-1])
            similarity = min(hits[removed[k]].similarity for k in group)
            first, last = sentences[group[0]].start, sentences[group[-1]].end
            paragraph.cuts.append(Cut(first, last, Ref(ref.source, ref.id, start_para), (start, end_para, end),
                                      round(similarity, 4), REASON, shingled_on(self.config.tokens,
                                                                                paragraph.text[first:last])))
        for paragraph in doc.paragraphs:
            if paragraph.cuts:
                _settle(paragraph)


def _kept_sentence(hits: dict[int, Hit], removed: dict[int, int], k: int) -> tuple[Ref, tuple[int, int, int]]:
    """The kept copy of removed sentence `k` (aligned by its place in the window that
    confirms it): its document and (paragraph index, start, end)."""
    hit = hits[removed[k]]
    at = 3 * (hit.kept_first + k - removed[k])
    return Ref(*hit.kept_doc), (hit.rows[at], hit.rows[at + 1], hit.rows[at + 2])


def _runs(ordered: list[int]) -> Iterator[list[int]]:
    """Maximal stretches of consecutive numbers of a sorted list."""
    run: list[int] = []
    for k in ordered:
        if run and k != run[-1] + 1:
            yield run
            run = []
        run.append(k)
    if run:
        yield run


def _settle(paragraph: Paragraph) -> None:
    """Widen each cut over the whitespace after it (before it, at the paragraph's end), so
    the text left reads as written; remove the paragraph whole if only whitespace is left."""
    text, floor, cuts = paragraph.text, 0, []
    for cut in paragraph.cuts:
        start, end = cut.start, cut.end
        while end < len(text) and text[end].isspace():
            end += 1
        if end == len(text):
            while start > floor and text[start - 1].isspace():
                start -= 1
        cuts.append(Cut(start, end, cut.duplicate_of, cut.kept, cut.similarity, cut.reason, cut.shingles))
        floor = end
    paragraph.cuts = cuts
    if not paragraph.output_text().strip():
        paragraph.removal = Removal(REASON, cuts[0].duplicate_of, min(c.similarity for c in cuts),
                                    shingles=cuts[0].shingles)


__all__ = ["REASON", "SentenceWindows"]
