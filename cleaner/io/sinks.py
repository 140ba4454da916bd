"""Where cleaned records go: JSONL or Parquet shards, a JSONL stream, or one .txt a record.

A record is written back as it came with only its text field replaced: a JSONL line read
from a file has just the characters of its text value swapped, so every other field stays
byte for byte. Shards are written under a temporary name and renamed when complete; a run
that stops early leaves only complete shards and no `_SUCCESS` marker in its log folder.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
import re
from typing import IO, Any, BinaryIO, Protocol
from urllib.parse import quote

import pyarrow as pa
import pyarrow.parquet as pq

from cleaner.config import Config
from cleaner.errors import OutputError
from cleaner.io.atomic import create_temp, write_atomic
from cleaner.io.compress import SUFFIX, BackgroundWriter, compressing
from cleaner.io.logs import to_json_line
from cleaner.record import Document

SHARD_NAME = re.compile(r"part-\d{5}\.(jsonl(\.gz|\.zst)?|parquet)")
PARQUET_BATCH_ROWS = 1024


def record_text(doc: Document) -> str:
    """The cleaned text as stored in a record: kept paragraphs, no final newline."""
    return doc.cleaned_text().removesuffix("\n")


def output_record(doc: Document, config: Config) -> dict[str, Any]:
    """The record to write: the original fields in order, the text replaced, the id added
    when the input had none (a text file becomes {id: its path, text: ...})."""
    record = doc.metadata.get("record")
    fields = dict(record.fields) if record is not None else {config.id_field: doc.id}
    fields[config.text_field] = record_text(doc)
    fields.setdefault(config.id_field, doc.id)
    return fields


def output_line(doc: Document, config: Config) -> str:
    """One JSONL line; for a line read from JSONL only the text value's characters change."""
    record = doc.metadata.get("record")
    if record is None or record.raw is None or record.span is None:
        return to_json_line(output_record(doc, config))
    start, end = record.span
    line = record.raw[:start] + json.dumps(record_text(doc), ensure_ascii=False) + record.raw[end:]
    if config.id_field not in record.fields:
        close = line.rstrip().rfind("}")
        line = f"{line[:close]}, {json.dumps(config.id_field)}: {json.dumps(doc.id, ensure_ascii=False)}{line[close:]}"
    return line + "\n"


class Sink(Protocol):
    def write(self, doc: Document) -> None: ...
    def commit(self) -> None: ...
    def close(self) -> None: ...


class StreamSink:
    """JSONL lines to an open binary stream (stdout); it cannot be atomic, so the log
    folder's `_SUCCESS` is what says the stream was complete."""

    def __init__(self, stream: BinaryIO, config: Config) -> None:
        self.stream = stream
        self.config = config

    def write(self, doc: Document) -> None:
        try:
            self.stream.write(output_line(doc, self.config).encode("utf-8"))
        except OSError as err:  # BrokenPipeError included: the reader went away
            raise OutputError(f"<stdout>: cannot write: {err.strerror or err}") from err

    def commit(self) -> None:
        try:
            self.stream.flush()
        except OSError as err:
            raise OutputError(f"<stdout>: cannot write: {err.strerror or err}") from err

    def close(self) -> None:
        """Nothing to undo: what was written to the stream is the reader's."""


class Shards:
    """Records into `part-00000.<ext>`, `part-00001.<ext>`, ... in `folder`: a shard ends
    at the first record after it holds `shard_records` records or `shard_bytes` bytes (0:
    no limit; see `size`). Each is a temporary file until it is complete."""

    def __init__(self, folder: Path, extension: str, config: Config) -> None:
        self.folder = folder
        self.extension = extension
        self.config = config
        self.number = 0
        self.records = 0
        self.tmp: Path | None = None
        self.file: IO[bytes] | None = None

    def _open(self) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = create_temp(self.folder / self.name)
        except OSError as err:
            raise OutputError(f"{self.folder}: cannot write: {err.strerror or err}") from err
        self.tmp, self.file, self.records = Path(tmp), os.fdopen(fd, "wb"), 0
        self.opened()

    @property
    def name(self) -> str:
        return f"part-{self.number:05d}{self.extension}"

    def _full(self) -> bool:
        assert self.file is not None
        limit_records, limit_bytes = self.config.shard_records, self.config.shard_bytes
        return bool(limit_records and self.records >= limit_records) or bool(
            limit_bytes and self.size() >= limit_bytes)

    def size(self) -> int:
        """The shard's size so far, as `shard_bytes` counts it: here, its bytes on disk."""
        assert self.file is not None
        return self.file.tell()

    def write(self, doc: Document) -> None:
        try:
            if self.file is not None and self._full():
                self._finish()
            if self.file is None:
                self._open()
            self.add(doc)
        except OSError as err:
            raise OutputError(f"{self.folder / self.name}: cannot write: {err.strerror or err}") from err
        self.records += 1

    def _finish(self) -> None:
        assert self.file is not None and self.tmp is not None
        self.closed()
        self.file.close()
        os.replace(self.tmp, self.folder / self.name)
        self.file = self.tmp = None
        self.number += 1

    def commit(self) -> None:
        if self.file is not None:
            try:
                self._finish()
            except OSError as err:
                raise OutputError(f"{self.folder / self.name}: cannot write: {err.strerror or err}") from err

    def close(self) -> None:
        """Abandon the shard being written (complete ones stay; no marker says the run is)."""
        if self.file is not None and self.tmp is not None:
            self.file.close()
            self.tmp.unlink(missing_ok=True)
            self.file = self.tmp = None

    # What a format adds: set up a shard, add a record, finish a shard.
    def opened(self) -> None: ...
    def add(self, doc: Document) -> None: ...
    def closed(self) -> None: ...


class JsonlShards(Shards):
    """JSONL shards, plain, gzip or zstd; compressed on a background thread (cleaner.compress)."""

    def __init__(self, folder: Path, compression: str, config: Config) -> None:
        super().__init__(folder, ".jsonl" + SUFFIX[compression], config)
        self.compression = compression
        self.out: IO[bytes] | BackgroundWriter | None = None
        self.lines_bytes = 0

    def size(self) -> int:
        """The JSONL bytes in the shard before compression: known at once and the same on
        every run (a size on disk would depend on how far the thread has got)."""
        return self.lines_bytes

    def opened(self) -> None:
        assert self.file is not None
        self.lines_bytes = 0
        if self.compression == "none":
            self.out = self.file
        else:
            self.out = BackgroundWriter(compressing(self.file, self.compression))

    def add(self, doc: Document) -> None:
        assert self.out is not None
        line = output_line(doc, self.config).encode("utf-8")
        self.out.write(line)
        self.lines_bytes += len(line)

    def closed(self) -> None:
        if isinstance(self.out, BackgroundWriter):
            self.out.close()
        self.out = None

    def close(self) -> None:
        if isinstance(self.out, BackgroundWriter):
            self.out.abandon()
        self.out = None
        super().close()


class ParquetShards(Shards):
    """Parquet shards, written a row group of PARQUET_BATCH_ROWS at a time. The schema is
    the input's when the records came from Parquet, else inferred from the first rows."""

    def __init__(self, folder: Path, config: Config) -> None:
        super().__init__(folder, ".parquet", config)
        self.rows: list[dict[str, Any]] = []
        self.schema: pa.Schema | None = None
        self.writer: pq.ParquetWriter | None = None

    def add(self, doc: Document) -> None:
        record = doc.metadata.get("record")
        if self.schema is None and record is not None:
            self.schema = record.schema
        self.rows.append(output_record(doc, self.config))
        if len(self.rows) >= PARQUET_BATCH_ROWS:
            self._flush()

    def _flush(self) -> None:
        """Write the buffered rows as one row group. The first rows fix the schema (every
        field any of them has, in order of appearance); a later field that does not fit is
        an error, never silently dropped (only a made id, when the schema has no id column)."""
        fields = list(dict.fromkeys(name for row in self.rows for name in row))
        try:
            if self.schema is None:
                table = pa.Table.from_pydict({name: [row.get(name) for row in self.rows] for name in fields})
            else:
                extra = set(fields) - set(self.schema.names) - {self.config.id_field}
                if extra:
                    raise OutputError(f"{self.folder / self.name}: field {sorted(extra)[0]!r} is not in the "
                                      "Parquet schema of the first records (write JSONL instead)")
                table = pa.Table.from_pylist(self.rows, schema=self.schema)
        except (pa.ArrowException, TypeError) as err:
            raise OutputError(f"{self.folder / self.name}: records do not fit one Parquet schema: {err}") from err
        self.schema = table.schema
        if self.writer is None:
            self.writer = pq.ParquetWriter(self.file, table.schema)
        self.writer.write_table(table)
        self.rows = []

    def closed(self) -> None:
        if self.rows:
            self._flush()
        if self.writer is not None:
            self.writer.close()
        self.writer = None

    def close(self) -> None:
        self.rows, self.writer = [], None
        super().close()


class TextFiles:
    """One `<id>.txt` a record (the id percent-encoded, so every id gives its own name);
    a document read from a text file keeps its relative path."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def write(self, doc: Document) -> None:
        name = doc.source if "record" not in doc.metadata else f"{quote(doc.id, safe='-_')}.txt"
        write_atomic(self.folder / name, doc.cleaned_text().encode("utf-8", "surrogateescape"))

    def commit(self) -> None:
        """Each file was renamed into place when written."""

    def close(self) -> None:
        """Each file was renamed into place when written."""


def remove_old_shards(folder: Path) -> list[str]:
    """Delete the shards an earlier run left in `folder` (asked for by --overwrite), so
    that a reader of `part-*` never mixes two runs; returns their names."""
    if not folder.is_dir():
        return []
    old = sorted(entry.name for entry in os.scandir(folder) if SHARD_NAME.fullmatch(entry.name))
    try:
        for name in old:
            (folder / name).unlink()
    except OSError as err:
        raise OutputError(f"{folder}: cannot remove an old shard: {err.strerror or err}") from err
    return old


def open_sink(dst: Path | BinaryIO, output_format: str, compression: str, config: Config) -> Sink:
    """The sink for a run's output: a stream, text files, or JSONL/Parquet shards."""
    if not isinstance(dst, Path):
        return StreamSink(dst, config)
    if output_format == "txt":
        return TextFiles(dst)
    if output_format == "parquet":
        return ParquetShards(dst, config)
    return JsonlShards(dst, compression, config)
