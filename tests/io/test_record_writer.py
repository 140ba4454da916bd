"""A JSONL line written by joining pre-escaped paragraph bytes is the line `output_line` writes."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st
import pytest

from cleaner.config import Config
from cleaner.io.record_writer import escape_paragraphs, escaped, output_bytes, output_line
from cleaner.io.sources import open_source
from cleaner.record import Document, Paragraph, Removal
from tests.helpers import FIXTURES

WIRE = FIXTURES / "records" / "wire.jsonl"
# Any character, with control characters and lone surrogates (which st.characters leaves out) drawn often.
ANY_CHARACTER = st.one_of(st.characters(), st.characters(max_codepoint=0x1F), st.characters(categories=["Cs"]),
                          st.sampled_from('"\\/\u2028\u2029\x7f\ud800\udfff'))
TEXTS = st.text(ANY_CHARACTER, max_size=40)


def wire_documents() -> list[Document]:
    return list(open_source(WIRE, Config()).documents())


def line_or_error(doc: Document) -> bytes | type:
    try:
        return output_line(doc, Config()).encode("utf-8")
    except UnicodeEncodeError:
        return UnicodeEncodeError


def bytes_or_error(doc: Document) -> bytes | type:
    try:
        return output_bytes(doc, Config())
    except UnicodeEncodeError:
        return UnicodeEncodeError


@settings(max_examples=300)
@given(st.lists(TEXTS, max_size=6), TEXTS)
def test_escaped_pieces_joined_by_the_escaped_separator_are_the_escaped_whole(pieces: list[str], separator: str):
    whole = json.dumps(separator.join(pieces), ensure_ascii=False)
    parts = [escaped(piece) for piece in [*pieces, separator]]
    if None in parts:  # a lone surrogate: no UTF-8 for it, joined or not
        with pytest.raises(UnicodeEncodeError):
            whole.encode("utf-8")
        return
    assert b'"' + parts[-1].join(parts[:-1]) + b'"' == whole.encode("utf-8")


@settings(max_examples=200)
@given(st.data())
def test_a_line_from_escaped_paragraphs_is_byte_for_byte_the_line_written_whole(data: st.DataObject):
    docs = wire_documents()
    doc = docs[data.draw(st.integers(0, len(docs) - 1))]
    texts = data.draw(st.lists(TEXTS, min_size=1, max_size=5))
    doc.paragraphs = [Paragraph(i, text) for i, text in enumerate(texts)]
    for paragraph, removed in zip(doc.paragraphs, data.draw(st.lists(st.booleans(), min_size=len(texts),
                                                                     max_size=len(texts))), strict=True):
        paragraph.removal = Removal("exact_repeat") if removed else None
    doc.separator = data.draw(st.sampled_from(["\n\n", "\n", "\r\n"]))
    before = line_or_error(doc)
    escape_paragraphs(doc.paragraphs)
    assert bytes_or_error(doc) == before


def test_a_paragraph_escaped_or_not_writes_the_same_real_record():
    doc = next(d for d in wire_documents() if d.id == "wire-4")  # \u escapes, nested metadata
    doc.paragraphs = [Paragraph(0, "Café “new”\t\"quoted\"\\"), Paragraph(1, "Second.\x00\x1f")]
    plain = output_bytes(doc, Config())
    escape_paragraphs(doc.paragraphs[:1])  # one escaped, one not: the line is written whole
    assert output_bytes(doc, Config()) == plain
    escape_paragraphs(doc.paragraphs)
    assert output_bytes(doc, Config()) == plain == output_line(doc, Config()).encode("utf-8")
    assert json.loads(plain)["text"] == "Café “new”\t\"quoted\"\\\n\nSecond.\x00\x1f"


def test_a_line_without_an_id_field_gets_the_made_id_either_way(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text('{"text": "a b", "n": 1.50}\n', encoding="utf-8")
    [doc] = open_source(path, Config()).documents()
    doc.paragraphs = [Paragraph(0, "a b")]
    escape_paragraphs(doc.paragraphs)
    assert output_bytes(doc, Config()) == b'{"text": "a b", "n": 1.50, "id": "x.jsonl:1"}\n'


def test_a_lone_surrogate_is_not_escaped_and_fails_as_the_whole_line_does():
    doc = wire_documents()[0]
    doc.paragraphs = [Paragraph(0, "kept \ud800 half"), Paragraph(1, "fine")]
    escape_paragraphs(doc.paragraphs)
    assert doc.paragraphs[0].escaped is None and doc.paragraphs[1].escaped == b"fine"
    with pytest.raises(UnicodeEncodeError):
        output_bytes(doc, Config())
    doc.paragraphs[0].removal = Removal("exact_repeat")  # removed: the rest is joined
    assert output_bytes(doc, Config()) == output_line(doc, Config()).encode("utf-8")
