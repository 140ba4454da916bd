"""Where cleaned documents go: a folder of text files, JSONL or Parquet shards, or a stream.

A record is written back as it came with only its text field replaced: a JSONL line read
from a file has just the characters of its text value swapped, so every other field stays
byte for byte. Every sink can be checkpointed and restored (`checkpoint`/`restore`), so an
interrupted run resumes to the same bytes an uninterrupted one writes. A new output kind
is one class and one line in `open_sink`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, BinaryIO, Protocol
from urllib.parse import quote

from cleaner.config import Config
from cleaner.errors import OutputError, UnsafePathError
from cleaner.io.atomic import write_atomic
from cleaner.io.paths import safe_output_path
from cleaner.io.record_writer import output_line, output_record, record_text
from cleaner.io.shards import JsonlShards, ParquetShards, remove_old_shards
from cleaner.record import Document, Reject

NAME_MAX = 255  # bytes in one file name component (Linux, macOS)

__all__ = ["JsonlShards", "ParquetShards", "Sink", "StreamSink", "TextFiles", "open_sink", "output_line",
           "output_record", "record_text", "remove_old_shards"]


class Sink(Protocol):
    def write(self, doc: Document) -> None:
        """Write a kept document, or reject it (`doc.reject`) if it cannot be written."""
    def checkpoint(self) -> Any:
        """Make what is written so far durable; return what `restore` needs to go on."""
    def restore(self, state: Any) -> None:
        """Go on from a `checkpoint` of an interrupted run (undo what came after it)."""
    def commit(self) -> None: ...
    def close(self) -> None: ...


class StreamSink:
    """JSONL lines to an open binary stream (stdout); it cannot be atomic, so the log
    folder's `_SUCCESS` is what says the stream was complete, and it cannot be resumed."""

    def __init__(self, stream: BinaryIO, config: Config) -> None:
        self.stream = stream
        self.config = config

    def write(self, doc: Document) -> None:
        try:
            self.stream.write(output_line(doc, self.config).encode("utf-8"))
        except (OSError, ValueError) as err:  # BrokenPipeError: the reader went away; ValueError: closed
            raise OutputError(f"<stdout>: cannot write: {getattr(err, 'strerror', None) or err}") from err

    def checkpoint(self) -> Any:
        return None

    def restore(self, state: Any) -> None:
        raise OutputError("<stdout>: a stream cannot be resumed")

    def commit(self) -> None:
        try:
            self.stream.flush()
        except (OSError, ValueError) as err:
            raise OutputError(f"<stdout>: cannot write: {getattr(err, 'strerror', None) or err}") from err

    def close(self) -> None:
        """Nothing to undo: what was written to the stream is the reader's."""


class TextFiles:
    """One text file a document under `folder`, every path through `safe_output_path`: a
    document read from a text file keeps its relative path; a record is `<id>.txt`, the id
    percent-encoded. A record whose id is empty, too long for a file name, or already
    written in this run is rejected (`empty_id`, `id_too_long`, `duplicate_id`), never
    written over another. Files are renamed into place one by one (through `tmp_dir`)."""

    def __init__(self, folder: Path, tmp_dir: Path | None = None) -> None:
        self.folder, self.tmp_dir = folder, tmp_dir
        self._real_root = os.path.realpath(folder)
        self._safe_folders: set[str] = set()  # relative folders whose links were resolved inside DST
        self._record_names: set[str] = set()

    def admit(self, doc: Document) -> None:
        """Before the decide stage: reject a document no file can be made for, so that it
        never enters the index as kept (a later copy would point at nothing)."""
        if not doc.alive:
            return
        name = doc.source if doc.origin is None else self._record_name(doc)
        if name is None:
            return
        try:
            safe_output_path(self.folder, name, self._real_root, self._safe_folders)
        except UnsafePathError as err:
            doc.reject = Reject("unsafe_path", err.reason, doc.origin.line if doc.origin else None)

    def write(self, doc: Document) -> None:
        name = doc.source if doc.origin is None else _file_name(doc.id)
        target = safe_output_path(self.folder, name, self._real_root, self._safe_folders)
        write_atomic(target, doc.cleaned_text().encode("utf-8", "surrogateescape"), self.tmp_dir)

    def _record_name(self, doc: Document) -> str | None:
        assert doc.origin is not None
        name, line = _file_name(doc.id), doc.origin.line
        if not doc.id:
            doc.reject = Reject("empty_id", "empty id: no file name can be made of it", line)
        elif len(name.encode()) > NAME_MAX:
            doc.reject = Reject("id_too_long", f"id of {len(doc.id):,} characters: its file name would be "
                                f"{len(name.encode()):,} bytes, over {NAME_MAX}", line)
        elif name in self._record_names:
            doc.reject = Reject("duplicate_id", f"id {doc.id!r} was already written in this run", line)
        else:
            self._record_names.add(name)
            return name
        return None

    def checkpoint(self) -> Any:
        return sorted(self._record_names)

    def restore(self, state: Any) -> None:
        self._record_names = set(state)

    def commit(self) -> None:
        """Each file was renamed into place when written."""

    def close(self) -> None:
        """Each file was renamed into place when written."""


def _file_name(record_id: str) -> str:
    return f"{quote(record_id, safe='-_')}.txt"


def open_sink(dst: Path | BinaryIO, output_format: str, compression: str, config: Config,
              tmp_dir: Path | None = None) -> Sink:
    """The sink for a run's output: a stream, text files, or JSONL/Parquet shards."""
    if not isinstance(dst, Path):
        return StreamSink(dst, config)
    if output_format == "txt":
        return TextFiles(dst, tmp_dir)
    if output_format == "parquet":
        return ParquetShards(dst, config)
    return JsonlShards(dst, compression, config)
