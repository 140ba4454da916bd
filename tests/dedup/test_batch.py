"""Batched dedup decisions (cleaner.dedup.batch) against the plain index, one text at a time.

The reference below is the per-paragraph algorithm the batches replace: a fresh
`MemoryIndex` per document for repeats inside it, and `find` then `add` on the corpus
index for every paragraph. Every decision, similarity and `duplicate_of` must be equal.
"""

import pickle
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from cleaner.config import Config
from cleaner.dedup.decide import Deduplicator, paragraph_index
from cleaner.dedup.documents import DocumentDeduplicator
from cleaner.dedup.fingerprint import Fingerprinter
from cleaner.record import Document, Paragraph, Ref, Reject, Removal

WORDS = ("the council approved budget million dollars after session ran past midnight old chamber "
         "team beat cup final goal minister said on tuesday a of in").split()


def corpus(seed: int, documents: int) -> list[list[str]]:
    """Documents built from a few base paragraphs, copied, lightly edited and mixed, so exact
    repeats, near repeats at every similarity and unrelated paragraphs all occur."""
    rng = random.Random(seed)
    base = [" ".join(rng.choices(WORDS, k=rng.randint(3, 16))) for _ in range(8)]
    docs = []
    for _ in range(documents):
        paragraphs = []
        for _ in range(rng.randint(1, 7)):
            words = rng.choice(paragraphs if paragraphs and rng.random() < 0.3 else base).split()
            for _ in range(rng.choice((0, 0, 1, 2, 4))):
                words[rng.randrange(len(words))] = rng.choice(WORDS)
            paragraphs.append(" ".join(words))
        docs.append(paragraphs)
    if docs and rng.random() < 0.3:
        docs.append(list(docs[rng.randrange(len(docs))]))  # a whole copy for the document index
    return docs


def prepared(texts: list[list[str]], config: Config) -> list[Document]:
    fingerprint = Fingerprinter(config)
    return [fingerprint(Document(id=f"{i}.txt", source=f"{i}.txt",
                                 paragraphs=[Paragraph(j, t) for j, t in enumerate(paragraphs)]))
            for i, paragraphs in enumerate(texts)]


def reference_decisions(docs: list[Document], config: Config) -> None:
    """The unbatched algorithm: `find`/`add` per paragraph, an index per document."""
    documents = DocumentDeduplicator(config)
    corpus_index = paragraph_index(config) if config.scope == "corpus" else None
    for doc in docs:
        if documents.decide(doc):
            continue
        local = paragraph_index(config)
        for paragraph in doc.paragraphs:
            paragraph.removal = _judge(paragraph.fingerprint, local, corpus_index, config)
            if paragraph.removal is None and paragraph.fingerprint.words:
                local.add(Ref(doc.source, doc.id, paragraph.index), paragraph.fingerprint)
        for paragraph in doc.kept_paragraphs:
            if corpus_index is not None and paragraph.fingerprint.words >= config.min_words:
                corpus_index.add(Ref(doc.source, doc.id, paragraph.index), paragraph.fingerprint)
        if doc.kept_paragraphs:
            documents.remember(doc)


def _judge(fp, local, corpus_index, config) -> Removal | None:
    if fp.words == 0:
        return None
    for index, scope in ((local, "repeat"), (corpus_index if fp.words >= config.min_words else None, "duplicate")):
        match = index.find(fp) if index is not None else None
        if match is not None:
            reason = ("exact_" if match.exact else "near_") + scope
            return Removal(reason, match.ref, round(match.similarity, 4), round(match.estimated, 4))
    return None


def outcome(docs: list[Document]) -> list:
    return [(doc.removal, [p.removal for p in doc.paragraphs]) for doc in docs]


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), documents=st.integers(1, 40), batch=st.sampled_from([1, 3, 64, 512]),
       scope=st.sampled_from(["corpus", "document"]), threshold=st.sampled_from([0.5, 0.7]))
def test_batched_decisions_equal_one_paragraph_at_a_time(seed, documents, batch, scope, threshold):
    config = Config(scope=scope, threshold=threshold, min_words=4, doc_threshold=0.8 if scope == "corpus" else 0)
    texts = corpus(seed, documents)
    expected, batched = prepared(texts, config), prepared(texts, config)
    reference_decisions(expected, config)
    dedup = Deduplicator(config)
    dedup.BATCH = batch
    assert len(list(dedup(batched))) == len(batched)
    assert outcome(batched) == outcome(expected)


def test_many_copies_of_one_paragraph_in_one_document_point_at_the_first():
    config = Config()
    [doc] = prepared([[" ".join(WORDS[:12])] * 2000], config)
    list(Deduplicator(config)([doc]))
    assert doc.paragraphs[0].removal is None
    assert {(p.removal.reason, p.removal.duplicate_of.paragraph) for p in doc.paragraphs[1:]} == {("exact_repeat", 0)}


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), documents=st.integers(2, 40), cut=st.floats(0, 1))
def test_a_checkpoint_taken_inside_a_batch_resumes_to_the_same_decisions(seed, documents, cut):
    """What a resume does: the deduplicator's snapshot is pickled between two documents of a
    batch, and the rest of the input goes to a new one restored from it. What the batch added before the
    cut must be in the pickled indexes (its key tables are filled at the end of a batch)."""
    config = Config(min_words=4)
    texts = corpus(seed, documents)
    expected = prepared(texts, config)
    reference_decisions(expected, config)
    docs, at = prepared(texts, config), max(1, int(cut * len(texts)))
    dedup = Deduplicator(config)
    stage = dedup(iter(docs))
    for _ in range(at):
        next(stage)
    resumed = Deduplicator(config)
    resumed.restore(pickle.loads(pickle.dumps(dedup.snapshot())))
    stage.close()
    assert len(list(resumed(iter(docs[at:])))) == len(docs) - at
    assert outcome(docs) == outcome(expected)


def test_a_document_decided_by_hand_inside_a_batch_leaves_every_kept_paragraph_findable():
    """`decide(doc)` called by hand between two documents of a running batch appends to the
    index between the batch's own additions: every kept paragraph must still be keyed at
    its own slot, so the index finds it as an exact copy of the same text."""
    config = Config(min_words=4)
    docs = prepared(corpus(5, 14), config)
    dedup = Deduplicator(config)
    stage = dedup(iter([*docs[:6], *docs[7:]]))
    for _ in range(3):
        next(stage)
    dedup.decide(docs[6])
    list(stage)
    text_at = {(d.source, p.index): p.text for d in docs for p in d.paragraphs}
    kept = [(d, p) for d in docs if d.removal is None for p in d.kept_paragraphs if p.fingerprint.words >= 4]
    assert len(kept) > 10
    for doc, paragraph in kept:
        match = dedup.corpus.find(paragraph.fingerprint)
        assert match is not None and match.exact, (doc.source, paragraph.index)
        assert text_at[(match.ref.source, match.ref.paragraph)] == paragraph.text


def test_a_batch_without_a_living_document_or_a_paragraph_passes_through():
    """Rejected documents, and documents with no paragraph at all, make batches with no row."""
    config = Config()
    rejected = Document(id="r", source="r")
    rejected.reject = Reject("unreadable", "cannot decode")
    empty = Document(id="e", source="e")
    docs = [rejected, empty, *prepared([["one two three four five six"]], config)]
    for batch in (1, 2):
        dedup = Deduplicator(config)
        dedup.BATCH = batch
        assert list(dedup(docs)) == docs
    assert [doc.removal for doc in docs] == [None, None, None]
