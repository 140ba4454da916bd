import pickle

import pytest

from cleaner.api import clean_documents
from cleaner.config import Config
from cleaner.dedup.decide import Deduplicator
from cleaner.dedup.fingerprint import Fingerprinter
from cleaner.errors import UsageError
from cleaner.record import Document, Paragraph, Ref
from cleaner.run.chain import document_steps, find_boilerplate, prepare

BUDGET = ("The city council approved a budget of 48 million dollars on Tuesday after a "
          "four-hour session that ran well past midnight in the old chamber")


def make_doc(name: str, *paragraphs: str, config: Config) -> Document:
    doc = Document(id=name, source=name, paragraphs=[Paragraph(i, t) for i, t in enumerate(paragraphs)])
    return Fingerprinter(config)(doc)


def removals(doc: Document):
    return [(p.index, p.removal.reason, p.removal.duplicate_of and p.removal.duplicate_of.paragraph)
            for p in doc.paragraphs if p.removal]


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
        config = Config(scope=scope, doc_threshold=0.0)  # paragraphs only, no document dedup
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


STORY = [
    "The Old Mill Bridge will close to all traffic from the first of March while engineers "
    "replace its corroded steel bearings, the county highways department said on Monday.",
    "Drivers will be sent on a signed diversion through Ashby and Kelling that adds roughly "
    "eleven minutes to the journey at peak times, officials said.",
    "Local traders fear the closure will keep shoppers away from the high street during the spring season.",
]


def prepared(name: str, paragraphs: list[str], config: Config) -> Document:
    doc = Document(id=name, source=name, raw="\n\n".join(paragraphs).encode())
    return prepare(document_steps(config))([doc]).__next__()


def test_boilerplate_is_removed_from_every_document_that_has_it():
    config = Config(boilerplate_min_docs=3, doc_threshold=0.0)
    footer = "Sign up for our morning newsletter to get the best local stories."
    texts = {"a.txt": [STORY[0], footer], "b.txt": [STORY[1], footer.upper()], "c.txt": [footer, STORY[2]],
             "d.txt": ["A story of its own with nothing repeated from anywhere else."]}

    def fresh():
        return [Document(id=n, source=n, raw="\n\n".join(ps).encode()) for n, ps in texts.items()]

    counts = find_boilerplate(fresh(), config)
    assert list(counts.values()) == [3]
    docs = list(clean_documents(fresh(), config, counts))
    assert [removals(d) for d in docs] == [[(1, "boilerplate", None)], [(1, "boilerplate", None)],
                                           [(0, "boilerplate", None)], []]
    assert docs[0].paragraphs[1].removal.documents == 3
    assert find_boilerplate(fresh()[:2], config) == {}  # in 2 documents only: below K


def test_boilerplate_needs_the_first_pass():
    with pytest.raises(UsageError, match="needs a first pass"):
        clean_documents([], Config(boilerplate_min_docs=2))


def test_boilerplate_skips_short_paragraphs_and_dropped_duplicate_documents():
    config = Config(boilerplate_min_docs=2)
    docs = [Document(id=n, source=n, raw="\n\n".join([*STORY, "Advertisement"]).encode()) for n in ("a", "b")]
    assert find_boilerplate(docs, config) == {}  # b is a duplicate document; "Advertisement" is short


def test_stages_pickled_mid_run_decide_exactly_as_an_uninterrupted_run():
    config = Config(min_words=3)
    texts = [[STORY[0], STORY[1]], [STORY[1].replace("eleven", "twelve"), "Something else entirely here."],
             [STORY[0], STORY[2]], [STORY[2], "Something else entirely here!"], [STORY[0], STORY[1]]]

    def fresh():
        return [prepared(f"{i}.txt", t, config) for i, t in enumerate(texts)]

    def decisions(docs):
        return [(d.removal, [p.removal for p in d.paragraphs]) for d in docs]

    whole = fresh()
    list(Deduplicator(config)(whole))
    first, rest = fresh()[:2], fresh()[2:]
    stage = Deduplicator(config)
    list(stage(first))
    list(pickle.loads(pickle.dumps(stage))(rest))
    assert decisions(first + rest) == decisions(whole)
    assert any(p.removal for d in rest for p in d.paragraphs) and any(d.removal for d in rest)


def test_a_document_emptied_by_paragraph_dedup_is_never_the_kept_copy_of_another():
    config = Config(min_words=3)
    docs = [prepared(f"{i}.txt", texts, config) for i, texts in
            enumerate([[STORY[0], STORY[1]], [STORY[1]], [STORY[1]], [STORY[1]]])]
    list(Deduplicator(config)(docs))
    assert removals(docs[1]) == removals(docs[2]) == [(0, "exact_duplicate", 1)]
    assert docs[1].removal is None and docs[2].removal is None  # 1.txt has no output to point at
