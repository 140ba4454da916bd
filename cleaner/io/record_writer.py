"""A cleaned record as it is written back: its fields in order, only the text replaced."""

from __future__ import annotations

import json
from typing import Any

from cleaner.config import Config
from cleaner.io.logs import to_json_line
from cleaner.record import Document


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
