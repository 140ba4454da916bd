"""Cleaned documents and the logs, written atomically.

Every file is written under a temporary name in its own folder and renamed into place, so
a reader never sees half a file. Logs grow as `.partial` files and are renamed only when
the run completes; the completion marker `_SUCCESS` is written after everything else.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
import contextlib
import json
import os
from pathlib import Path
from typing import IO, Any

from cleaner.errors import OutputError
from cleaner.record import Cut, Document, Paragraph

LOGS = ("removed.jsonl", "rejects.jsonl", "files.jsonl")


def to_json_line(record: dict[str, Any]) -> str:
    """One JSON line, readable UTF-8; a record holding lone surrogates (a non-UTF-8 file
    name) is written with \\u escapes instead, so the log stays valid UTF-8 JSON."""
    line = json.dumps(record, ensure_ascii=False)
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:
        line = json.dumps(record)
    return line + "\n"


class JsonlLog:
    """An append-only JSONL log that exists under its real name only once committed."""

    def __init__(self, path: Path, resume_at: tuple[int, int] | None = None) -> None:
        """A new log, or with `resume_at=(bytes, lines)` the `.partial` of an interrupted
        run, already truncated to that many bytes, appended to."""
        self.path = path
        self.partial = path.with_name(path.name + ".partial")
        self._out: IO[str] = open(self.partial, "a" if resume_at else "w", encoding="utf-8")
        self.count = resume_at[1] if resume_at else 0

    def sync(self) -> tuple[int, int]:
        """Flush to disk; return (bytes, lines) written so far, for a checkpoint."""
        try:
            self._out.flush()
            os.fsync(self._out.fileno())
            return os.fstat(self._out.fileno()).st_size, self.count
        except OSError as err:
            raise OutputError(f"{self.partial}: cannot write: {err.strerror or err}") from err

    def write(self, record: dict[str, Any]) -> None:
        try:
            self._out.write(to_json_line(record))
        except OSError as err:
            raise OutputError(f"{self.partial}: cannot write: {err.strerror or err}") from err
        self.count += 1

    def commit(self) -> None:
        try:
            self._out.close()
            os.replace(self.partial, self.path)
        except OSError as err:
            raise OutputError(f"{self.partial}: cannot write: {err.strerror or err}") from err

    def close(self) -> None:
        """Close after a failure; an error flushing the rest is moot then (the log is partial)."""
        with contextlib.suppress(OSError):
            self._out.close()


def _origin(doc: Document) -> dict[str, Any]:
    """`source` and `id`, and for a record of a JSONL/Parquet input its `line` (or row)."""
    origin: dict[str, Any] = {"source": doc.source, "id": doc.id}
    record = doc.origin
    if record is not None:
        origin["line"] = record.line
    return origin


def removal_record(doc: Document, paragraph: Paragraph | None) -> dict[str, Any]:
    """The removal-log line for a dropped paragraph, or for a whole dropped document."""
    removal = paragraph.removal if paragraph is not None else doc.removal
    assert removal is not None
    record: dict[str, Any] = _origin(doc)
    if paragraph is not None:
        record["paragraph"] = paragraph.index
        record["text"] = paragraph.text
    else:
        record["paragraphs"] = len(doc.paragraphs)
    record["reason"] = removal.reason
    record["duplicate_of"] = removal.duplicate_of.as_dict() if removal.duplicate_of else None
    record["similarity"] = removal.similarity
    record["estimated_similarity"] = removal.estimated_similarity
    if removal.documents is not None:
        record["documents"] = removal.documents
    if removal.shingles is not None:
        record["shingles"] = removal.shingles
    if paragraph is not None and paragraph.cuts:
        record["spans"] = [_span(cut) for cut in paragraph.cuts]
    return record


def _span(cut: Cut) -> dict[str, Any]:
    """A cut's offsets, its kept copy (with the copy's offsets) and similarity."""
    start, end_paragraph, end = cut.kept
    return {"start": cut.start, "end": cut.end,
            "duplicate_of": {**cut.duplicate_of.as_dict(), "start": start, "end_paragraph": end_paragraph, "end": end},
            "similarity": cut.similarity}


def cut_record(doc: Document, paragraph: Paragraph, cut: Cut) -> dict[str, Any]:
    """The removal-log line of a span cut from a kept paragraph (`--unit sentence`)."""
    span = _span(cut)
    return {**_origin(doc), "paragraph": paragraph.index, "start": cut.start, "end": cut.end,
            "text": paragraph.text[cut.start:cut.end], "reason": cut.reason, "duplicate_of": span["duplicate_of"],
            "similarity": cut.similarity, "estimated_similarity": None,
            **({"shingles": cut.shingles} if cut.shingles is not None else {})}


def file_record(doc: Document) -> dict[str, Any]:
    """The per-file audit line: how it was decoded and repaired, what came out."""
    return {
        "source": doc.source,
        "id": doc.id,
        "bytes_in": doc.bytes_in,
        "paragraphs_in": len(doc.paragraphs),
        "paragraphs_out": len(doc.kept_paragraphs) if doc.alive else 0,
        "status": "rejected" if doc.reject else "removed" if doc.removal else "kept",
        **doc.audit,
    }


def reject_record(doc: Document) -> dict[str, Any]:
    """The rejects-log line of an input that could not be cleaned."""
    assert doc.reject is not None
    return {**_origin(doc), "line": doc.reject.line, "reason": doc.reject.reason, "message": doc.reject.message}


def log_lines(doc: Document) -> Iterator[tuple[str, dict[str, Any]]]:
    """(log name, line) for everything dropped from `doc`: the reject, or the removals."""
    if doc.reject is not None:
        yield "rejects.jsonl", reject_record(doc)
    elif doc.removal is not None:
        yield "removed.jsonl", removal_record(doc, None)
    else:
        for paragraph in doc.paragraphs:
            if paragraph.removal is not None:
                yield "removed.jsonl", removal_record(doc, paragraph)
            else:
                for cut in paragraph.cuts:
                    yield "removed.jsonl", cut_record(doc, paragraph, cut)
        if not doc.kept_paragraphs:
            yield "removed.jsonl", emptied_record(doc)


def emptied_record(doc: Document) -> dict[str, Any]:
    """The document-level line of a document with nothing left to write: `emptied` when
    every paragraph was removed (how many went for which reason), `empty` when it had none."""
    reasons = Counter(p.removal.reason for p in doc.paragraphs if p.removal is not None)
    return {**_origin(doc), "paragraphs": len(doc.paragraphs), "reason": "emptied" if doc.paragraphs else "empty",
            "duplicate_of": None, "similarity": None, "estimated_similarity": None,
            "removed_by_reason": dict(sorted(reasons.items()))}


class RunLogs:
    """The logs of one run under a state folder: removed, rejects and (for folders) files."""

    def __init__(self, state: Path, names: tuple[str, ...] = LOGS,
                 resume_at: dict[str, tuple[int, int]] | None = None) -> None:
        self.state = state
        try:
            state.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise OutputError(f"{state}: cannot create: {err.strerror or err}") from err
        self.logs = {name: JsonlLog(state / name, (resume_at or {}).get(name)) for name in names}

    def write(self, doc: Document) -> None:
        for name, line in log_lines(doc):
            self.logs[name].write(line)
        if "files.jsonl" in self.logs:
            self.logs["files.jsonl"].write(file_record(doc))

    def logged(self, name: str) -> int | None:
        """Lines written to log `name` so far, or None when this run has no such log."""
        return self.logs[name].count if name in self.logs else None

    def sync(self) -> dict[str, tuple[int, int]]:
        """Flush every log; their (bytes, lines), for a checkpoint."""
        return {name: log.sync() for name, log in self.logs.items()}

    def commit(self) -> None:
        for log in self.logs.values():
            log.commit()

    def close(self) -> None:
        for log in self.logs.values():
            log.close()
