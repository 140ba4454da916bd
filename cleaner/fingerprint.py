"""Paragraph and document fingerprints: an exact key, word n-gram shingles, a datasketch MinHash.

The exact key ignores case, whitespace and punctuation, so "Hello, world!" and
"hello world" are one paragraph. Shingles are hashed with xxh32 (fast, 32-bit, as
datasketch's default "affine32" scheme expects) and kept as a sorted unique array: the
index verifies every MinHash candidate against them, so no removal rests on an estimate.

A document gets its own fingerprint (`Config.doc_ngram`-word shingles over the whole
normalised text, paragraph breaks ignored) for near-duplicate document removal, made only
when that is on (`--scope corpus` and `--doc-threshold` above 0).
"""

from __future__ import annotations

import hashlib
import re

from datasketch import LeanMinHash, MinHash
import numpy as np
import xxhash

from .config import Config
from .record import Document, Fingerprint

_WORD = re.compile(r"\w+")
SCHEME = "affine32"


def words(text: str) -> list[str]:
    """The case-folded words of `text`, punctuation and whitespace dropped."""
    return _WORD.findall(text.casefold())


def exact_key(tokens: list[str]) -> bytes:
    """A 64-bit digest of the words, the key exact repeats are compared on."""
    return hashlib.blake2b(" ".join(tokens).encode("utf-8", "surrogatepass"), digest_size=8).digest()


def shingle_hashes(tokens: list[str], n: int) -> np.ndarray:
    """Sorted unique xxh32 hashes of the word n-grams; empty when there are fewer than n words."""
    grams = {" ".join(tokens[i:i + n]) for i in range(len(tokens) - n + 1)}
    hashes = [xxhash.xxh32_intdigest(g.encode("utf-8", "surrogatepass")) for g in grams]
    return np.unique(np.array(hashes, dtype=np.uint32))


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """True Jaccard similarity of two sorted unique hash arrays."""
    if not len(a) and not len(b):
        return 1.0
    inter = len(np.intersect1d(a, b, assume_unique=True))
    return inter / (len(a) + len(b) - inter)


def as_minhash(signature: np.ndarray, seed: int) -> LeanMinHash:
    """Wrap stored hash values as a datasketch LeanMinHash, for MinHashLSH and estimates."""
    return LeanMinHash(seed=seed, hashvalues=signature, scheme=SCHEME)


class Fingerprinter:
    """Per-document stage: attach a Fingerprint to every paragraph (and the document).

    Paragraphs with fewer than `min_words` words, or fewer words than one n-gram, get only
    the exact key: they are compared exactly, never as empty shingle sets. With
    `keys_only`, every paragraph gets only its exact key (the boilerplate count needs no
    more); the document fingerprint is complete either way.
    """

    def __init__(self, config: Config, keys_only: bool = False) -> None:
        self.config = config
        self.keys_only = keys_only
        self._template = MinHash(num_perm=config.num_perm, seed=config.seed, hashfunc=int, scheme=SCHEME)

    def fingerprint(self, text: str) -> Fingerprint:
        return self.fingerprint_words(words(text), self.config.ngram)

    def fingerprint_words(self, tokens: list[str], ngram: int) -> Fingerprint:
        """Exact key always; shingles and signature once there are `min_words` and `ngram` words."""
        fp = Fingerprint(key=exact_key(tokens), words=len(tokens))
        if len(tokens) >= max(self.config.min_words, ngram):
            fp.shingles = shingle_hashes(tokens, ngram)
            fp.signature = self.signature(fp.shingles)
        return fp

    def signature(self, shingles: np.ndarray) -> np.ndarray:
        """MinHash hash values of a shingle-hash array, by datasketch's own permutations."""
        minhash = self._template.copy()
        minhash.update_batch(shingles.tolist())
        return minhash.hashvalues

    def __call__(self, doc: Document) -> Document:
        if doc.alive:
            tokens = [words(paragraph.text) for paragraph in doc.paragraphs]
            for paragraph, paragraph_tokens in zip(doc.paragraphs, tokens, strict=True):
                paragraph.fingerprint = (Fingerprint(exact_key(paragraph_tokens), len(paragraph_tokens))
                                         if self.keys_only else
                                         self.fingerprint_words(paragraph_tokens, self.config.ngram))
            if self.config.documents_compared:
                doc.fingerprint = self.document_fingerprint(tokens)
        return doc

    def document_fingerprint(self, paragraph_words: list[list[str]]) -> Fingerprint:
        """The whole text's fingerprint: `doc_ngram`-word shingles across paragraph breaks."""
        return self.fingerprint_words([w for ws in paragraph_words for w in ws], self.config.doc_ngram)
