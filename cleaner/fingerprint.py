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

from collections.abc import Sequence
import hashlib
import re

from datasketch import LeanMinHash, MinHash
import numpy as np

from .config import Config
from .record import Document, Fingerprint
from .sketch import batch_shingles, minhash_signatures, shingle_sets, word_hashes

_WORD = re.compile(r"\w+")
SCHEME = "affine32"


def words(text: str) -> list[str]:
    """The case-folded words of `text`, punctuation and whitespace dropped."""
    return _WORD.findall(text.casefold())


def exact_key(tokens: list[str]) -> bytes:
    """A 64-bit digest of the words, the key exact repeats are compared on."""
    return hashlib.blake2b(" ".join(tokens).encode("utf-8", "surrogatepass"), digest_size=8).digest()


def shingle_hashes(tokens: list[str], n: int) -> np.ndarray:
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
    datasketch's own structures (MinHashLSH, LeanMinHash.jaccard, serialisation) as they are."""
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
        return minhash_signatures(shingles, np.zeros(1, dtype=np.intp), self._template.permutations)[0]

    def fingerprint_many(self, texts: Sequence[str]) -> list[Fingerprint]:
        """`fingerprint` of many paragraphs at once (see `fingerprint_many_words`)."""
        return self.fingerprint_many_words([words(text) for text in texts], self.config.ngram)

    def fingerprint_many_words(self, token_lists: Sequence[list[str]], ngram: int) -> list[Fingerprint]:
        """`fingerprint_words` of many paragraphs, with all their shingles hashed and signed in
        one numpy pass (cleaner.sketch) instead of one datasketch MinHash per paragraph."""
        fps = [Fingerprint(key=exact_key(t), words=len(t)) for t in token_lists]
        shortest = max(self.config.min_words, ngram)
        signed = [i for i, t in enumerate(token_lists) if len(t) >= shortest]
        hashes, starts = batch_shingles([token_lists[i] for i in signed], ngram)
        signatures = minhash_signatures(hashes, starts, self._template.permutations)
        ends = np.append(starts[1:], len(hashes))
        for row, i in enumerate(signed):
            fps[i].shingles = hashes[starts[row]:ends[row]].copy()
            fps[i].signature = signatures[row]
        return fps

    def __call__(self, doc: Document) -> Document:
        if doc.alive:
            tokens = [words(paragraph.text) for paragraph in doc.paragraphs]
            if self.keys_only:
                fps = [Fingerprint(exact_key(t), len(t)) for t in tokens]
                if self.config.documents_compared:
                    doc.fingerprint = self.document_fingerprint(tokens)
            else:
                fps, doc_fp = self.fingerprint_document_words(tokens)
                if self.config.documents_compared:
                    doc.fingerprint = doc_fp
            for paragraph, fp in zip(doc.paragraphs, fps, strict=True):
                paragraph.fingerprint = fp
        return doc

    def fingerprint_document_words(self, token_lists: list[list[str]]) -> tuple[list[Fingerprint], Fingerprint]:
        """The paragraphs' fingerprints and the document's (as `document_fingerprint`), from
        one hashing of the words and one numpy MinHash pass over every shingle set."""
        lengths = np.fromiter(map(len, token_lists), dtype=np.int64, count=len(token_lists))
        all_words = [w for ws in token_lists for w in ws]
        hashes = word_hashes(all_words)
        sets, starts = shingle_sets(hashes, lengths, self.config.ngram)
        doc_fp = Fingerprint(key=exact_key(all_words), words=len(all_words))
        doc_sets = np.empty(0, dtype=np.uint32)
        if self.config.documents_compared and len(all_words) >= max(self.config.min_words, self.config.doc_ngram):
            doc_sets, _ = shingle_sets(hashes, np.array([len(all_words)]), self.config.doc_ngram)
        signatures = minhash_signatures(np.concatenate([sets, doc_sets]), np.append(starts, len(sets)),
                                        self._template.permutations)
        ends = np.append(starts[1:], len(sets))
        fps = [Fingerprint(key=exact_key(t), words=len(t)) for t in token_lists]
        shortest = max(self.config.min_words, self.config.ngram)
        for row, fp in enumerate(fps):
            if fp.words >= shortest:
                fp.shingles = sets[starts[row]:ends[row]].copy()
                fp.signature = signatures[row]
        if len(doc_sets):
            doc_fp.shingles, doc_fp.signature = doc_sets, signatures[-1]
        return fps, doc_fp

    def document_fingerprint(self, paragraph_words: list[list[str]]) -> Fingerprint:
        """The whole text's fingerprint: `doc_ngram`-word shingles across paragraph breaks."""
        return self.fingerprint_words([w for ws in paragraph_words for w in ws], self.config.doc_ngram)
