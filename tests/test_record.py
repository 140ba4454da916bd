"""cleaner.record: what a document says about itself without building its output."""

from hypothesis import given
from hypothesis import strategies as st

from cleaner.record import Cut, Document, Paragraph, Ref, Removal

# Real paragraph shapes: ASCII prose, accented and CJK text, and lone surrogates (bytes a
# decoder kept by surrogateescape), which `cleaned_text()` writes back as the bytes they were.
PIECES = ["Shares rose 4.5 pct on Monday.", "Zürich café prices", "東京の株価は上昇した。", "\udcff\udc80",
          " ", "\n", "Ölpreis ☕ 12 €"]
texts = st.lists(st.sampled_from(PIECES), min_size=1, max_size=6).map("".join)


@st.composite
def paragraphs(draw, index: int = 0) -> Paragraph:
    text = draw(texts)
    cuts = []
    if draw(st.booleans()) and len(text) > 2:
        start = draw(st.integers(0, len(text) - 2))
        end = draw(st.integers(start + 1, len(text)))
        cuts = [Cut(start, end, Ref("a.txt", "a", 0), (0, 0, end - start), 0.9)]
    removal = Removal("exact_repeat") if draw(st.integers(0, 3)) == 0 else None
    return Paragraph(index, text, removal=removal, cuts=cuts)


@given(st.lists(paragraphs(), max_size=8), st.sampled_from(["\n\n", "\n"]))
def test_cleaned_size_is_the_utf8_length_of_cleaned_text(paras, separator):
    doc = Document(id="d", source="d.txt", paragraphs=paras, separator=separator)
    assert doc.cleaned_size() == len(doc.cleaned_text().encode("utf-8", "surrogateescape"))


def test_cleaned_size_of_a_document_with_nothing_kept_is_zero():
    doc = Document(id="d", source="d.txt", paragraphs=[Paragraph(0, "Gone.", removal=Removal("exact_repeat"))])
    assert doc.cleaned_size() == 0 == len(doc.cleaned_text())
