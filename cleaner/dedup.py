"""The repeat indexes and the keep/remove decisions.

`ParagraphIndex` is the small interface every index keeps: `find(fingerprint)` returns the
best kept match or None, `add(ref, fingerprint)` remembers a kept paragraph. It holds only
kept paragraphs, so a removal always points at text that is in the output (no chains).
A persistent or shared index (sqlite, Redis) only has to offer these two methods.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

from datasketch import MinHashLSH
import numpy as np

from .config import Config
from .fingerprint import as_minhash, jaccard
from .record import Document, Fingerprint, Ref, Removal


@dataclass(frozen=True, slots=True)
class Match:
    """A kept paragraph that a new one repeats, with the verified and estimated similarity."""

    ref: Ref
    similarity: float
    estimated: float | None = None
    exact: bool = False


class Index(Protocol):
    def find(self, fp: Fingerprint) -> Match | None: ...
    def add(self, ref: Ref, fp: Fingerprint) -> None: ...


def lsh_bands(threshold: float, num_perm: int, recall: float) -> tuple[int, int]:
    """(bands, rows) with the most rows per band that still makes a pair at `threshold`
    a candidate with probability >= `recall`. More rows mean fewer false candidates.

    datasketch's own optimum weighs false negatives and positives equally and, at 0.8
    with 128 permutations, finds a pair at the threshold only ~40% of the time; since every
    candidate is verified exactly here, false positives only cost time, so recall wins.
    """
    best = (num_perm, 1)
    for rows in range(1, num_perm + 1):
        bands = num_perm // rows
        if bands < 2:
            break
        if 1.0 - (1.0 - threshold**rows) ** bands >= recall:
            best = (bands, rows)
    return best


def candidate_probability(similarity: float, bands: int, rows: int) -> float:
    """Chance that two sets with this Jaccard similarity share at least one LSH band."""
    return 1.0 - (1.0 - similarity**rows) ** bands


class ParagraphIndex:
    """In-memory index of kept paragraphs: exact keys, then MinHashLSH verified exactly."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.bands, self.rows = lsh_bands(config.threshold, config.num_perm, config.lsh_recall)
        self._exact: dict[bytes, Ref] = {}
        self._refs: list[Ref] = []
        self._shingles: list[np.ndarray] = []
        self._signatures: list[np.ndarray] = []
        self._lsh = MinHashLSH(num_perm=config.num_perm, params=(self.bands, self.rows))

    def __len__(self) -> int:
        return len(self._exact)

    def find(self, fp: Fingerprint) -> Match | None:
        ref = self._exact.get(fp.key)
        if ref is not None:
            return Match(ref, 1.0, 1.0, exact=True)
        if fp.signature is None or not self._refs:
            return None
        return self._best_candidate(fp)

    def _best_candidate(self, fp: Fingerprint) -> Match | None:
        best: tuple[float, int] | None = None
        for slot in self._lsh.query(as_minhash(fp.signature, self.config.seed)):
            similarity = jaccard(fp.shingles, self._shingles[slot])
            if similarity >= self.config.threshold and (best is None or (similarity, -slot) > best):
                best = (similarity, -slot)
        if best is None:
            return None
        similarity, slot = best[0], -best[1]
        estimated = float(np.mean(self._signatures[slot] == fp.signature))
        return Match(self._refs[slot], similarity, estimated)

    def add(self, ref: Ref, fp: Fingerprint) -> None:
        self._exact.setdefault(fp.key, ref)
        if fp.signature is not None:
            slot = len(self._refs)
            self._refs.append(ref)
            self._shingles.append(fp.shingles)
            self._signatures.append(fp.signature)
            self._lsh.insert(slot, as_minhash(fp.signature, self.config.seed))


class Deduplicator:
    """Stateful stage: mark repeated paragraphs removed, first seen wins.

    Inside a document every paragraph with words is compared (exactly, and fuzzily when long
    enough). With `scope="corpus"` paragraphs of at least `min_words` words are also
    compared with every paragraph kept in earlier documents. Paragraphs without any word
    ("* * *") are never removed: they carry layout, not content.
    """

    def __init__(self, config: Config) -> None:
        self.config = config
        self.corpus: ParagraphIndex | None = ParagraphIndex(config) if config.scope == "corpus" else None

    def __call__(self, docs: Iterable[Document]) -> Iterator[Document]:
        for doc in docs:
            if doc.alive:
                self.decide(doc)
            yield doc

    def decide(self, doc: Document) -> None:
        local = ParagraphIndex(self.config)
        for paragraph in doc.paragraphs:
            fp = paragraph.fingerprint
            if fp is None or fp.words == 0:
                continue
            match = local.find(fp)
            if match is not None:
                paragraph.removal = _removal(match, "repeat")
                continue
            if self.corpus is not None and fp.words >= self.config.min_words:
                match = self.corpus.find(fp)
                if match is not None:
                    paragraph.removal = _removal(match, "duplicate")
                    continue
            local.add(Ref(doc.source, doc.id, paragraph.index), fp)
        if self.corpus is not None:
            for paragraph in doc.kept_paragraphs:
                fp = paragraph.fingerprint
                if fp is not None and fp.words >= self.config.min_words:
                    self.corpus.add(Ref(doc.source, doc.id, paragraph.index), fp)


def _removal(match: Match, kind: str) -> Removal:
    """`exact_repeat` / `near_repeat` inside a document, `*_duplicate` across documents."""
    how = "exact" if match.exact else "near"
    return Removal(f"{how}_{kind}", match.ref, round(match.similarity, 4),
                   None if match.estimated is None else round(match.estimated, 4))
