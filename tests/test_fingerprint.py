from datasketch import MinHash
import numpy as np

from cleaner.config import Config
from cleaner.fingerprint import Fingerprinter, as_minhash, exact_key, jaccard, shingle_hashes, words
from cleaner.record import Document, Paragraph

TEXT = "The council approved the budget after a long session that ran past midnight on Tuesday"


def test_exact_key_ignores_case_whitespace_and_punctuation():
    assert exact_key(words("Hello,   WORLD!")) == exact_key(words("hello world"))
    assert exact_key(words("hello world")) != exact_key(words("hello word"))


def test_shingles_are_sorted_unique_word_ngrams():
    hashes = shingle_hashes(words("a b c a b c"), 3)
    assert len(hashes) == 3  # "a b c", "b c a", "c a b"
    assert list(hashes) == sorted(set(hashes.tolist()))
    assert len(shingle_hashes(words("too short"), 3)) == 0


def test_jaccard_is_exact_on_sets():
    a = np.array([1, 2, 3, 4], dtype=np.uint32)
    b = np.array([3, 4, 5, 6], dtype=np.uint32)
    assert jaccard(a, b) == 2 / 6
    assert jaccard(a, a) == 1.0


def test_signature_matches_datasketch_minhash_of_the_same_hashes():
    config = Config()
    fp = Fingerprinter(config).fingerprint(TEXT)
    reference = MinHash(num_perm=config.num_perm, seed=config.seed, hashfunc=int)
    reference.update_batch(fp.shingles.tolist())
    assert np.array_equal(fp.signature, reference.hashvalues)
    assert as_minhash(fp.signature, config.seed).jaccard(reference) == 1.0


def test_short_paragraphs_get_only_an_exact_key():
    fp = Fingerprinter(Config(min_words=5)).fingerprint("He added:")
    assert fp.words == 2 and fp.signature is None and fp.shingles is None


def test_minhash_estimate_tracks_true_similarity():
    fingerprint = Fingerprinter(Config(num_perm=256)).fingerprint
    a = fingerprint(TEXT)
    b = fingerprint(TEXT.replace("Tuesday", "Wednesday"))
    true = jaccard(a.shingles, b.shingles)
    estimate = float(np.mean(a.signature == b.signature))
    assert abs(true - estimate) < 0.15


def test_keys_only_gives_paragraph_keys_and_a_full_document_fingerprint():
    config = Config()
    doc = Document(id="a", source="a", paragraphs=[Paragraph(0, TEXT), Paragraph(1, TEXT.upper())])
    Fingerprinter(config, keys_only=True)(doc)
    full = Fingerprinter(config).fingerprint(TEXT)
    assert [p.fingerprint.key for p in doc.paragraphs] == [full.key, full.key]
    assert all(p.fingerprint.signature is None for p in doc.paragraphs)
    assert doc.fingerprint is not None and doc.fingerprint.signature is not None
