"""Records -> Iterator[Document]: JSONL (plain, .gz, .zst, stdin), Parquet, and plain dicts.

Each record becomes one Document whose `text` is its text field (`raw` stays None: the
decode stage has nothing to do) and whose `origin` keeps the original record,
so that every other field can be written back unchanged, in order. A JSONL line also keeps
its own text and where the text value sits in it: the writer replaces only those characters,
so the other fields come out byte for byte as they came in.

A record that cannot be cleaned (malformed JSON, no text, a lone surrogate, a stream that
ends early) becomes a rejected Document naming the file and line; nothing is dropped silently.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
import dataclasses
import gzip
import io
import json
from json.decoder import scanstring
from pathlib import Path
import re
from typing import Any, BinaryIO
import zlib

import pyarrow as pa
import pyarrow.parquet as pq
import zstandard

from cleaner.config import Config
from cleaner.io.folder_reader import NotRegularFile, open_regular
from cleaner.record import Document, Origin, Reject

JSONL_SUFFIXES = {".jsonl": "none", ".jsonl.gz": "gzip", ".jsonl.zst": "zstd"}
PARQUET_SUFFIX = ".parquet"
STDIN = "<stdin>"
PARQUET_BATCH_ROWS = 1024

_WS = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


def file_format(name: str) -> str:
    """`jsonl`, `parquet` or `txt`, by the file name's ending."""
    if name.endswith(PARQUET_SUFFIX):
        return "parquet"
    return "jsonl" if any(name.endswith(s) for s in JSONL_SUFFIXES) else "txt"


def file_compression(name: str) -> str:
    """`gzip`, `zstd` or `none`, by the file name's ending."""
    return next((c for s, c in JSONL_SUFFIXES.items() if name.endswith(s)), "none")


def parse_object(line: str, field: str) -> tuple[dict[str, Any], tuple[int, int] | None]:
    """Parse one JSON object (as json.loads does) and find where `field`'s value sits.

    Keys and values are read by the standard library's own scanner; only the walk over the
    top-level keys is done here, to learn the value's (start, end) in `line`.
    """
    pos = _WS.match(line, 0).end()
    if line[pos:pos + 1] != "{":
        raise json.JSONDecodeError("Expecting '{'", line, pos)
    fields: dict[str, Any] = {}
    span = None
    pos = _WS.match(line, pos + 1).end()
    while line[pos:pos + 1] != "}" or fields:
        if line[pos:pos + 1] != '"':
            raise json.JSONDecodeError("Expecting property name enclosed in double quotes", line, pos)
        key, pos = scanstring(line, pos + 1)
        pos = _WS.match(line, pos).end()
        if line[pos:pos + 1] != ":":
            raise json.JSONDecodeError("Expecting ':' delimiter", line, pos)
        start = _WS.match(line, pos + 1).end()
        fields[key], end = _DECODER.raw_decode(line, start)
        if key == field:
            span = (start, end)
        pos = _WS.match(line, end).end()
        if line[pos:pos + 1] == "}":
            break
        if line[pos:pos + 1] != ",":
            raise json.JSONDecodeError("Expecting ',' delimiter", line, pos)
        pos = _WS.match(line, pos + 1).end()
    if _WS.match(line, pos + 1).end() != len(line):
        raise json.JSONDecodeError("Extra data", line, pos + 1)
    return fields, span


def record_document(record: Origin, source: str, config: Config, size: int = 0) -> Document:
    """The Document for one record, or a rejected one when its text field is unusable."""
    fields, line = record.fields, record.line
    made_id = f"{source}:{line}"
    ident = fields.get(config.id_field)
    doc = Document(id=made_id if ident is None else str(ident), source=source, bytes_in=size)
    doc.origin = record
    text = fields.get(config.text_field)
    if config.text_field not in fields:
        doc.reject = Reject("missing_text", f"no {config.text_field!r} field", line)
    elif not isinstance(text, str):
        doc.reject = Reject("not_text", f"{config.text_field!r} is {type(text).__name__}, not a string", line)
    else:
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as err:
            doc.reject = Reject("lone_surrogate", f"lone surrogate U+{ord(text[err.start]):04X} in "
                                f"{config.text_field!r} at character {err.start}", line)
        else:
            doc.text = text
            doc.bytes_in = doc.bytes_in or len(text.encode("utf-8"))
            doc.origin = without_text(record, config.text_field)
    return doc


def without_text(record: Origin, text_field: str) -> Origin:
    """The record without its text value (the document holds the text; the writer puts the
    cleaned one in its place): the field stays, in its place, as None, and the line keeps
    all but the value's characters, so a record does not travel or wait holding its text
    three times."""
    fields = dict(record.fields)
    fields[text_field] = None
    if record.raw is None or record.span is None:
        return dataclasses.replace(record, fields=fields)
    start, end = record.span
    return dataclasses.replace(record, fields=fields, raw=record.raw[:start] + record.raw[end:], span=(start, start))


def rejected(source: str, line: int, reason: str, message: str, size: int = 0) -> Document:
    doc = Document(id=f"{source}:{line}", source=source, bytes_in=size, origin=Origin({}, line))
    doc.reject = Reject(reason, message, line)
    return doc


def read_jsonl(stream: BinaryIO, source: str, config: Config, first_line: int = 1) -> Iterator[Document]:
    """One Document per line of a binary JSONL stream; blank lines are skipped. Lines are
    numbered from `first_line` (a byte range of a file starts further in)."""
    line = first_line - 1
    try:
        for line, raw in enumerate(read_lines(stream, config.max_file_bytes), first_line):
            doc = parse_line(raw, line, source, config)
            if doc is not None:
                yield doc
    except EOFError as err:  # gzip and our zstd reader: the end-of-stream marker is missing
        yield rejected(source, line + 1, *stream_error(err))
    except (OSError, zlib.error, zstandard.ZstdError) as err:
        yield rejected(source, line + 1, *stream_error(err))


def stream_error(err: BaseException) -> tuple[str, str]:
    """(reason, message) of a reject for a stream that failed while being read."""
    if isinstance(err, EOFError):
        return "truncated", f"stream ends early ({err})"
    return "unreadable", f"cannot decompress: {err}"


STREAM_ERRORS = (EOFError, OSError, zlib.error, zstandard.ZstdError)


def parse_line(raw: bytes | int, line: int, source: str, config: Config) -> Document | None:
    """The Document of one line as `_lines` gives it (an int: the length of a line over the
    limit), or None for a blank line."""
    if isinstance(raw, int):
        return rejected(source, line, "too_large", f"a line of {raw:,} bytes, over the limit of "
                         f"{config.max_file_bytes:,} (max_file_bytes)", raw)
    return _line_document(raw, line, source, config) if raw.strip() else None


def read_lines(stream: BinaryIO, limit: int) -> Iterator[bytes | int]:
    """The lines of `stream`; a line over `limit` bytes is passed over a chunk at a time
    (memory stays bounded) and given as its length instead."""
    while raw := stream.readline(limit + 1):
        if len(raw) <= limit or raw.endswith(b"\n"):
            yield raw
            continue
        size = len(raw)
        while raw and not raw.endswith(b"\n"):
            raw = stream.readline(1 << 20)
            size += len(raw)
        yield size


def _line_document(raw: bytes, line: int, source: str, config: Config) -> Document:
    try:  # a byte-order mark may open the first line (Windows tools write one)
        text = raw.decode("utf-8-sig" if line == 1 else "utf-8").rstrip("\r\n")
    except UnicodeDecodeError as err:
        return rejected(source, line, "not_utf8", f"not valid UTF-8 (byte 0x{raw[err.start]:02x} "
                         f"at column {err.start + 1})", len(raw))
    try:
        fields, span = parse_object(text, config.text_field)
    except (json.JSONDecodeError, RecursionError) as err:
        message = f"malformed JSON: {err.msg} (column {err.colno})" if isinstance(err, json.JSONDecodeError) \
            else "malformed JSON: nested too deeply"
        return rejected(source, line, "malformed_json", message, len(raw))
    return record_document(Origin(fields, line, text, span), source, config, len(raw))


READ_BUFFER = 1 << 18  # bytes a buffered decompressed stream asks for at a time


class ZstdReader(io.RawIOBase):
    """A zstd stream, frame after frame, that raises EOFError when the last frame is cut
    short: zstandard's own stream reader returns what it has and stops silently."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self._context = zstandard.ZstdDecompressor()
        self._frame = self._context.decompressobj()
        self._in_frame = False
        self._pending = memoryview(b"")  # decompressed, not yet read (a view: no copy of the rest per read)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            chunk = self._raw.read(1 << 16)
            if not chunk:
                if self._in_frame:
                    raise EOFError("zstd frame has no end")
                return 0
            self._pending = memoryview(self._feed(chunk))
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size

    def _feed(self, chunk: bytes) -> bytes:
        out = []
        while chunk:
            self._in_frame = True
            out.append(self._frame.decompress(chunk))
            if not self._frame.eof:
                break
            chunk, self._in_frame = self._frame.unused_data, False
            self._frame = self._context.decompressobj()
        return b"".join(out)

    def close(self) -> None:
        self._raw.close()
        super().close()


def open_jsonl(path: Path) -> BinaryIO:
    """A binary stream of the decompressed file, chosen by its name."""
    compression = file_compression(path.name)
    raw = open_regular(path)
    if compression == "gzip":
        stream = gzip.GzipFile(fileobj=raw, mode="rb")
        stream.myfileobj = raw  # type: ignore[attr-defined]  # closed with it, as gzip.open(path) does
        return stream  # type: ignore[return-value]
    if compression == "zstd":
        return io.BufferedReader(ZstdReader(raw), READ_BUFFER)  # type: ignore[return-value]
    return raw


def read_parquet(path: Path | BinaryIO, source: str, config: Config, row_group: int | None = None,
                 first_row: int = 1) -> Iterator[Document]:
    """One Document per row, a row group at a time and a batch of rows at a time (memory
    stays bounded); with `row_group`, only that one, its rows numbered from `first_row`.
    A row group that cannot be read ends the file with a reject at its first row: the
    rows of the groups before it are kept, whoever reads them (cleaner.io.units)."""
    row = first_row - 1
    try:
        with pq.ParquetFile(path) as parquet:
            groups = range(parquet.metadata.num_row_groups) if row_group is None else [row_group]
            for group in groups:
                for batch in parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS, row_groups=[group]):
                    for fields in batch.to_pylist():
                        row += 1
                        yield record_document(Origin(fields, row, schema=parquet.schema_arrow), source, config)
    except (OSError, pa.ArrowException) as err:
        yield rejected(source, row + 1, "unreadable", f"cannot read Parquet: {err}")


def read_record_file(path: Path, source: str, config: Config) -> Iterator[Document]:
    """The records of one JSONL or Parquet file."""
    try:  # a FIFO or device is refused by the opened descriptor: it never blocks a read
        stream = open_regular(path) if file_format(path.name) == "parquet" else open_jsonl(path)
    except NotRegularFile as err:
        yield rejected(source, 1, "not_regular_file", str(err))
        return
    except OSError as err:
        yield rejected(source, 1, "unreadable", err.strerror or str(err))
        return
    if file_format(path.name) == "parquet":
        with stream:
            yield from read_parquet(stream, source, config)
        return
    with stream:
        yield from read_jsonl(stream, source, config)


def read_dicts(records: Iterable[dict[str, Any]], config: Config, source: str = "<records>") -> Iterator[Document]:
    """Documents from any iterable of dicts (the Python API); `line` counts from 1."""
    for line, fields in enumerate(records, 1):
        if not isinstance(fields, dict):
            yield rejected(source, line, "not_a_record", f"expected a dict, got {type(fields).__name__}")
        else:
            yield record_document(Origin(fields, line), source, config)
