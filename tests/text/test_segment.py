from hypothesis import given, settings
from hypothesis import strategies as st
import pytest

from cleaner import clean_text
from cleaner.config import Config
from cleaner.record import Document
from cleaner.text.normalize import normalize_document, normalize_text
from cleaner.text.segment import choose_mode, segment_document, split_paragraphs


def test_paragraphs_split_at_blank_lines_and_keep_inner_lines():
    assert split_paragraphs("Title\n\nFirst line\nsecond line\n\n\n\nLast") == [
        "Title", "First line\nsecond line", "Last"]


def test_whitespace_only_lines_count_as_blank():
    assert split_paragraphs("a\n \t \nb") == ["a", "b"]


def test_empty_document_is_rejected_not_dropped():
    doc = segment_document(Document(id="e", source="e.txt", text=""), Config())
    assert doc.reject is not None and doc.reject.reason == "empty"
    assert doc.paragraphs == []


def test_paragraph_indexes_follow_segmentation():
    doc = segment_document(Document(id="d", source="d.txt", text="a\n\nb\n\nc"), Config())
    assert [(p.index, p.text) for p in doc.paragraphs] == [(0, "a"), (1, "b"), (2, "c")]


# Hard-wrapped newswire: paragraphs start at an indented line, lines wrap flush left.
WIRE = ("The authority said it will raise\ndock fees by 4.5 pct.\n"
        "    Higher dredging costs forced\nthe increase, it said.\n"
        "    Shipping lines will pass it on.\n\n Wire\n\x03")


def segment(text: str, **options) -> Document:
    config = Config(**options)
    doc = Document(id="d", source="d", text=text)
    return segment_document(normalize_document(doc, config), config)


def test_normalising_for_indent_mode_keeps_one_space_of_indentation():
    assert normalize_text("  a  b \n\t c\n   \n d ", keep_indent=True) == " a b\n c\n\n d"
    assert normalize_text("  a  b \n\t c\n   \n d ") == "a b\nc\n\nd"


def test_indent_mode_splits_newswire_at_indented_lines():
    doc = segment(WIRE, paragraphs="indent")
    assert [p.text for p in doc.paragraphs] == [
        "The authority said it will raise\ndock fees by 4.5 pct.",
        "Higher dredging costs forced\nthe increase, it said.",
        "Shipping lines will pass it on.",
        "Wire",
    ]


def test_blank_mode_keeps_newswire_as_one_block_without_indentation():
    [first, wire] = segment(WIRE).paragraphs
    assert first.text.startswith("The authority") and "\nHigher dredging" in first.text
    assert wire.text == "Wire"


def test_unwrap_rejoins_lines_only_when_asked():
    doc = segment(WIRE, paragraphs="indent", unwrap=True)
    assert doc.paragraphs[0].text == "The authority said it will raise dock fees by 4.5 pct."
    assert doc.cleaned_text().startswith("The authority said it will raise dock fees by 4.5 pct.\n\nHigher")


def test_line_mode_makes_every_line_a_paragraph_and_writes_lines_back():
    doc = segment("One.\nTwo.\n\nThree.", paragraphs="line")
    assert [p.text for p in doc.paragraphs] == ["One.", "Two.", "Three."]
    assert doc.cleaned_text() == "One.\nTwo.\nThree.\n"


@pytest.mark.parametrize(("text", "mode"), [
    (normalize_text(WIRE, keep_indent=True), "indent"),
    ("Title\n\nA paragraph that\nwraps.\n\nAnother one.", "blank"),
    # a block where every line is indented is layout (a table), not paragraph marks
    ("Results:\n Shr 10 cts vs 8 cts\n Net 1.2 mln vs 1.0 mln", "blank"),
    ("First sentence here.\nSecond one here!\nA third, asking?\nAnd a fourth.", "line"),
    # hard-wrapped prose without marks: lines rarely end a sentence
    ("The council met on\nTuesday and voted to\nraise the budget by\nfour percent.", "blank"),
    ("One line only.", "blank"),
])
def test_auto_mode_rule(text, mode):
    assert choose_mode(text) == mode


def test_auto_mode_records_its_choice_in_the_audit():
    doc = segment(WIRE, paragraphs="auto")
    assert doc.audit["paragraphs"] == "indent" and len(doc.paragraphs) == 4


@given(st.lists(st.text(st.characters(codec="utf-8", exclude_characters="\r"), max_size=40), max_size=8),
       st.sampled_from(["blank", "indent", "line", "auto"]), st.booleans())
def test_every_mode_keeps_every_word(lines, mode, unwrap):
    text = normalize_text("\n".join(lines), keep_indent=True)
    assert split_paragraphs(text, mode, unwrap) == [p for p in split_paragraphs(text, mode, unwrap) if p]
    assert " ".join(split_paragraphs(text, mode, unwrap)).split() == text.split()


@settings(max_examples=80, deadline=None)
@given(st.lists(st.sampled_from(["The dock fees rise.", "    Lines pass it on", "to shippers.", "", " Wire",
                                 "Crews worked all night.", "\t4.5 pct"]), max_size=12),
       st.sampled_from(["blank", "indent", "line", "auto"]), st.booleans())
def test_cleaning_is_idempotent_in_every_mode(lines, mode, unwrap):
    config = Config(paragraphs=mode, unwrap=unwrap, scope="document")
    once = clean_text("\n".join(lines), config)
    assert clean_text(once, config) == once


def test_segmenting_moves_the_text_into_paragraphs():
    doc = segment_document(Document(id="d", source="d", text="One.\n\nTwo."), Config())
    assert [p.text for p in doc.paragraphs] == ["One.", "Two."] and doc.text is None


def test_auto_mode_stays_idempotent_when_dedup_leaves_one_block_of_sentence_lines():
    """Found by hypothesis: kept whole, the first block was all that was left, and the next
    run read it as `line` mode. `auto` splits a block of sentence lines into its lines."""
    config = Config(paragraphs="auto", scope="document")
    for text in ("The dock fees rise.\nThe dock fees rise.\n\nThe dock fees rise.\nThe dock fees rise.",
                 "The dock fees rise.\nThe dock fees rise.\n Wire\nThe dock fees rise.\nThe dock fees rise."):
        once = clean_text(text, config)
        assert clean_text(once, config) == once


def test_auto_mode_splits_a_block_of_sentence_lines_in_a_blank_line_document():
    text = "Harbour notes\n\nThe dock fees rise.\nCrews worked all night.\n\nThe council met on\nTuesday."
    assert split_paragraphs(text, "auto") == ["Harbour notes", "The dock fees rise.", "Crews worked all night.",
                                              "The council met on\nTuesday."]
    assert split_paragraphs(text, "blank")[1] == "The dock fees rise.\nCrews worked all night."
