"""text -> paragraphs, split at blank lines."""

from __future__ import annotations

import re

from .config import Config
from .record import Document, Paragraph, Reject

_BLANK_LINES = re.compile(r"\n[ \t]*\n\s*")


def split_paragraphs(text: str) -> list[str]:
    """Split normalised text at one or more blank lines; empty pieces are dropped."""
    return [piece for piece in _BLANK_LINES.split(text.strip()) if piece.strip()]


def segment_document(doc: Document, config: Config) -> Document:
    """Fill `doc.paragraphs`; a document with no text at all is rejected as empty."""
    if not doc.alive or doc.text is None:
        return doc
    pieces = split_paragraphs(doc.text)
    if not pieces:
        doc.reject = Reject("empty", "empty or whitespace-only")
        return doc
    doc.paragraphs = [Paragraph(index, text) for index, text in enumerate(pieces)]
    return doc
