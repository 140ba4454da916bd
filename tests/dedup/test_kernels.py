"""The compiled kernels (numba) give exactly what xxhash and the numpy path give.

Both paths run in every test here (`CLEANER_KERNELS` forces one), on arbitrary tokens and
text, including Chinese and Thai shingled on script tokens: a fingerprint must not depend
on which path made it, or on whether numba is installed.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
import numpy as np
import pytest
import xxhash

from cleaner.config import Config
from cleaner.dedup import sketch
from cleaner.dedup.fingerprint import Fingerprinter
from cleaner.dedup.tokens import word_bytes, words
from cleaner.record import Document, Paragraph
from tests.helpers import kernel_mode

kernels = pytest.importorskip("cleaner.dedup.kernels")


# Every length class of XXH3 (0-3, 4-8, 9-16, 17-128, 129-240) and past the kernel's 240.
# A token holds no ASCII whitespace (a word never does), as `spaced_hashes` requires.
NO_SPACE = bytes.maketrans(b" \t\n\r\x0b\x0c", b"______")
TOKEN = st.binary(min_size=1, max_size=300).map(lambda raw: raw.translate(NO_SPACE))
LENGTHS = st.sampled_from([1, 2, 3, 4, 7, 8, 9, 15, 16, 17, 31, 32, 33, 64, 65, 96, 97, 128, 129, 143, 144,
                           239, 240, 241, 300])
WORDS = ["council", "budget", "Ünïcödé", "北京", "市政府", "批准", "预算", "ภาษาไทย", "กรุงเทพ", "x", "_"]
TEXT = st.lists(st.sampled_from(WORDS) | st.text(max_size=8), max_size=40).map(" ".join)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(TOKEN | LENGTHS.map(lambda n: bytes(range(33, 33 + n % 200)) * 2), max_size=12),
                max_size=8))
def test_token_hashes_are_xxhash_of_every_token(parts: list[list[bytes]]):
    joined = [b"  ".join(tokens) + b" " * (len(tokens) % 3) for tokens in parts]
    data = np.frombuffer(b" ".join(joined), dtype=np.uint8)
    ends = np.cumsum([len(part) + 1 for part in joined], dtype=np.int64) - 1
    hashes, counts, longs = kernels.token_hashes(data, ends)
    flat = [token for tokens in parts for token in tokens]
    assert counts.tolist() == [len(tokens) for tokens in parts]
    short = [i for i, token in enumerate(flat) if len(token) <= kernels.LONGEST]
    expected = [xxhash.xxh3_64_intdigest(token) for token in flat]
    assert hashes[short].tolist() == [expected[i] for i in short]
    assert longs[2].tolist() == [i for i, token in enumerate(flat) if len(token) > kernels.LONGEST]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(TOKEN, max_size=10), max_size=8))
def test_spaced_hashes_agree_on_both_paths(parts: list[list[bytes]]):
    spaced = [b" ".join(tokens) for tokens in parts]
    results = []
    for mode in ("numpy", "compiled"):
        with kernel_mode(mode):
            hashes, counts = sketch.spaced_hashes(spaced)
        results.append((hashes.tolist(), counts.tolist()))
    flat = [token for tokens in parts for token in tokens]
    assert results[0] == results[1] == (sketch.word_hashes(flat).tolist(), [len(t) for t in parts])


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 40), min_size=1, max_size=30), st.integers(16, 256), st.integers(0, 2**32 - 1))
def test_minhash_signatures_agree_on_both_paths(sizes: list[int], num_perm: int, seed: int):
    rng = np.random.default_rng(seed)
    hashes = rng.integers(0, 2**32, sum(sizes), dtype=np.uint64).astype(np.uint32)
    starts = np.cumsum([0, *sizes[:-1]]).astype(np.int64)
    permutations = sketch.permutations(num_perm, seed)
    results = []
    for mode in ("numpy", "compiled"):
        with kernel_mode(mode):
            results.append(sketch.minhash_signatures(hashes, starts, permutations))
    assert np.array_equal(results[0], results[1])
    assert (results[1][np.array(sizes) == 0] == 0xFFFFFFFF).all()


def documents(texts: list[list[str]]) -> list[Document]:
    return [Document(id=str(i), source=str(i), paragraphs=[Paragraph(j, t) for j, t in enumerate(paragraphs)])
            for i, paragraphs in enumerate(texts)]


def fingerprints(docs: list[Document]) -> list:
    def flat(fp):
        if fp is None:
            return None
        return (fp.key, fp.words, None if fp.shingles is None else fp.shingles.tolist(),
                None if fp.signature is None else fp.signature.tolist())

    return [(flat(doc.fingerprint), [flat(p.fingerprint) for p in doc.paragraphs]) for doc in docs]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(TEXT, max_size=5), max_size=5), st.sampled_from(["words", "script"]),
       st.booleans())
def test_fingerprints_agree_on_both_paths_and_with_word_lists(texts: list[list[str]], tokens: str, keys_only: bool):
    """many() (spaced bytes, either path) gives what fingerprint_documents (word lists) gives."""
    config = Config(tokens=tokens, min_words=2)
    results = []
    for mode in ("numpy", "compiled"):
        with kernel_mode(mode):
            results.append(fingerprints(Fingerprinter(config, keys_only).many(documents(texts))))
    fingerprinter = Fingerprinter(config, keys_only)
    docs = documents(texts)
    paragraphs = [p.text for doc in docs for p in doc.paragraphs]
    unspaced = fingerprinter.unspaced(paragraphs) if tokens == "script" else None
    listed = fingerprinter.fingerprint_documents([[words(p.text) for p in doc.paragraphs] for doc in docs], unspaced)
    for doc, (fps, doc_fp) in zip(docs, listed, strict=True):
        for paragraph, fp in zip(doc.paragraphs, fps, strict=True):
            paragraph.fingerprint = fp
        doc.fingerprint = doc_fp
    assert results[0] == results[1] == fingerprints(docs)


@given(TEXT)
def test_word_bytes_split_into_the_words(text: str):
    assert word_bytes(text).split() == words(text)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 2**64 - 1), max_size=60), st.integers(1, 32))
def test_combine_ngrams_agrees_on_both_paths(values: list[int], n: int):
    hashes = np.array(values, dtype=np.uint64)
    results = []
    for mode in ("numpy", "compiled"):
        with kernel_mode(mode):
            results.append(sketch.combine_ngrams(hashes, n).tolist())
    assert results[0] == results[1]
    assert len(results[0]) == max(0, len(values) - n + 1)
