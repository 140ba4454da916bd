"""Properties that must hold for any text: idempotence, nothing lost, clean text untouched."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cleaner import Config, clean_documents, clean_text
from cleaner.dedup.fingerprint import exact_key, words
from cleaner.record import Document

# Real words in several scripts: clean text that ftfy must leave alone.
VOCABULARY = (
    "council budget river İstanbul şehir Ağustos Αθήνα είναι Москва улица 北京 天气 "
    "東京 ありがとう café naïve façade 😀 👍🏽 ∑ ≤ π 48 3-1 “quoted” — co-op"
).split()
WORD = st.one_of(st.sampled_from(VOCABULARY), st.text("abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=8))
LINE = st.lists(WORD, min_size=1, max_size=12).map(" ".join)
PARAGRAPH = st.lists(LINE, min_size=1, max_size=3).map("\n".join)
DOCUMENT = st.lists(PARAGRAPH, min_size=1, max_size=8)
MESSY = st.text(st.characters(codec="utf-8"), max_size=300)
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(MESSY)
def test_cleaning_is_idempotent(text):
    once = clean_text(text)
    assert clean_text(once) == once


@SETTINGS
@given(st.lists(DOCUMENT, min_size=1, max_size=4), st.sampled_from(["document", "corpus"]))
def test_kept_plus_removed_paragraphs_equal_the_input(documents, scope):
    docs = [Document(id=str(i), source=f"{i}.txt", raw="\n\n".join(d).encode()) for i, d in enumerate(documents)]
    out = list(clean_documents(docs, Config(scope=scope)))
    assert [d.source for d in out] == [d.source for d in docs]
    by_source = {d.source: d for d in out}
    for doc in out:
        assert doc.reject is None
        assert [p.index for p in doc.paragraphs] == list(range(len(doc.paragraphs)))
        assert "\n\n".join(p.text for p in doc.paragraphs) == "\n\n".join(documents[int(doc.id)])
        for p in doc.paragraphs:
            if p.removal is not None:
                ref = p.removal.duplicate_of
                assert by_source[ref.source].paragraphs[ref.paragraph].removal is None


@SETTINGS
@given(DOCUMENT)
def test_clean_text_without_repeats_passes_through_but_for_the_final_newline(paragraphs):
    keys = [exact_key(words(p)) for p in paragraphs if words(p)]  # no words ("😀"): never removed
    text = "\n\n".join(paragraphs)
    expected = text + "\n"
    if len(set(keys)) < len(keys):  # an exact repeat must go: the output is shorter
        assert len(clean_text(text)) < len(expected)
    else:
        assert clean_text(text, Config(scope="document", threshold=1.0)) == expected
