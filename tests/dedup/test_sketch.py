"""The vectorised MinHash must equal datasketch's, bit for bit; batched shingles must equal
one-paragraph-at-a-time shingles."""

import subprocess
import sys

from datasketch import MinHash
from datasketch.minhash import _fmix
from hypothesis import given, settings
from hypothesis import strategies as st
import numpy as np
import pytest

from cleaner.config import Config
from cleaner.dedup import sketch
from cleaner.dedup.fingerprint import Fingerprinter, words
from cleaner.dedup.sketch import batch_shingles, combine_ngrams, fmix, minhash_signatures, word_hashes
from cleaner.dedup.sketch import permutations as seed_permutations
from cleaner.record import Document, Paragraph, Reject
from cleaner.text.segment import split_paragraphs
from tests.helpers import FIXTURES, SAMPLE_ARTICLE, needs_shared

DEMO_PARAGRAPHS = [
    paragraph
    for path in sorted((FIXTURES / "demo").rglob("*.txt"))
    for paragraph in split_paragraphs(path.read_bytes().decode("utf-8", "replace").replace("\r\n", "\n"))
]
HASH_SETS = st.lists(st.lists(st.integers(0, 2**32 - 1), max_size=40).map(sorted), max_size=12)


def datasketch_values(hashes, num_perm=128, seed=1) -> np.ndarray:
    """What datasketch itself computes for these 32-bit shingle hashes."""
    minhash = MinHash(num_perm=num_perm, seed=seed, hashfunc=int, scheme="affine32")
    minhash.update_batch([int(h) for h in hashes])
    return minhash.hashvalues


def permutations(num_perm=128, seed=1) -> np.ndarray:
    return MinHash(num_perm=num_perm, seed=seed, scheme="affine32").permutations


@pytest.mark.parametrize(("num_perm", "seed"), [(128, 1), (16, 0), (256, 42), (1024, 2**31 - 1)])
def test_permutations_are_datasketchs_for_the_seed(num_perm, seed):
    ours = seed_permutations(num_perm, seed)
    assert ours.dtype == np.uint32 and np.array_equal(ours, MinHash(num_perm=num_perm, seed=seed).permutations)


@pytest.mark.parametrize("width", [32, 64])
def test_the_pre_mix_is_datasketchs(width):
    dtype = np.uint32 if width == 32 else np.uint64
    values = np.random.default_rng(width).integers(0, 2**width, size=10_000, dtype=np.uint64).astype(dtype)
    values[:3] = [0, 1, 2**width - 1]
    assert np.array_equal(fmix(values, width), _fmix(values, width))


def test_cleaner_does_not_import_datasketch_or_scipy_to_run():
    """`import datasketch` costs scipy's import (0.4 s a run): a clean run must not need it."""
    code = ("import sys; from pathlib import Path; from cleaner import Config, clean_text; "
            "clean_text(Path(sys.argv[1]).read_text() * 2, Config()); "
            "assert not {'datasketch', 'scipy'} & set(sys.modules), sorted(sys.modules)")
    sample = sorted((FIXTURES / "demo").rglob("*.txt"))[0]
    subprocess.run([sys.executable, "-c", code, str(sample)], check=True)


def flatten(sets):
    hashes = np.array([h for s in sets for h in s], dtype=np.uint32)
    starts = np.cumsum([0] + [len(s) for s in sets[:-1]]).astype(np.intp) if sets else np.zeros(0, np.intp)
    return hashes, starts


def check_against_datasketch(paragraphs, num_perm=128, seed=1):
    hashes, starts = batch_shingles([words(p) for p in paragraphs], 3)
    signatures = minhash_signatures(hashes, starts, permutations(num_perm, seed))
    ends = np.append(starts[1:], len(hashes))
    checked = 0
    for row, (start, end) in enumerate(zip(starts, ends, strict=True)):
        assert np.array_equal(signatures[row], datasketch_values(hashes[start:end], num_perm, seed))
        checked += end > start
    return checked


def test_signatures_equal_datasketch_update_batch_on_real_text():
    assert check_against_datasketch(DEMO_PARAGRAPHS) >= 10


@needs_shared(SAMPLE_ARTICLE)
def test_signatures_equal_datasketch_on_the_shared_article():
    text = SAMPLE_ARTICLE.read_text(encoding="utf-8")
    assert check_against_datasketch(split_paragraphs(text), num_perm=256, seed=7) >= 3


def test_sets_split_across_numpy_blocks_give_the_same_values(monkeypatch):
    paragraphs = DEMO_PARAGRAPHS
    hashes, starts = batch_shingles([words(p) for p in paragraphs], 3)
    whole = minhash_signatures(hashes, starts, permutations())
    monkeypatch.setattr(sketch, "BLOCK_CELLS", 7 * 128)  # 7 shingles a block: most sets span blocks
    assert np.array_equal(minhash_signatures(hashes, starts, permutations()), whole)


@settings(max_examples=60, deadline=None)
@given(HASH_SETS, st.integers(1, 2**31))
def test_any_hash_sets_match_datasketch(sets, seed):
    hashes, starts = flatten(sets)
    signatures = minhash_signatures(hashes, starts, permutations(64, seed))
    assert signatures.shape == (len(sets), 64)
    for row, values in enumerate(sets):
        assert np.array_equal(signatures[row], datasketch_values(values, 64, seed))


def test_an_empty_set_gets_datasketchs_empty_value():
    signatures = minhash_signatures(np.array([5, 9], dtype=np.uint32), np.array([0, 0, 2]), permutations())
    assert np.array_equal(signatures[0], MinHash(num_perm=128, seed=1).hashvalues)
    assert np.array_equal(signatures[1], datasketch_values([5, 9]))
    assert np.array_equal(signatures[2], MinHash(num_perm=128, seed=1).hashvalues)


TOKENS = st.lists(st.lists(st.sampled_from([w.encode() for w in "a b c d river café 北京 x1 _".split()]), max_size=15),
                  max_size=8)


@settings(max_examples=80, deadline=None)
@given(TOKENS, st.integers(1, 5))
def test_batched_shingles_equal_one_paragraph_at_a_time(token_lists, n):
    hashes, starts = batch_shingles(token_lists, n)
    assert len(starts) == len(token_lists)
    ends = np.append(starts[1:], len(hashes))[:len(starts)]
    for tokens, start, end in zip(token_lists, starts, ends, strict=True):
        alone, _ = batch_shingles([tokens], n)
        assert np.array_equal(hashes[start:end], alone)
        assert len(alone) == len({tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)})
        assert np.all(np.diff(alone.astype(np.int64)) > 0)  # sorted, unique


def test_shingles_depend_on_word_order_and_never_span_paragraphs():
    forward = combine_ngrams(word_hashes([b"council", b"approved", b"budget"]), 3)
    backward = combine_ngrams(word_hashes([b"budget", b"approved", b"council"]), 3)
    assert len(forward) == 1 and forward[0] != backward[0]
    hashes, starts = batch_shingles([[b"a", b"b"], [b"c", b"d"]], 3)
    assert len(hashes) == 0 and list(starts) == [0, 0]


@pytest.mark.parametrize("config", [Config(), Config(ngram=1, min_words=1, num_perm=64, seed=3)])
def test_a_chunk_fingerprinted_at_once_equals_paragraph_by_paragraph(config):
    fingerprinter = Fingerprinter(config)
    texts = [*DEMO_PARAGRAPHS, "Short one.", "* * *", ""]
    cut = len(texts) // 2
    docs = [Document(id=name, source=name, paragraphs=[Paragraph(i, t) for i, t in enumerate(part)])
            for name, part in (("a", texts[:cut]), ("b", []), ("c", texts[cut:]))]
    docs.insert(1, Document(id="gone", source="gone", text=None))
    docs[1].reject = Reject("binary", "not text")
    fingerprinter.many(docs)
    batched = [p.fingerprint for doc in docs for p in doc.paragraphs]
    for alone, fp in zip(map(fingerprinter.fingerprint, texts), batched, strict=True):
        assert same_fingerprint(fp, alone)
    assert docs[1].fingerprint is None and docs[2].fingerprint.words == 0


@pytest.mark.parametrize("config", [Config(), Config(doc_threshold=0.0), Config(min_words=1, ngram=2, doc_ngram=2)])
def test_a_document_fingerprinted_in_one_pass_equals_paragraph_by_paragraph(config):
    fingerprinter = Fingerprinter(config)
    texts = [*DEMO_PARAGRAPHS[:12], "Short one.", "* * *"]
    doc = fingerprinter(Document(id="d", source="d", paragraphs=[Paragraph(i, t) for i, t in enumerate(texts)]))
    tokens = [words(t) for t in texts]
    expected = [fingerprinter.fingerprint_words(t, config.ngram) for t in tokens]
    for paragraph, alone in zip(doc.paragraphs, expected, strict=True):
        assert same_fingerprint(paragraph.fingerprint, alone)
    if config.documents_compared:
        assert same_fingerprint(doc.fingerprint, fingerprinter.document_fingerprint(tokens))
        assert doc.fingerprint.signature is not None
    else:
        assert doc.fingerprint is None


def same_fingerprint(a, b) -> bool:
    arrays = all((x is None and y is None) or (x is not None and y is not None and np.array_equal(x, y))
                 for x, y in ((a.shingles, b.shingles), (a.signature, b.signature)))
    return (a.key, a.words) == (b.key, b.words) and arrays
