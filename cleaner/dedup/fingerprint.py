"""Paragraph and document fingerprints: an exact key, token n-gram shingles, a datasketch MinHash.

The exact key (of the `\\w+` words) ignores case, whitespace and punctuation, so "Hello,
world!" and "hello world" are one paragraph. Shingles are n-grams of `Config.tokens`:
words, or with "script" (cleaner.dedup.tokens) characters of the scripts written without
spaces, so a Chinese or Thai near copy shares most of its shingles. Shingles are hashed to
32 bits (xxhash per token, combined in numpy, as datasketch's default "affine32" scheme
expects) and kept as a sorted unique array: the index verifies every MinHash candidate
against them, so no removal rests on an estimate.

A document gets its own fingerprint (`Config.doc_ngram`-word shingles over the whole
normalised text, paragraph breaks ignored) for near-duplicate document removal, made only
when that is on (`--scope corpus` and `--doc-threshold` above 0).
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import chain
from typing import TYPE_CHECKING

import numpy as np

from cleaner.config import Config
from cleaner.dedup.sketch import (
    batch_shingles,
    minhash_signatures,
    permutations,
    sequence_keys,
    shingle_sets,
    spaced_hashes,
    word_hashes,
)
from cleaner.dedup.tokens import Tokens, has_unspaced, script_tokens, tokenize, weight, word_bytes, words
from cleaner.record import Document, Fingerprint

if TYPE_CHECKING:
    from datasketch import LeanMinHash

__all__ = ["SCHEME", "Fingerprinter", "as_minhash", "exact_key", "jaccard", "shingle_hashes", "words"]
SCHEME = "affine32"
# Position in a chunk -> (script tokens, length in words), for the paragraphs that need them.
Unspaced = dict[int, tuple[list[bytes], int]]


def exact_key(tokens: list[bytes]) -> int:
    """A 64-bit key of the word sequence, the key exact repeats are compared on."""
    return int(sequence_keys(word_hashes(tokens), np.array([len(tokens)], dtype=np.int64))[0])


def shingle_hashes(tokens: list[bytes], n: int) -> np.ndarray:
    """Sorted unique 32-bit hashes of the word n-grams; empty when there are fewer than n words.

    Each word is hashed once with xxhash and the n-grams combined in numpy (cleaner.sketch).
    """
    hashes, _ = batch_shingles([tokens], n)
    return hashes


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """True Jaccard similarity of two sorted unique hash arrays."""
    if not len(a) and not len(b):
        return 1.0
    inter = len(np.intersect1d(a, b, assume_unique=True))
    return inter / (len(a) + len(b) - inter)


def as_minhash(signature: np.ndarray, seed: int) -> LeanMinHash:
    """Wrap stored hash values as a datasketch LeanMinHash: cleaner's signatures go into
    datasketch's own structures (MinHashLSH, LeanMinHash.jaccard, serialisation) as they are.
    (datasketch is imported here, not at start: see cleaner.sketch.)"""
    from datasketch import LeanMinHash

    return LeanMinHash(seed=seed, hashvalues=signature, scheme=SCHEME)


class Fingerprinter:
    """Per-document step (`many` takes a chunk): a Fingerprint for every paragraph and the document.

    `Fingerprint.words` is the length in words (`Tokens.count`: a character of Chinese or
    Thai counts a fraction of a word). Paragraphs under `min_words` words, or with fewer
    tokens than one n-gram, get only the exact key: they are compared exactly, never as
    empty shingle sets. With `keys_only`, every paragraph gets only its exact key (the
    boilerplate count needs no more); the document fingerprint is complete either way.
    """

    def __init__(self, config: Config, keys_only: bool = False) -> None:
        self.config = config
        self.keys_only = keys_only
        self._script = config.tokens == "script"
        self._permutations = permutations(config.num_perm, config.seed)  # datasketch's, for this seed

    def tokenize(self, text: str) -> Tokens:
        """The words and shingle tokens of `text`, as `Config.tokens` says."""
        return tokenize(text, self._script)

    def fingerprint(self, text: str) -> Fingerprint:
        """One paragraph's fingerprint, as `many` makes it."""
        return self.fingerprint_tokens(self.tokenize(text), self.config.ngram)

    def fingerprint_words(self, tokens: list[bytes], ngram: int) -> Fingerprint:
        """The fingerprint of a word sequence (its own shingle tokens)."""
        return self.fingerprint_tokens((tokens, tokens, len(tokens)), ngram)

    def fingerprint_tokens(self, tokens: Tokens, ngram: int) -> Fingerprint:
        """Exact key always; shingles and signature once there are `min_words` words and `ngram` tokens."""
        key_words, shingled, count = tokens
        fp = Fingerprint(key=exact_key(key_words), words=count)
        if count >= self.config.min_words and len(shingled) >= ngram:
            fp.shingles = shingle_hashes(shingled, ngram)
            fp.signature = self.signature(fp.shingles)
        return fp

    def signature(self, shingles: np.ndarray) -> np.ndarray:
        """MinHash hash values of a shingle-hash array, by datasketch's permutations."""
        return minhash_signatures(shingles, np.zeros(1, dtype=np.intp), self._permutations)[0]

    def __call__(self, doc: Document) -> Document:
        return self.many([doc])[0]

    def many(self, docs: list[Document]) -> list[Document]:
        """Fingerprint a chunk of documents: every token of the chunk is hashed, and every
        shingle set signed, in one pass (cleaner.sketch), so the per-call cost is paid per
        chunk, not per paragraph; the result is the same as one by one."""
        alive = [doc for doc in docs if doc.alive]
        texts = [paragraph.text for doc in alive for paragraph in doc.paragraphs]
        unspaced = self.unspaced(texts) if self._script else None
        hashes, lengths = spaced_hashes([word_bytes(text) for text in texts])
        counts = [len(doc.paragraphs) for doc in alive]
        for doc, (fps, doc_fp) in zip(alive, self.fingerprint_hashes(hashes, lengths, counts, unspaced), strict=True):
            for paragraph, fp in zip(doc.paragraphs, fps, strict=True):
                paragraph.fingerprint = fp
            if self.config.documents_compared:
                doc.fingerprint = doc_fp
        return docs

    @staticmethod
    def unspaced(texts: Iterable[str]) -> Unspaced:
        """Position -> (script tokens, length in words) of each of `texts` (paragraphs in
        order) with characters of a script written without spaces; the others need none."""
        found = {}
        for i, text in enumerate(texts):
            if has_unspaced(text):
                tokens = script_tokens(text)
                found[i] = (tokens, weight(text, len(tokens)))
        return found

    def fingerprint_documents(self, docs: list[list[list[bytes]]],
                              unspaced: Unspaced | None = None,
                              ) -> list[tuple[list[Fingerprint], Fingerprint]]:
        """For each document (its paragraphs' words), the paragraphs' fingerprints and the
        document's (its `doc_ngram` shingles run across paragraph breaks), from one hashing
        of all the words and one MinHash pass over every shingle set of the chunk. The
        paragraphs in `unspaced` (by position in the chunk, as `unspaced` gives) are
        shingled on those tokens instead. With `keys_only`, paragraphs get only their keys."""
        paragraphs = list(chain.from_iterable(docs))
        hashes = word_hashes(list(chain.from_iterable(paragraphs)))
        lengths = np.fromiter(map(len, paragraphs), np.int64, len(paragraphs))
        return self.fingerprint_hashes(hashes, lengths, list(map(len, docs)), unspaced)

    def fingerprint_hashes(self, hashes: np.ndarray, lengths: np.ndarray, counts: list[int],
                           unspaced: Unspaced | None = None) -> list[tuple[list[Fingerprint], Fingerprint]]:
        """`fingerprint_documents` from the word hashes of every paragraph of the chunk, in
        order (paragraph i has lengths[i] words), and how many paragraphs each document has."""
        bounds = np.cumsum([0, *counts])
        ends = np.concatenate([[0], np.cumsum(lengths)])
        doc_lengths = ends[bounds[1:]] - ends[bounds[:-1]]
        fps, doc_fps = _keyed(hashes, lengths), _keyed(hashes, doc_lengths)
        if unspaced:
            hashes, lengths = _script_hashes(hashes, ends, unspaced, fps, doc_fps, bounds)
            ends = np.concatenate([[0], np.cumsum(lengths)])
            doc_lengths = ends[bounds[1:]] - ends[bounds[:-1]]
        shingled = [] if self.keys_only else self._shingle(hashes, fps, lengths, self.config.ngram)
        if self.config.documents_compared:
            shingled += self._shingle(hashes, doc_fps, doc_lengths, self.config.doc_ngram)
        self._sign(shingled)
        cuts = bounds.tolist()
        return [(fps[a:b], doc_fp) for a, b, doc_fp in zip(cuts[:-1], cuts[1:], doc_fps, strict=True)]

    def _shingle(self, hashes: np.ndarray, fps: list[Fingerprint], lengths: np.ndarray,
                 ngram: int) -> list[Fingerprint]:
        """Give each of `fps` (of consecutive runs, `lengths` long, of the tokens `hashes` are
        of) with `min_words` words and `ngram` tokens its shingle set (a view of the chunk's
        array: the index copies what it keeps); return those."""
        if not fps:
            return []
        sets, starts = shingle_sets(hashes, lengths, ngram)
        ends = np.append(starts[1:], len(sets)).tolist()
        shingled = []
        for fp, length, start, end in zip(fps, lengths.tolist(), starts.tolist(), ends, strict=True):
            if fp.words >= self.config.min_words and length >= ngram:
                fp.shingles = sets[start:end]
                shingled.append(fp)
        return shingled

    def _sign(self, fps: list[Fingerprint]) -> None:
        """Set the MinHash signature of every fingerprint in `fps` from its shingles, in one pass."""
        lengths = [len(fp.shingles) for fp in fps]
        starts = np.cumsum([0, *lengths], dtype=np.int64)[:-1]
        flat = np.concatenate([np.empty(0, np.uint32), *(fp.shingles for fp in fps)])
        for fp, signature in zip(fps, minhash_signatures(flat, starts, self._permutations), strict=True):
            fp.signature = signature

    def document_fingerprint(self, paragraph_words: list[list[bytes]]) -> Fingerprint:
        """The whole text's fingerprint from its paragraphs' words: `doc_ngram`-word shingles
        across paragraph breaks (as `fingerprint_documents` makes it for `tokens="words"`)."""
        return self.fingerprint_words([w for ws in paragraph_words for w in ws], self.config.doc_ngram)


def _script_hashes(hashes: np.ndarray, ends: np.ndarray, unspaced: Unspaced, fps: list[Fingerprint],
                   doc_fps: list[Fingerprint], bounds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Put the hashes of the script tokens of the `unspaced` paragraphs in place of their
    words' (paragraph i's are hashes[ends[i]:ends[i + 1]]), setting their (and their
    documents') length in words; the hashes and run lengths of the tokens."""
    runs = np.split(hashes, ends[1:-1])
    owners = (np.searchsorted(bounds, list(unspaced), side="right") - 1).tolist()
    for (i, (shingled, count)), owner in zip(unspaced.items(), owners, strict=True):
        doc_fps[owner].words += count - fps[i].words
        fps[i].words = count
        runs[i] = word_hashes(shingled)
    lengths = np.fromiter(map(len, runs), np.int64, len(runs))
    return np.concatenate([np.empty(0, np.uint64), *runs]), lengths


def _keyed(hashes: np.ndarray, lengths: np.ndarray) -> list[Fingerprint]:
    """A Fingerprint with its exact key for each run of `lengths` words of `hashes`."""
    keys = sequence_keys(hashes, lengths).tolist()
    return [Fingerprint(key=key, words=n) for key, n in zip(keys, lengths.tolist(), strict=True)]
