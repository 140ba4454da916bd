"""Records into numbered shards: `part-00000.<ext>`, `part-00001.<ext>`, ... in a folder.

A shard ends at the first record after it holds `shard_records` records or `shard_bytes`
bytes (0: no limit). It grows under a hidden `.part-NNNNN.<ext>.partial` name and is renamed
when complete, so a reader of `part-*` sees only whole shards. Each can be checkpointed and
restored: JSONL shards hold whole compression frames at a checkpoint (cleaner.io.compress)
and are truncated back to them on resume; Parquet shards are spooled a row group at a time
as Arrow files and assembled when complete.
"""

from __future__ import annotations

from collections.abc import Iterator
import os
from pathlib import Path
import re
from typing import IO, Any

import pyarrow as pa
import pyarrow.parquet as pq

from cleaner.config import Config
from cleaner.errors import OutputError
from cleaner.io.atomic import write_atomic
from cleaner.io.compress import SUFFIX, FrameWriter
from cleaner.io.record_writer import output_line, output_record
from cleaner.record import Document

SHARD_NAME = re.compile(r"part-(\d{5})\.(jsonl(\.gz|\.zst)?|parquet)")
SPOOL_NAME = re.compile(r"\.part-\d{5}\.(jsonl(\.gz|\.zst)?|parquet)\.(partial|rg\d{5})")
PARQUET_BATCH_ROWS = 1024


class Shards:
    """The numbering, limits, checkpoints and renames common to every shard format."""

    def __init__(self, folder: Path, extension: str, config: Config) -> None:
        self.folder, self.extension, self.config = folder, extension, config
        self.number = self.records = 0
        self.file: IO[bytes] | None = None

    def name_of(self, number: int) -> str:
        return f"part-{number:05d}{self.extension}"

    @property
    def name(self) -> str:
        return self.name_of(self.number)

    @property
    def partial(self) -> Path:
        return self.folder / f".{self.name}.partial"

    def write(self, doc: Document) -> None:
        try:
            if self.file is not None and self._full():
                self._finish()
            if self.file is None:
                self.folder.mkdir(parents=True, exist_ok=True)
                self.file, self.records = open(self.partial, "wb"), 0
                self.opened()
            self.add(doc)
        except OSError as err:
            raise OutputError(f"{self.folder / self.name}: cannot write: {err.strerror or err}") from err
        self.records += 1

    def _full(self) -> bool:
        limit_records, limit_bytes = self.config.shard_records, self.config.shard_bytes
        return bool(limit_records and self.records >= limit_records) or bool(limit_bytes and self.size() >= limit_bytes)

    def _finish(self) -> None:
        assert self.file is not None
        self.closed()
        self.file.close()
        os.replace(self.partial, self.folder / self.name)
        self.file = None
        self.number += 1

    def checkpoint(self) -> dict[str, Any]:
        state: dict[str, Any] = {"number": self.number, "open": self.file is not None}
        if self.file is not None:
            state.update(self.held(), records=self.records)
            self.file.flush()
            os.fsync(self.file.fileno())
            state["size"] = self.file.tell()
        return state

    def restore(self, state: dict[str, Any]) -> None:
        """Undo what came after the checkpoint: shards finished since are reopened or
        removed, the open one is truncated back, and the run goes on from there."""
        self.number = state["number"]
        final = self.folder / self.name
        if state["open"] and not self.partial.exists() and final.exists():
            os.replace(final, self.partial)  # finished after the checkpoint: open it again
        for entry in self._entries():
            match = SHARD_NAME.fullmatch(entry.name)
            later = match is not None and int(match.group(1)) >= self.number
            stray = entry.name.endswith(".partial") and (entry.name != self.partial.name or not state["open"])
            if later or stray:
                os.unlink(entry.path)
        if state["open"]:
            os.truncate(self.partial, state["size"])
            self.file = open(self.partial, "r+b")
            self.file.seek(state["size"])
            self.records = state["records"]
            self.reopened(state)

    def _entries(self) -> Iterator[os.DirEntry]:
        if not self.folder.is_dir():
            return iter(())
        with os.scandir(self.folder) as listing:
            return iter(list(listing))

    def checkpointed(self) -> None:
        """After a checkpoint is durable (or the run complete): drop what it no longer needs."""

    def commit(self) -> None:
        if self.file is not None:
            try:
                self._finish()
            except OSError as err:
                raise OutputError(f"{self.folder / self.name}: cannot write: {err.strerror or err}") from err

    def close(self) -> None:
        """Stop after a failure: complete shards stay, and so does the hidden partial one,
        which a resume truncates back to its checkpoint (a new run removes it)."""
        if self.file is not None:
            self.abandoned()
            self.file.close()
            self.file = None

    # What a format adds: its size so far as `shard_bytes` counts it, set up a shard, add a
    # record, finish a shard, and what a checkpoint keeps beyond the file's bytes.
    def size(self) -> int:
        assert self.file is not None
        return self.file.tell()

    def opened(self) -> None: ...
    def add(self, doc: Document) -> None: ...
    def closed(self) -> None: ...
    def abandoned(self) -> None: ...
    def held(self) -> dict[str, Any]:
        return {}
    def reopened(self, state: dict[str, Any]) -> None: ...


class JsonlShards(Shards):
    """JSONL shards, plain, gzip or zstd; compressed in frames on a background thread."""

    def __init__(self, folder: Path, compression: str, config: Config) -> None:
        super().__init__(folder, ".jsonl" + SUFFIX[compression], config)
        self.compression = compression
        self.out: IO[bytes] | FrameWriter | None = None
        self.lines_bytes = 0

    def size(self) -> int:
        """The JSONL bytes in the shard before compression: known at once and the same on
        every run (a size on disk would depend on how far the thread has got)."""
        return self.lines_bytes

    def opened(self, pending: bytes = b"") -> None:
        assert self.file is not None
        self.out = self.file if self.compression == "none" else FrameWriter(self.file, self.compression, pending)

    def add(self, doc: Document) -> None:
        assert self.out is not None
        data = output_line(doc, self.config).encode("utf-8")
        self.out.write(data)
        self.lines_bytes += len(data)

    def closed(self) -> None:
        if isinstance(self.out, FrameWriter):
            self.out.close()
        self.out, self.lines_bytes = None, 0

    def abandoned(self) -> None:
        if isinstance(self.out, FrameWriter):
            self.out.abandon()
        self.out, self.lines_bytes = None, 0

    def held(self) -> dict[str, Any]:
        pending = b""
        if isinstance(self.out, FrameWriter):
            self.out.drain()
            pending = self.out.pending()
        return {"lines_bytes": self.lines_bytes, "pending": pending}

    def reopened(self, state: dict[str, Any]) -> None:
        self.lines_bytes = state["lines_bytes"]
        self.opened(state["pending"])


class ParquetShards(Shards):
    """Parquet shards, a row group of PARQUET_BATCH_ROWS at a time. The schema is the
    input's when the records came from Parquet, else inferred from the first rows. Row
    groups are spooled as Arrow files beside the shard and assembled when it is complete."""

    def __init__(self, folder: Path, config: Config) -> None:
        super().__init__(folder, ".parquet", config)
        self.rows: list[dict[str, Any]] = []
        self.schema: pa.Schema | None = None
        self.groups = 0
        self._spent: list[Path] = []  # row groups of shards complete, deleted once no checkpoint needs them

    def _group(self, number: int, group: int) -> Path:
        return self.folder / f".{self.name_of(number)}.rg{group:05d}"

    def opened(self) -> None:
        self.groups = 0

    def add(self, doc: Document) -> None:
        if self.schema is None and doc.origin is not None and doc.origin.schema is not None:
            self.schema = doc.origin.schema
        self.rows.append(output_record(doc, self.config))
        if len(self.rows) >= PARQUET_BATCH_ROWS:
            self._spool()

    def _spool(self) -> None:
        """Write the buffered rows as one row group. The first rows fix the schema (every
        field any of them has, in order of appearance); a later field that does not fit is
        an error, never silently dropped (only a made id, when the schema has no id column)."""
        table = self._table()
        self.schema = table.schema
        sink = pa.BufferOutputStream()
        with pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)
        write_atomic(self._group(self.number, self.groups), sink.getvalue().to_pybytes())
        self.groups += 1
        self.rows = []

    def _table(self) -> pa.Table:
        fields = list(dict.fromkeys(name for row in self.rows for name in row))
        try:
            if self.schema is None:
                return pa.Table.from_pydict({name: [row.get(name) for row in self.rows] for name in fields})
            extra = set(fields) - set(self.schema.names) - {self.config.id_field}
            if extra:
                raise OutputError(f"{self.folder / self.name}: field {sorted(extra)[0]!r} is not in the "
                                  "Parquet schema of the first records (write JSONL instead)")
            return pa.Table.from_pylist(self.rows, schema=self.schema)
        except (pa.ArrowException, TypeError) as err:
            raise OutputError(f"{self.folder / self.name}: records do not fit one Parquet schema: {err}") from err

    def closed(self) -> None:
        if self.rows:
            self._spool()
        writer = None
        for group in range(self.groups):
            path = self._group(self.number, group)
            table = pa.ipc.open_file(pa.memory_map(str(path))).read_all()
            writer = writer or pq.ParquetWriter(self.file, table.schema)
            writer.write_table(table)
            self._spent.append(path)
        if writer is not None:
            writer.close()

    def abandoned(self) -> None:
        self.rows = []

    def held(self) -> dict[str, Any]:
        return {"groups": self.groups, "rows": list(self.rows), "schema": self.schema}

    def reopened(self, state: dict[str, Any]) -> None:
        self.groups, self.rows, self.schema = state["groups"], list(state["rows"]), state["schema"]
        for entry in self._entries():
            match = re.fullmatch(rf"\.{re.escape(self.name)}\.rg(\d{{5}})", entry.name)
            if match and int(match.group(1)) >= self.groups:
                os.unlink(entry.path)

    def checkpointed(self) -> None:
        for path in self._spent:
            path.unlink(missing_ok=True)
        self._spent = []


def remove_old_shards(folder: Path) -> list[str]:
    """Delete the shards (and spooled parts) an earlier run left in `folder` (asked for by
    --overwrite), so that a reader of `part-*` never mixes two runs; returns their names."""
    if not folder.is_dir():
        return []
    old = sorted(e.name for e in os.scandir(folder) if SHARD_NAME.fullmatch(e.name) or SPOOL_NAME.fullmatch(e.name))
    try:
        for name in old:
            (folder / name).unlink()
    except OSError as err:
        raise OutputError(f"{folder}: cannot remove an old shard: {err.strerror or err}") from err
    return old
