"""Cleaned documents and the logs, written atomically.

Every file is written under a temporary name in its own folder and renamed into place, so
a reader never sees half a file. Logs grow as `.partial` files and are renamed only when
the run completes; the completion marker `_SUCCESS` is written after everything else.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
import json
import os
from pathlib import Path
import tempfile
from typing import IO, Any

from .errors import OutputError
from .record import Document, Paragraph

STATE_DIR = ".cleaner"
SUCCESS = "_SUCCESS"
LOGS = ("removed.jsonl", "rejects.jsonl", "files.jsonl")


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a temporary file in the same folder and a rename."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError as err:
        raise OutputError(f"{path}: cannot write: {err.strerror or err}") from err


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

    def __init__(self, path: Path) -> None:
        self.path = path
        self.partial = path.with_name(path.name + ".partial")
        self._out: IO[str] = open(self.partial, "w", encoding="utf-8")
        self.count = 0

    def write(self, record: dict[str, Any]) -> None:
        try:
            self._out.write(to_json_line(record))
        except OSError as err:
            raise OutputError(f"{self.partial}: cannot write: {err.strerror or err}") from err
        self.count += 1

    def commit(self) -> None:
        self._out.close()
        os.replace(self.partial, self.path)

    def close(self) -> None:
        self._out.close()


def removal_record(doc: Document, paragraph: Paragraph | None) -> dict[str, Any]:
    """The removal-log line for a dropped paragraph, or for a whole dropped document."""
    removal = paragraph.removal if paragraph is not None else doc.removal
    assert removal is not None
    record: dict[str, Any] = {"source": doc.source, "id": doc.id}
    if paragraph is not None:
        record["paragraph"] = paragraph.index
        record["text"] = paragraph.text
    else:
        record["paragraphs"] = len(doc.paragraphs)
    record["reason"] = removal.reason
    record["duplicate_of"] = removal.duplicate_of.as_dict() if removal.duplicate_of else None
    record["similarity"] = removal.similarity
    record["estimated_similarity"] = removal.estimated_similarity
    return record


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


class FolderWriter:
    """Stage: write each kept document to DST at its relative path, and log the rest."""

    def __init__(self, dst: Path) -> None:
        self.dst = dst
        self.state = dst / STATE_DIR
        self.state.mkdir(parents=True, exist_ok=True)
        self.logs = {name: JsonlLog(self.state / name) for name in LOGS}

    def __call__(self, docs: Iterable[Document]) -> Iterator[Document]:
        for doc in docs:
            self.write(doc)
            yield doc

    def write(self, doc: Document) -> None:
        if doc.reject is not None:
            self.logs["rejects.jsonl"].write(
                {"source": doc.source, "id": doc.id, "line": doc.reject.line,
                 "reason": doc.reject.reason, "message": doc.reject.message}
            )
        elif doc.removal is not None:
            self.logs["removed.jsonl"].write(removal_record(doc, None))
        else:
            for paragraph in doc.paragraphs:
                if paragraph.removal is not None:
                    self.logs["removed.jsonl"].write(removal_record(doc, paragraph))
            text = doc.cleaned_text()
            if text:
                write_atomic(self.dst / doc.source, text.encode("utf-8", "surrogateescape"))
        self.logs["files.jsonl"].write(file_record(doc))

    def commit(self) -> None:
        for log in self.logs.values():
            log.commit()

    def close(self) -> None:
        for log in self.logs.values():
            log.close()
