"""Bounded work on templated text: a band key returns at most KEY_CAP kept texts and a
lookup verifies at most VERIFY_BUDGET candidates beyond the sure ones. The batched stage
must still decide exactly as the one-at-a-time reference does, real near copies must still
be found, and the bounds must really apply (the count of capped lookups)."""

import pickle

import numpy as np

from cleaner.config import Config
from cleaner.dedup.decide import Deduplicator, paragraph_index
from cleaner.dedup.fingerprint import Fingerprinter
from cleaner.dedup.index import KEY_CAP, VERIFY_BUDGET, Found, sure_bands, to_verify
from cleaner.record import Document, Paragraph, Ref
from cleaner.run.report import Report
from tests.dedup.test_batch import outcome, prepared, reference_decisions


def templated(n: int) -> list[str]:
    return [f"Document number {i} says hello to the world today." for i in range(n)]


def test_templated_documents_decide_as_one_at_a_time_with_the_bounds_applied():
    """Past KEY_CAP documents sharing their template bands, with a near copy of a late one
    (one word changed: Jaccard 0.75) and an exact copy: the batched stage, at several batch
    sizes, equals the reference; both copies are found; the budget was hit and counted."""
    config = Config()
    texts = [[t] for t in templated(400)]
    texts += [["Document number 350 says hello to the world tonight."], [texts[399][0]]]
    expected = prepared(texts, config)
    reference_decisions(expected, config)
    for batch in (1, 7, 64):
        docs = prepared(texts, config)
        dedup = Deduplicator(config)
        dedup.BATCH = batch
        report = Report()
        list(report(dedup(docs)))
        assert outcome(docs) == outcome(expected)
        assert report.capped_lookups > 0 and report.as_dict()["capped_lookups"] == report.capped_lookups
    near, copy = docs[-2].paragraphs[0].removal, docs[-1].removal
    assert (near.reason, near.duplicate_of.id, near.similarity) == ("near_duplicate", "350.txt", 0.75)
    assert (copy.reason, copy.duplicate_of.id) == ("duplicate_document", "399.txt")
    assert sum(doc.removal is None and doc.paragraphs[0].removal is None for doc in docs) == 400


def test_a_checkpoint_inside_a_templated_batch_resumes_to_the_same_decisions():
    config = Config()
    texts = [[t] for t in templated(300)] + [["Document number 250 says hello to the world tonight."]]
    expected = prepared(texts, config)
    reference_decisions(expected, config)
    docs = prepared(texts, config)
    dedup = Deduplicator(config)
    stage = dedup(iter(docs))
    for _ in range(230):
        next(stage)
    resumed = Deduplicator(config)
    resumed.restore(pickle.loads(pickle.dumps(dedup.snapshot())))
    stage.close()
    list(resumed(iter(docs[230:])))
    assert outcome(docs) == outcome(expected)
    assert docs[-1].paragraphs[0].removal.duplicate_of.id == "250.txt"


def test_templated_lines_inside_one_document_decide_as_a_fresh_index_would():
    config = Config()
    lines = [*templated(300), "Document number 280 says hello to the world tonight."]
    expected, [doc] = prepared([lines], config), prepared([lines], config)
    reference_decisions(expected, config)
    list(Deduplicator(config)([doc]))
    assert outcome([doc]) == outcome(expected)
    assert doc.paragraphs[-1].removal.reason == "near_repeat"
    assert doc.paragraphs[-1].removal.duplicate_of.paragraph == 280
    assert doc.audit["capped_lookups"] > 0


def test_a_lookup_returns_at_most_key_cap_slots_a_band_however_many_share_it():
    config = Config()
    index = paragraph_index(config)
    fingerprint = Fingerprinter(config)
    docs = [fingerprint(Document(id=str(i), source=str(i), paragraphs=[Paragraph(0, t)]))
            for i, t in enumerate(templated(1500))]
    fps = [doc.paragraphs[0].fingerprint for doc in docs]
    index.add_many([Ref(str(i), str(i), 0) for i in range(len(fps))], fps)
    found = index.lookup_many(fps)
    assert max(len(f.candidates) for f in found) > VERIFY_BUDGET  # the crowd is there
    assert max(len(f.candidates) for f in found) <= index.banding.bands * KEY_CAP
    loads = index.band_load(index.banding.keys(np.stack([fp.signature for fp in fps])).ravel())
    assert loads.max() == KEY_CAP


def test_the_budget_keeps_every_candidate_sharing_the_sure_number_of_bands():
    """Past the budget, candidates are verified most shared bands first; those sharing as
    many bands as a pair at the threshold would are verified whatever their number."""
    sure = sure_bands(paragraph_index(Config()).banding, 0.7)
    few = Found(-1, list(range(VERIFY_BUDGET)), [1] * VERIFY_BUDGET)
    assert to_verify(few, sure) == (few.candidates, False)
    many = list(range(3 * VERIFY_BUDGET))
    shared = [sure if slot % 2 else 1 for slot in many]  # every odd slot is sure
    chosen, cut = to_verify(Found(-1, many, shared), sure)
    assert cut and sorted(chosen) == [slot for slot in many if slot % 2]
    shared = [2 if slot >= 2 * VERIFY_BUDGET + 10 else 1 for slot in many]  # the last 54 share two
    chosen, cut = to_verify(Found(-1, many, shared), sure)
    assert cut and chosen == many[2 * VERIFY_BUDGET + 10:] + many[:10]
