from cleaner.config import Config
from cleaner.record import Document
from cleaner.segment import segment_document, split_paragraphs


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
