"""What travels to a worker and back: a document without what no step reads, and the
results as columns (one list per field, one numpy array per array field, for a whole
chunk) rather than thousands of small pickled objects."""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

import numpy as np

from cleaner.record import Document, Fingerprint, Origin, Paragraph

# Fields no per-document step changes: they stay in the main process and never come back
# from a worker (`origin` is not even sent, see `outbound`).
_KEPT_HERE = ("id", "source", "origin", "bytes_in")
_STEP_FIELDS = tuple(f.name for f in dataclasses.fields(Document) if f.name not in _KEPT_HERE)
_SCALAR_STEP_FIELDS = tuple(name for name in _STEP_FIELDS if name not in ("paragraphs", "fingerprint"))

def outbound(doc: Document) -> Document:
    """What a worker needs of `doc`: all but `origin` (for records, the whole original
    record), which no step reads and which stays here with the original document."""
    return dataclasses.replace(doc, origin=None) if doc.origin is not None else doc



# --- columnar transport -------------------------------------------------------------------

_ARRAYS = "arrays"


def _column(values: list[Any]) -> Any:
    """One field of many records: the list itself, or, when every non-None value is a numpy
    array of one dtype and trailing shape, one concatenated array and the lengths (-1: None)."""
    arrays = [v for v in values if v is not None]
    if not arrays or not all(isinstance(v, np.ndarray) and v.ndim >= 1 for v in arrays):
        return values
    kinds = {(v.dtype, v.shape[1:]) for v in arrays}
    if len(kinds) != 1:
        return values
    lengths = [-1 if v is None else len(v) for v in values]
    return (_ARRAYS, np.concatenate(arrays), lengths)


def _values(column: Any) -> list[Any]:
    if not (isinstance(column, tuple) and column[:1] == (_ARRAYS,)):
        return column
    _, flat, lengths = column
    ends = np.cumsum([max(length, 0) for length in lengths]).tolist()
    # Views into the chunk's array: the index copies what it keeps, so the array lives only
    # as long as the chunk's documents are on their way.
    return [None if length < 0 else flat[end - length:end] for length, end in zip(lengths, ends, strict=True)]


def _columns(records: list[Any], cls: type, skip: str = "") -> list[Any]:
    """Every field of `records` as a column, in field order; `skip` travels as Nones."""
    return [[None] * len(records) if f.name == skip else _column([getattr(r, f.name) for r in records])
            for f in dataclasses.fields(cls)]


def _records(columns: list[Any], cls: type) -> list[Any]:
    return list(itertools.starmap(cls, zip(*map(_values, columns), strict=True)))


def pack(docs: list[Document]) -> tuple:
    """What the steps changed in `docs`, as plain picklable columns: each changed field of
    the documents as a list, then the paragraphs' fields, then the fingerprints' fields (the
    paragraphs', then the documents'), each as one column for all of them."""
    paragraphs = [p for doc in docs for p in doc.paragraphs]
    fingerprints = [p.fingerprint for p in paragraphs] + [doc.fingerprint for doc in docs]
    fields = {name: [getattr(doc, name) for doc in docs] for name in _SCALAR_STEP_FIELDS}
    counts = [len(doc.paragraphs) for doc in docs]
    present = [fp is not None for fp in fingerprints]
    return (fields, counts, _columns(paragraphs, Paragraph, skip="fingerprint"), present,
            _columns([fp for fp in fingerprints if fp is not None], Fingerprint))


def unpack(packed: tuple, docs: list[Document]) -> list[Document]:
    """Give `docs`, the documents `pack` was given as this process holds them, what the
    steps changed: afterwards they equal the packed ones field for field."""
    fields, counts, paragraph_columns, present, fingerprint_columns = packed
    for name, values in fields.items():
        for doc, value in zip(docs, values, strict=True):
            setattr(doc, name, value)
    found = iter(_records(fingerprint_columns, Fingerprint))
    fingerprints = [next(found) if has else None for has in present]
    paragraphs = _records(paragraph_columns, Paragraph)
    for paragraph, fingerprint in zip(paragraphs, fingerprints[:len(paragraphs)], strict=True):
        paragraph.fingerprint = fingerprint
    start = 0
    for doc, count, fingerprint in zip(docs, counts, fingerprints[len(paragraphs):], strict=True):
        doc.paragraphs = paragraphs[start:start + count]
        doc.fingerprint = fingerprint
        start += count
    return docs


def pack_whole(docs: list[Document]) -> tuple:
    """Whole documents as columns, for a main process that holds nothing of them (a worker
    read them itself): what `pack` sends, and their ids, sources, sizes and origins."""
    origins = [doc.origin for doc in docs if doc.origin is not None]
    head = ([doc.id for doc in docs], [doc.source for doc in docs], [doc.bytes_in for doc in docs],
            [doc.origin is not None for doc in docs])
    return head, _columns(origins, Origin), pack(docs)


def unpack_whole(packed: tuple) -> list[Document]:
    """The documents `pack_whole` was given, equal field for field."""
    (ids, sources, sizes, has_origin), origin_columns, rest = packed
    origins = iter(_records(origin_columns, Origin))
    docs = [Document(id=ident, source=source, bytes_in=size, origin=next(origins) if has else None)
            for ident, source, size, has in zip(ids, sources, sizes, has_origin, strict=True)]
    return unpack(rest, docs)
