"""bytes -> str, with what was done recorded in the document's audit."""

from __future__ import annotations

import codecs

from .config import Config
from .record import Document, Reject


def decode_bytes(raw: bytes) -> tuple[str, str]:
    """Decode strict UTF-8, dropping a BOM. Returns (text, encoding name).

    Raises UnicodeDecodeError when the bytes are not UTF-8.
    """
    if raw.startswith(codecs.BOM_UTF8):
        return raw[len(codecs.BOM_UTF8):].decode("utf-8"), "utf-8-sig"
    return raw.decode("utf-8"), "utf-8"


def decode_document(doc: Document, config: Config) -> Document:
    """Fill `doc.text` from `doc.raw`; reject the document when it cannot be decoded."""
    if not doc.alive or doc.raw is None:
        return doc
    try:
        doc.text, doc.audit["decoded_as"] = decode_bytes(doc.raw)
    except UnicodeDecodeError as err:
        line = doc.raw.count(b"\n", 0, err.start) + 1
        bad = doc.raw[err.start:err.start + 1].hex()
        doc.reject = Reject("not_utf8", f"not valid UTF-8 (byte 0x{bad} at line {line})", line)
    doc.raw = None
    return doc
