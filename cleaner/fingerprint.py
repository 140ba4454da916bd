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
    """Per-document step (`many` takes a chunk): a Fingerprint for every paragraph and the document.

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

    def __call__(self, doc: Document) -> Document:
        return self.many([doc])[0]

    def many(self, docs: list[Document]) -> list[Document]:
        """Fingerprint a chunk of documents: every word of the chunk is hashed, and every
        shingle set signed, in one numpy pass (cleaner.sketch), so the numpy call overhead is
        paid per chunk, not per paragraph; the result is the same as one by one."""
        alive = [doc for doc in docs if doc.alive]
        tokens = [[words(paragraph.text) for paragraph in doc.paragraphs] for doc in alive]
        if self.keys_only:
            compared = self.config.documents_compared
            results = [([Fingerprint(exact_key(t), len(t)) for t in doc_tokens],
                        self.document_fingerprint(doc_tokens) if compared else None) for doc_tokens in tokens]
        else:
            results = self.fingerprint_documents(tokens)
        for doc, (fps, doc_fp) in zip(alive, results, strict=True):
            for paragraph, fp in zip(doc.paragraphs, fps, strict=True):
                paragraph.fingerprint = fp
            if self.config.documents_compared:
                doc.fingerprint = doc_fp
        return docs

    def fingerprint_documents(self, docs: list[list[list[str]]]) -> list[tuple[list[Fingerprint], Fingerprint]]:
        """For each document (its paragraphs' words), the paragraphs' fingerprints and the
        document's (as `document_fingerprint`), from one hashing of all the words and one
        MinHash pass over every shingle set of the chunk."""
        paragraphs = [t for doc in docs for t in doc]
        doc_words = [[w for t in doc for w in t] for doc in docs]
        fps = [Fingerprint(key=exact_key(t), words=len(t)) for t in paragraphs]
        doc_fps = [Fingerprint(key=exact_key(ws), words=len(ws)) for ws in doc_words]
        hashes = word_hashes([w for ws in doc_words for w in ws])
        shingled = self._shingle(hashes, fps, self.config.ngram)
        if self.config.documents_compared:
            shingled += self._shingle(hashes, doc_fps, self.config.doc_ngram)
        self._sign(shingled)
        bounds = np.cumsum([0, *map(len, docs)]).tolist()
        return [(fps[a:b], doc_fp) for a, b, doc_fp in zip(bounds[:-1], bounds[1:], doc_fps, strict=True)]

    def _shingle(self, hashes: np.ndarray, fps: list[Fingerprint], ngram: int) -> list[Fingerprint]:
        """Give each of `fps` (consecutive runs of the words `hashes` are of) that has enough
        words its shingle set; return those. Each set is a copy, so that an array the index
        keeps does not pin the whole chunk's buffer."""
        if not fps:
            return []
        lengths = np.fromiter((fp.words for fp in fps), np.int64, len(fps))
        sets, starts = shingle_sets(hashes, lengths, ngram)
        ends = np.append(starts[1:], len(sets)).tolist()
        shortest = max(self.config.min_words, ngram)
        shingled = []
        for fp, start, end in zip(fps, starts.tolist(), ends, strict=True):
            if fp.words >= shortest:
                fp.shingles = sets[start:end].copy()
                shingled.append(fp)
        return shingled

    def _sign(self, fps: list[Fingerprint]) -> None:
        """Set the MinHash signature of every fingerprint in `fps` from its shingles, in one pass."""
        lengths = [len(fp.shingles) for fp in fps]
        starts = np.cumsum([0, *lengths], dtype=np.int64)[:-1]
        flat = np.concatenate([np.empty(0, np.uint32), *(fp.shingles for fp in fps)])
        for fp, signature in zip(fps, minhash_signatures(flat, starts, self._template.permutations), strict=True):
            fp.signature = signature

    def document_fingerprint(self, paragraph_words: list[list[str]]) -> Fingerprint:
        """The whole text's fingerprint: `doc_ngram`-word shingles across paragraph breaks."""
        return self.fingerprint_words([w for ws in paragraph_words for w in ws], self.config.doc_ngram)

