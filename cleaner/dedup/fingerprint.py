"""Paragraph and document fingerprints: an exact key, word n-gram shingles, a datasketch MinHash.

The exact key ignores case, whitespace and punctuation, so "Hello, world!" and
"hello world" are one paragraph. Shingles are hashed to 32 bits (xxhash per word,
combined in numpy, as datasketch's default "affine32" scheme expects) and kept as a sorted unique array: the
index verifies every MinHash candidate against them, so no removal rests on an estimate.

A document gets its own fingerprint (`Config.doc_ngram`-word shingles over the whole
normalised text, paragraph breaks ignored) for near-duplicate document removal, made only
when that is on (`--scope corpus` and `--doc-threshold` above 0).
"""

from __future__ import annotations

from itertools import chain
import re
import string
from typing import TYPE_CHECKING

import numpy as np

from cleaner.config import Config
from cleaner.dedup.sketch import (
    batch_shingles,
    minhash_signatures,
    permutations,
    sequence_keys,
    shingle_sets,
    word_hashes,
)
from cleaner.record import Document, Fingerprint

if TYPE_CHECKING:
    from datasketch import LeanMinHash

_WORD = re.compile(r"\w+")
# For ASCII text, `\w+` of the case-folded text is: letters (lower-cased), digits and "_";
# every other byte separates words. bytes.translate + split do that in C, 5x faster.
_WORD_BYTES = (string.ascii_letters + string.digits + "_").encode()
_ASCII_WORDS = bytes((c | 0x20 if chr(c).isalpha() else c) if c in _WORD_BYTES else 32 for c in range(256))
SCHEME = "affine32"


def words(text: str) -> list[bytes]:
    """The case-folded words (`\\w+`) of `text` as UTF-8, punctuation and whitespace dropped."""
    if text.isascii():
        return text.encode("ascii").translate(_ASCII_WORDS).split()
    return [word.encode("utf-8", "surrogatepass") for word in _WORD.findall(text.casefold())]


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

    Paragraphs with fewer than `min_words` words, or fewer words than one n-gram, get only
    the exact key: they are compared exactly, never as empty shingle sets. With
    `keys_only`, every paragraph gets only its exact key (the boilerplate count needs no
    more); the document fingerprint is complete either way.
    """

    def __init__(self, config: Config, keys_only: bool = False) -> None:
        self.config = config
        self.keys_only = keys_only
        self._permutations = permutations(config.num_perm, config.seed)  # datasketch's, for this seed

    def fingerprint(self, text: str) -> Fingerprint:
        return self.fingerprint_words(words(text), self.config.ngram)

    def fingerprint_words(self, tokens: list[bytes], ngram: int) -> Fingerprint:
        """Exact key always; shingles and signature once there are `min_words` and `ngram` words."""
        fp = Fingerprint(key=exact_key(tokens), words=len(tokens))
        if len(tokens) >= max(self.config.min_words, ngram):
            fp.shingles = shingle_hashes(tokens, ngram)
            fp.signature = self.signature(fp.shingles)
        return fp

    def signature(self, shingles: np.ndarray) -> np.ndarray:
        """MinHash hash values of a shingle-hash array, by datasketch's permutations."""
        return minhash_signatures(shingles, np.zeros(1, dtype=np.intp), self._permutations)[0]

    def __call__(self, doc: Document) -> Document:
        return self.many([doc])[0]

    def many(self, docs: list[Document]) -> list[Document]:
        """Fingerprint a chunk of documents: every word of the chunk is hashed, and every
        shingle set signed, in one numpy pass (cleaner.sketch), so the numpy call overhead is
        paid per chunk, not per paragraph; the result is the same as one by one."""
        alive = [doc for doc in docs if doc.alive]
        tokens = [[words(paragraph.text) for paragraph in doc.paragraphs] for doc in alive]
        for doc, (fps, doc_fp) in zip(alive, self.fingerprint_documents(tokens), strict=True):
            for paragraph, fp in zip(doc.paragraphs, fps, strict=True):
                paragraph.fingerprint = fp
            if self.config.documents_compared:
                doc.fingerprint = doc_fp
        return docs

    def fingerprint_documents(self, docs: list[list[list[bytes]]]) -> list[tuple[list[Fingerprint], Fingerprint]]:
        """For each document (its paragraphs' words), the paragraphs' fingerprints and the
        document's (as `document_fingerprint`), from one hashing of all the words and one
        MinHash pass over every shingle set of the chunk. With `keys_only`, paragraphs get
        only their exact keys."""
        paragraphs = list(chain.from_iterable(docs))
        hashes = word_hashes(list(chain.from_iterable(paragraphs)))
        fps = _keyed(hashes, np.fromiter(map(len, paragraphs), np.int64, len(paragraphs)))
        doc_fps = _keyed(hashes, np.fromiter((sum(map(len, doc)) for doc in docs), np.int64, len(docs)))
        shingled = [] if self.keys_only else self._shingle(hashes, fps, self.config.ngram)
        if self.config.documents_compared:
            shingled += self._shingle(hashes, doc_fps, self.config.doc_ngram)
        self._sign(shingled)
        bounds = np.cumsum([0, *map(len, docs)]).tolist()
        return [(fps[a:b], doc_fp) for a, b, doc_fp in zip(bounds[:-1], bounds[1:], doc_fps, strict=True)]

    def _shingle(self, hashes: np.ndarray, fps: list[Fingerprint], ngram: int) -> list[Fingerprint]:
        """Give each of `fps` (consecutive runs of the words `hashes` are of) that has enough
        words its shingle set (a view of the chunk's array: the index copies what it keeps);
        return those."""
        if not fps:
            return []
        lengths = np.fromiter((fp.words for fp in fps), np.int64, len(fps))
        sets, starts = shingle_sets(hashes, lengths, ngram)
        ends = np.append(starts[1:], len(sets)).tolist()
        shortest = max(self.config.min_words, ngram)
        shingled = []
        for fp, start, end in zip(fps, starts.tolist(), ends, strict=True):
            if fp.words >= shortest:
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
        """The whole text's fingerprint: `doc_ngram`-word shingles across paragraph breaks."""
        return self.fingerprint_words([w for ws in paragraph_words for w in ws], self.config.doc_ngram)


def _keyed(hashes: np.ndarray, lengths: np.ndarray) -> list[Fingerprint]:
    """A Fingerprint with its exact key for each run of `lengths` words of `hashes`."""
    keys = sequence_keys(hashes, lengths).tolist()
    return [Fingerprint(key=key, words=n) for key, n in zip(keys, lengths.tolist(), strict=True)]
