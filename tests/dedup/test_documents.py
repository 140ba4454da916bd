"""Whole documents (cleaner.dedup.documents): a near copy is dropped whole and names the
first; document comparison off by scope or threshold; short documents left to paragraphs."""

from cleaner.config import Config
from cleaner.dedup.documents import DocumentDeduplicator
from cleaner.record import Ref
from tests.dedup.test_decide import STORY, prepared


def test_a_near_copy_of_a_document_is_dropped_whole_pointing_at_the_first():
    config = Config()
    first = prepared("a.txt", STORY, config)
    copy = prepared("b.txt", [*STORY[:2], STORY[2].replace("spring", "summer"), "Reporting by an agency."], config)
    other = prepared("c.txt", STORY[:1], config)
    list(DocumentDeduplicator(config)([first, copy, other]))
    assert first.removal is None and other.removal is None
    assert copy.removal.reason == "duplicate_document"
    assert copy.removal.duplicate_of == Ref("a.txt", "a.txt")
    assert config.doc_threshold <= copy.removal.similarity < 1.0
    assert copy.removal.estimated_similarity is not None


def test_document_dedup_is_off_in_document_scope_and_at_threshold_zero():
    for config in [Config(scope="document"), Config(doc_threshold=0.0)]:
        docs = [prepared(name, STORY, config) for name in ("a.txt", "b.txt")]
        list(DocumentDeduplicator(config)(docs))
        assert all(d.removal is None for d in docs) and docs[1].fingerprint is None


def test_short_documents_are_left_to_the_paragraph_rules():
    config = Config(min_words=5)
    docs = [prepared(name, ["Advertisement"], config) for name in ("a.txt", "b.txt")]
    list(DocumentDeduplicator(config)(docs))
    assert all(d.removal is None for d in docs)
