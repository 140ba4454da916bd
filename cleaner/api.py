"""The Python API: a pipeline step (`Cleaner`), one-text and in-memory helpers, and runs.

    cleaner = Cleaner(Config(paragraphs="indent"))
    for record in cleaner.run(records):      # any iterable of dicts
        ...                                  # cleaned records; dropped ones are not yielded
    cleaner.report, cleaner.removed, cleaner.rejected   # what was dropped, and why

    clean(Path("crawl.jsonl.zst"), Path("cleaned"), Config(), RunOptions(resume=True))

`clean` runs any source (a folder, a JSONL/Parquet file, a binary stream) into any sink (a
folder of text files or shards, or a stream) as one job (cleaner.run.job);
`clean_folder` and `clean_records` are the same job with the run options as keywords.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, BinaryIO

from cleaner.config import Config
from cleaner.dedup.decide import Deduplicator
from cleaner.io.logs import log_lines
from cleaner.io.record_reader import read_dicts
from cleaner.io.record_writer import output_record
from cleaner.io.sources import open_source
from cleaner.options import RunOptions
from cleaner.record import Document
from cleaner.run.chain import build_chain, compose, find_boilerplate
from cleaner.run.executor import InProcess, make_executor
from cleaner.run.job import run_job
from cleaner.run.report import Report

__all__ = ["Cleaner", "clean", "clean_documents", "clean_folder", "clean_records", "clean_text", "find_boilerplate"]


class Cleaner:
    """Clean records as one step of a data pipeline: dicts in, cleaned dicts out.

    Each record's text field is repaired, normalised, split into paragraphs and stripped of
    repeated paragraphs; every other field is kept, in order. A record that is removed
    whole, emptied, or rejected is not yielded: `removed` and `rejected` hold the lines
    `removed.jsonl` and `rejects.jsonl` would (unless `keep_log=False`), and `report`
    counts everything. One Cleaner remembers what it kept across `run` calls, so batches
    of one corpus are deduplicated against each other. With `boilerplate_min_docs`, pass
    `boilerplate=find_boilerplate(docs, config)` counted over the same input.
    """

    def __init__(self, config: Config | None = None, keep_log: bool = True,
                 boilerplate: Mapping[int, int] | None = None, options: RunOptions | None = None) -> None:
        self.config = config or Config()
        self.keep_log = keep_log
        self.report = Report()
        self.removed: list[dict[str, Any]] = []
        self.rejected: list[dict[str, Any]] = []
        options = options or RunOptions()
        executor = make_executor(options.executor, options.workers, options.ray_address)
        self._stages = [*build_chain(self.config, executor, Deduplicator(self.config, boilerplate)), self.report]

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


def clean_documents(docs: Iterable[Document], config: Config,
                    boilerplate: Mapping[int, int] | None = None) -> Iterator[Document]:
    """Decode, repair, segment and deduplicate documents in this process; every one comes
    out, decided. With `config.boilerplate_min_docs`, pass `boilerplate=find_boilerplate(same_docs)`."""
    return compose(docs, *build_chain(config, InProcess(), Deduplicator(config, boilerplate)))


def clean_text(text: str, config: Config | None = None) -> str:
    """Clean one document's text: repair, normalise, drop repeated paragraphs.

    Returns the text as `clean` would write it (paragraphs one blank line apart, final
    newline), or "" when nothing is left.
    """
    doc = Document(id="text", source="<text>", text=text)
    [doc] = clean_documents([doc], config or Config(scope="document"))
    return doc.cleaned_text() if doc.alive else ""


def clean(src: Path | BinaryIO, dst: Path | BinaryIO, config: Config, options: RunOptions | None = None) -> Report:
    """Clean `src` into `dst`; return the finished report.

    `src` is a folder (text files by `config.glob`, or JSONL/Parquet files), a JSONL/Parquet
    file, or a binary JSONL stream; `dst` a folder or a binary stream (then `options.log_dir`
    is required). The logs go to `options.log_dir`, by default `dst/.cleaner`; `_SUCCESS`
    appears there once everything is written and the accounts add up.
    """
    return run_job(open_source(src, config), dst, config, options or RunOptions())


def clean_folder(src: Path, dst: Path, config: Config, **options: Any) -> Report:
    """`clean` with the run options as keywords (see RunOptions)."""
    return clean(src, dst, config, RunOptions(**options))


def clean_records(src: Path | BinaryIO, dst: Path | BinaryIO, config: Config, log_dir: Path | None = None,
                  **options: Any) -> Report:
    """`clean` with the log folder and the other run options as keywords (see RunOptions)."""
    return clean(src, dst, config, RunOptions(log_dir=log_dir, **options))
