"""The Python API for a pipeline step, and the record run the CLI builds on it.

    cleaner = Cleaner(Config(paragraphs="indent"))
    for record in cleaner.run(records):      # any iterable of dicts
        ...                                  # cleaned records; dropped ones are not yielded
    cleaner.report, cleaner.removed, cleaner.rejected   # what was dropped, and why

`clean_records` runs the same `Cleaner` from JSONL/Parquet files, folders or a stream
into shards, text files or a stream, with the logs in a folder.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
import json
from pathlib import Path
from typing import Any, BinaryIO

from cleaner.config import Config
from cleaner.dedup.decide import Deduplicator
from cleaner.errors import UsageError
from cleaner.io.atomic import write_atomic
from cleaner.io.layout import STATE_DIR, SUCCESS
from cleaner.io.logs import RunLogs, log_lines
from cleaner.io.record_reader import (
    JSONL_SUFFIXES,
    PARQUET_SUFFIX,
    input_compression,
    input_format,
    read_dicts,
    read_inputs,
)
from cleaner.io.sinks import open_sink, output_record, remove_old_shards
from cleaner.record import Document
from cleaner.run.accounts import Accounts
from cleaner.run.chain import clean_text, compose, document_steps, find_boilerplate, reject_policy
from cleaner.run.guards import DestinationLock, check_destination, check_locations
from cleaner.run.processes import prepare_in_parallel
from cleaner.run.report import Report

RECORD_LOGS = ("removed.jsonl", "rejects.jsonl")


class Cleaner:
    """Clean records as one step of a data pipeline: dicts in, cleaned dicts out.

    Each record's text field is repaired, normalised, split into paragraphs and stripped of
    repeated paragraphs; every other field is kept, in order. A record that is removed
    whole, emptied, or rejected is not yielded: `removed` and `rejected` hold the lines
    `removed.jsonl` and `rejects.jsonl` would (unless `keep_log=False`), and `report`
    counts everything. One Cleaner remembers what it kept across `run` calls, so batches
    of one corpus are deduplicated against each other. With `boilerplate_min_docs`, pass
    `boilerplate=cleaner.pipeline.find_boilerplate(docs, config)` counted over the same input.
    """

    def __init__(self, config: Config | None = None, keep_log: bool = True,
                 boilerplate: Mapping[int, int] | None = None, accounts: Accounts | None = None) -> None:
        self.config = config or Config()
        self.keep_log = keep_log
        self.report = Report()
        self.removed: list[dict[str, Any]] = []
        self.rejected: list[dict[str, Any]] = []
        watch = accounts or _Unwatched()
        self._stages = (watch.read, prepare_in_parallel(document_steps(self.config), self.config.workers),
                        reject_policy(self.config), watch.segmented,
                        Deduplicator(self.config, boilerplate), self.report)

    def documents(self, docs: Iterable[Document]) -> Iterator[Document]:
        """Every document, decided: kept, emptied, removed or rejected (in input order).

        Raises InputError at the first rejected one when `config.on_error == "fail"`.
        """
        for doc in compose(docs, *self._stages):
            if self.keep_log:
                for name, line in log_lines(doc):
                    (self.rejected if name == "rejects.jsonl" else self.removed).append(line)
            yield doc

    def run(self, records: Iterable[dict[str, Any]], source: str = "<records>") -> Iterator[dict[str, Any]]:
        """Cleaned copies of the records that keep any text, in order.

        A record without an id field is given `source:n` (n counts records from 1).
        """
        for doc in self.documents(read_dicts(records, self.config, source)):
            if doc.alive and doc.kept_paragraphs:
                yield output_record(doc, self.config)

    def clean_text(self, text: str) -> str:
        """One text alone, as `cleaner.clean_text` (no memory of other documents)."""
        return clean_text(text, self.config)


class _Unwatched:
    """Stand-in for Accounts when nobody checks them: both watch points pass documents on."""

    @staticmethod
    def read(docs: Iterable[Document]) -> Iterator[Document]:
        return iter(docs)

    segmented = read


def output_kind(src: Path | BinaryIO, dst: Path | BinaryIO, config: Config) -> tuple[str, str]:
    """(format, compression) of the output: as asked, else as the input."""
    out_format = config.format or input_format(src, config.glob)
    if config.compression is not None:
        compression = config.compression
    else:
        compression = input_compression(src, config.glob) if out_format == "jsonl" else "none"
    if not isinstance(dst, Path) and out_format != "jsonl":
        raise UsageError(f"- writes JSONL only, not {out_format}")
    if out_format != "jsonl" and config.compression not in (None, "none"):
        raise UsageError(f"compression applies to JSONL output only, not {out_format}")
    return out_format, compression


def check_record_destination(src: Path | BinaryIO, dst: Path | BinaryIO, state: Path, overwrite: bool) -> None:
    """Refuse an output or log folder inside the input, a file in their place, or one that
    already holds something (without `overwrite`); nothing is written before."""
    for folder in ([dst] if isinstance(dst, Path) else []) + [state]:
        if isinstance(src, Path) and src.is_dir():
            check_locations(src, folder)
        elif folder.exists() and not folder.is_dir():
            raise UsageError(f"{folder}: exists and is not a folder")
        check_destination(folder, overwrite, resume=False)
    for suffix in (*JSONL_SUFFIXES, PARQUET_SUFFIX):
        if isinstance(dst, Path) and dst.name.endswith(suffix):
            raise UsageError(f"{dst}: the output is a folder (it receives part-00000{suffix}, ...), "
                             "or - for standard output")


def clean_records(
    src: Path | BinaryIO,
    dst: Path | BinaryIO,
    config: Config,
    log_dir: Path | None = None,
    overwrite: bool = False,
    on_document: Callable[[Document], None] | None = None,
) -> Report:
    """Clean records (or text files) from `src` into `dst`; return the finished report.

    `src` is a JSONL/Parquet file, a folder, or a binary JSONL stream; `dst` a folder or a
    binary stream (then `log_dir` is required). The logs go to `log_dir`, by default
    `dst/.cleaner`; `_SUCCESS` appears there once everything is written.
    """
    if log_dir is None:
        if not isinstance(dst, Path):
            raise UsageError("writing to standard output needs --log-dir for the logs")
        log_dir = dst / STATE_DIR
    if isinstance(src, Path) and not src.exists():
        raise UsageError(f"{src}: no such file or folder")
    out_format, compression = output_kind(src, dst, config)
    check_record_destination(src, dst, log_dir, overwrite)
    boilerplate = boilerplate_counts(src, config)  # refuses stdin before anything is written
    lock = DestinationLock(log_dir)  # a second run on the same logs is refused (exit 2)
    try:
        return _clean_records_locked(src, dst, config, log_dir, out_format, compression, boilerplate, on_document)
    finally:
        lock.release()


def _clean_records_locked(src: Path | BinaryIO, dst: Path | BinaryIO, config: Config, log_dir: Path,
                          out_format: str, compression: str, boilerplate: Mapping[int, int] | None,
                          on_document: Callable[[Document], None] | None) -> Report:
    (log_dir / SUCCESS).unlink(missing_ok=True)
    if isinstance(dst, Path):
        remove_old_shards(dst)
    logs = RunLogs(log_dir, RECORD_LOGS)
    sink = open_sink(dst, out_format, compression, config)
    accounts = Accounts()
    cleaner = Cleaner(config, keep_log=False, boilerplate=boilerplate, accounts=accounts)
    try:
        for doc in cleaner.documents(read_inputs(src, config)):
            logs.write(doc)
            if doc.alive and doc.kept_paragraphs:
                sink.write(doc)
            accounts.settle(doc)
            if on_document is not None:
                on_document(doc)
        accounts.check(logs.logged)  # nothing lost, or no _SUCCESS (AccountingError, exit 3)
    except BaseException:
        sink.close()
        logs.close()
        raise
    sink.commit()
    logs.commit()
    return _finish(cleaner.report, log_dir, config, accounts)


def boilerplate_counts(src: Path | BinaryIO, config: Config) -> dict[int, int] | None:
    """The first pass of --boilerplate-min-docs over files or folders (None when it is off);
    a stream cannot be read twice, so it is refused before anything is written."""
    if not config.boilerplate_min_docs:
        return None
    if not isinstance(src, Path):
        raise UsageError("--boilerplate-min-docs reads the input twice; it cannot read standard input")
    return find_boilerplate(read_inputs(src, config), config)


def _finish(report: Report, state: Path, config: Config, accounts: Accounts) -> Report:
    report.finish()
    summary = {"config": config.as_dict(), **report.as_dict()}
    write_atomic(state / "report.json", (json.dumps(summary, indent=2) + "\n").encode())
    marker = {"config": config.digest(), "accounts": accounts.as_dict(), **report.as_dict()}
    write_atomic(state / SUCCESS, (json.dumps(marker) + "\n").encode())
    return report
