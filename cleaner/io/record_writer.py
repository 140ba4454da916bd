"""A cleaned record as it is written back: its fields in order, only the text replaced."""

from __future__ import annotations

from collections.abc import Iterable
import functools
import json
from json.encoder import encode_basestring  # what json.dumps(a str, ensure_ascii=False) is
from typing import Any

from cleaner.config import Config
from cleaner.io.logs import to_json_line
from cleaner.record import Document, Paragraph


def record_text(doc: Document) -> str:
    """The cleaned text as stored in a record: kept paragraphs, no final newline (what
    `cleaned_text` holds before its newline, joined once: no copy of the text to drop it)."""
    return doc.separator.join([p.text for p in doc.paragraphs if p.removal is None])


def output_record(doc: Document, config: Config) -> dict[str, Any]:
    """The record to write: the original fields in order, the text replaced, the id added
    when the input had none (a text file becomes {id: its path, text: ...})."""
    record = doc.origin
    fields = dict(record.fields) if record is not None else {config.id_field: doc.id}
    fields[config.text_field] = record_text(doc)
    fields.setdefault(config.id_field, doc.id)
    return fields


def output_line(doc: Document, config: Config) -> str:
    """One JSONL line; for a line read from JSONL only the text value's characters change."""
    record = doc.origin
    if record is None or record.raw is None or record.span is None:
        return to_json_line(output_record(doc, config))
    start, end = record.span
    line = record.raw[:start] + json.dumps(record_text(doc), ensure_ascii=False) + record.raw[end:]
    if config.id_field not in record.fields:
        close = line.rstrip().rfind("}")
        line = f"{line[:close]}, {json.dumps(config.id_field)}: {json.dumps(doc.id, ensure_ascii=False)}{line[close:]}"
    return line + "\n"


def escaped(text: str) -> bytes | None:
    """`text` as the characters between the quotes of its JSON string (as `output_line`
    writes it), UTF-8 encoded; None when it cannot be UTF-8 (a lone surrogate).

    JSON escapes a string character by character, so the escaped paragraphs joined by the
    escaped separator are the escaped record text: a worker escapes each paragraph once,
    and the main process writes a line by joining bytes (`output_bytes`)."""
    try:
        return encode_basestring(text)[1:-1].encode("utf-8")
    except UnicodeEncodeError:
        return None


def escape_paragraphs(paragraphs: Iterable[Paragraph]) -> None:
    """Give each paragraph its `escaped` text (in a worker, before the trip back)."""
    for paragraph in paragraphs:
        paragraph.escaped = escaped(paragraph.text)


@functools.lru_cache(maxsize=16)
def _escaped_separator(separator: str) -> bytes | None:
    return escaped(separator)


def output_bytes(doc: Document, config: Config) -> bytes:
    """`output_line(doc, config)` as UTF-8, the same bytes; for a line read from JSONL whose
    kept paragraphs all hold their `escaped` text, made by joining those bytes."""
    record = doc.origin
    separator = _escaped_separator(doc.separator)
    if record is None or record.raw is None or record.span is None or separator is None \
            or config.id_field not in record.fields:
        return output_line(doc, config).encode("utf-8")
    pieces = [p.escaped for p in doc.paragraphs if p.removal is None]
    if None in pieces:
        return output_line(doc, config).encode("utf-8")
    start, end = record.span
    try:
        head, tail = record.raw[:start].encode("utf-8"), record.raw[end:].encode("utf-8")
    except UnicodeEncodeError:  # fails as the whole line does
        return output_line(doc, config).encode("utf-8")
    return b"".join((head, b'"', separator.join(pieces), b'"', tail, b"\n"))  # type: ignore[arg-type]
