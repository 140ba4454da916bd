import re

from datasketch import MinHash
from hypothesis import given, settings
from hypothesis import strategies as st
import numpy as np

from cleaner.config import Config
from cleaner.dedup.fingerprint import Fingerprinter, as_minhash, exact_key, jaccard, shingle_hashes, words
from cleaner.dedup.sketch import sequence_keys, word_hashes
from cleaner.record import Document, Paragraph
from tests.helpers import FIXTURES

TEXT = "The council approved the budget after a long session that ran past midnight on Tuesday"


def test_exact_key_ignores_case_whitespace_and_punctuation():
    assert exact_key(words("Hello,   WORLD!")) == exact_key(words("hello world"))
    assert exact_key(words("hello world")) != exact_key(words("hello word"))


@settings(max_examples=400)
@given(st.text(st.one_of(st.characters(max_codepoint=127), st.sampled_from("éÉßİ\u212a\u0301١_")), max_size=40))
def test_words_are_the_regex_words_of_the_case_folded_text(text):
    """The ASCII shortcut (bytes.translate + split) and the regex give the same words."""
    assert words(text) == [w.encode("utf-8", "surrogatepass") for w in re.findall(r"\w+", text.casefold())]


def test_exact_keys_tell_every_distinct_demo_paragraph_apart_and_follow_word_order():
    texts = {" ".join(w.decode() for w in words(p)) for path in sorted((FIXTURES / "demo").rglob("*.txt"))
             for p in path.read_text(encoding="utf-8", errors="replace").split("\n\n")}
    sentences = [t.split() for t in texts if t] + [["a", "b"], ["b", "a"], ["a"], ["a", "a"], []]
    keys = {exact_key([w.encode() for w in s]) for s in sentences}
    assert len(keys) == len(sentences) > 20


@given(st.lists(st.lists(st.sampled_from([b"a", b"b", b"river", b"\xe5\x8c\x97"]), max_size=6), max_size=6))
def test_sequence_keys_of_many_runs_equal_one_run_at_a_time(runs):
    flat = [w for run in runs for w in run]
    keys = sequence_keys(word_hashes(flat), np.array([len(r) for r in runs], dtype=np.int64))
    assert keys.tolist() == [exact_key(run) for run in runs]


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
