import pytest

from cleaner.config import Config
from cleaner.dedup import Deduplicator, ParagraphIndex, candidate_probability, lsh_bands
from cleaner.fingerprint import Fingerprinter
from cleaner.record import Document, Paragraph, Ref

BUDGET = ("The city council approved a budget of 48 million dollars on Tuesday after a "
          "four-hour session that ran well past midnight in the old chamber")


def make_doc(name: str, *paragraphs: str, config: Config) -> Document:
    doc = Document(id=name, source=name, paragraphs=[Paragraph(i, t) for i, t in enumerate(paragraphs)])
    return Fingerprinter(config)(doc)


def removals(doc: Document):
    return [(p.index, p.removal.reason, p.removal.duplicate_of.paragraph) for p in doc.paragraphs if p.removal]


@pytest.mark.parametrize("threshold", [0.5, 0.7, 0.8, 0.9])
def test_bands_find_a_pair_at_the_threshold_with_the_asked_recall(threshold):
    bands, rows = lsh_bands(threshold, 128, 0.99)
    assert bands * rows <= 128
    assert candidate_probability(threshold, bands, rows) >= 0.99
    if bands * (rows + 1) <= 128:
        assert candidate_probability(threshold, 128 // (rows + 1), rows + 1) < 0.99


def test_exact_repeat_inside_a_document_points_at_the_first_copy():
    config = Config(scope="document")
    doc = make_doc("a.txt", "Intro line here.", BUDGET, "Middle text of the article.", BUDGET.upper(), config=config)
    list(Deduplicator(config)([doc]))
    assert removals(doc) == [(3, "exact_repeat", 1)]


def test_near_repeat_is_verified_and_reports_similarity():
    config = Config(scope="document")
    edited = BUDGET.replace("Tuesday", "Wednesday")
    doc = make_doc("a.txt", BUDGET, edited, config=config)
    list(Deduplicator(config)([doc]))
    [paragraph] = [p for p in doc.paragraphs if p.removal]
    assert paragraph.removal.reason == "near_repeat"
    assert config.threshold <= paragraph.removal.similarity < 1.0


def test_templated_near_misses_are_kept():
    config = Config(scope="corpus")
    a = make_doc("a.txt", "Harbour FC beat Millbrook Athletic 3-1 at the stadium on Saturday night.", config=config)
    b = make_doc("b.txt", "Coastal United beat Pine Valley 2-0 at the stadium on Sunday afternoon.", config=config)
    list(Deduplicator(config)([a, b]))
    assert removals(a) == removals(b) == []


def test_short_paragraphs_repeat_only_inside_a_document():
    config = Config(scope="corpus", min_words=5)
    a = make_doc("a.txt", "He added:", "Reuters", "He added:", config=config)
    b = make_doc("b.txt", "He added:", config=config)
    list(Deduplicator(config)([a, b]))
    assert removals(a) == [(2, "exact_repeat", 0)]
    assert removals(b) == []


def test_corpus_scope_removes_cross_document_copies_document_scope_does_not():
    for scope, expected in [("corpus", [(0, "exact_duplicate", 0)]), ("document", [])]:
        config = Config(scope=scope)
        a, b = make_doc("a.txt", BUDGET, config=config), make_doc("b.txt", BUDGET, config=config)
        list(Deduplicator(config)([a, b]))
        assert removals(b) == expected
        if expected:
            assert b.paragraphs[0].removal.duplicate_of == Ref("a.txt", "a.txt", 0)


def test_paragraphs_without_words_are_never_removed():
    config = Config()
    doc = make_doc("a.txt", "* * *", "Some text between the two rules.", "* * *", config=config)
    list(Deduplicator(config)([doc]))
    assert removals(doc) == []


def test_index_holds_only_what_was_added():
    config = Config()
    index = ParagraphIndex(config)
    fingerprint = Fingerprinter(config).fingerprint
    assert index.find(fingerprint(BUDGET)) is None
    index.add(Ref("a", "a", 0), fingerprint(BUDGET))
    match = index.find(fingerprint(BUDGET.replace("Tuesday", "Monday")))
    assert match is not None and match.ref == Ref("a", "a", 0) and not match.exact
