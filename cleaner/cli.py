"""The command line: a thin shell over the library. The only module that knows click,
tqdm, terminal output and exit statuses.

Exit statuses: 0 every input was cleaned; 1 the run completed but some inputs were
rejected (listed in .cleaner/rejects.jsonl); 2 bad usage, nothing written; 3 the run
failed (e.g. the disk filled) and the output is incomplete; 130 interrupted (Ctrl-C),
143 terminated (SIGTERM): the output is incomplete and --resume finishes it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
import contextlib
import dataclasses
import json
import os
from pathlib import Path
import signal
import sys
import threading
from typing import TYPE_CHECKING

import click
from tqdm import tqdm

from cleaner import __version__
from cleaner.config import (
    COMPRESSIONS,
    FORMATS,
    ON_ERROR,
    PARAGRAPH_MODES,
    REPAIR_PROFILES,
    SCOPES,
    TOKENS,
    UNITS,
    Config,
)
from cleaner.errors import CleanerError, ConfigError, Interrupted, OutputError, UsageError
from cleaner.io.layout import STATE_DIR
from cleaner.options import RunOptions

if TYPE_CHECKING:
    from cleaner.record import Document
    from cleaner.run.report import Report

# The library (numpy, datasketch, scipy, pyarrow: most of a second) is imported inside the
# commands, under their Ctrl-C handling, so `cleaner --help` is quick and an early Ctrl-C
# still ends in one line and exit 130.

DEFAULTS = Config()  # every option's default comes from the one Config
EXIT_REJECTED, EXIT_USAGE, EXIT_FAILED, EXIT_INTERRUPTED = 1, 2, 3, 130
EXIT_SIGNAL_BASE = 128  # stopped by signal N: 128 + N (SIGINT 130, SIGTERM 143), as shells do


class CleanerFailure(click.ClickException):
    """A library error as a one-line message with the documented exit status."""

    def __init__(self, error: CleanerError) -> None:
        super().__init__(str(error))
        self.exit_code = EXIT_USAGE if isinstance(error, (UsageError, ConfigError)) else EXIT_FAILED


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="cleaner")
def main() -> None:
    """Clean and deduplicate text corpora in one streaming pass.

    \b
    Example:
        cleaner clean articles/ cleaned/
    """


@main.command()
@click.argument("src", type=click.Path(path_type=Path))
@click.argument("dst", type=click.Path(path_type=Path))
@click.option("--glob", default=DEFAULTS.glob, show_default=True, help="Which file names under SRC to read.")
@click.option("--scope", type=click.Choice(SCOPES), default=DEFAULTS.scope, show_default=True,
              help="Find repeats inside each document only, or across the whole corpus too.")
@click.option("--threshold", type=float, default=DEFAULTS.threshold, show_default=True,
              help="Jaccard similarity of word n-grams at which a paragraph is a near repeat.")
@click.option("--ngram", type=int, default=DEFAULTS.ngram, show_default=True, help="Words per shingle.")
@click.option("--num-perm", type=int, default=DEFAULTS.num_perm, show_default=True, help="MinHash permutations.")
@click.option("--tokens", type=click.Choice(TOKENS), default=DEFAULTS.tokens, show_default=True,
              help="What shingles are made of: words, and characters in scripts written without spaces "
                   "(Chinese, Japanese, Korean, Thai, Lao, Khmer, Burmese); or words everywhere.")
@click.option("--unit", type=click.Choice(UNITS), default=DEFAULTS.unit, show_default=True,
              help="What is compared: paragraphs; or also runs of --window sentences, so copied "
                   "passages are cut from paragraphs whatever their line breaks.")
@click.option("--window", type=int, default=DEFAULTS.window, show_default=True,
              help="With --unit sentence: the fewest consecutive copied sentences removed.")
@click.option("--min-words", type=int, default=DEFAULTS.min_words, show_default=True,
              help="Shorter paragraphs are only removed as exact repeats inside one document.")
@click.option("--doc-threshold", type=float, default=DEFAULTS.doc_threshold, show_default=True,
              help="Jaccard of word 5-grams at which a whole document is a near copy of an earlier "
                   "one and is dropped (--scope corpus); 0 turns document dedup off.")
@click.option("--boilerplate-min-docs", type=int, default=DEFAULTS.boilerplate_min_docs, show_default=True, metavar="K",
              help="Remove a paragraph found in K or more documents from all of them (reason "
                   "boilerplate); 0 is off. Reads the input twice.")
@click.option("--repair", type=click.Choice(REPAIR_PROFILES), default=DEFAULTS.repair, show_default=True,
              help="ftfy profile: safe fixes mojibake only; aggressive also folds quotes, widths.")
@click.option("--paragraphs", type=click.Choice(PARAGRAPH_MODES), default=DEFAULTS.paragraphs, show_default=True,
              help="Paragraphs end at blank lines, also before an indented line (hard-wrapped "
                   "newswire), at every line, or auto: chosen per document.")
@click.option("--unwrap", is_flag=True, help="Rejoin the lines of each paragraph with single spaces.")
@click.option("--text-field", default=DEFAULTS.text_field, show_default=True,
              help="The field of a record that holds the text.")
@click.option("--id-field", default=DEFAULTS.id_field, show_default=True,
              help="The field of a record that holds its id (made from file:line when absent).")
@click.option("--format", "format", type=click.Choice(FORMATS), default=None,
              help="Output format  [default: the input's]")
@click.option("--compression", type=click.Choice(COMPRESSIONS), default=None,
              help="Compression of JSONL output  [default: the input's]")
@click.option("--shard-records", type=int, default=DEFAULTS.shard_records, show_default=True,
              help="Start a new output file after this many records (0: no limit).")
@click.option("--shard-bytes", type=int, default=DEFAULTS.shard_bytes, show_default=True,
              help="Start a new output file once one holds this many bytes (JSONL: before compression; 0: no limit).")
@click.option("--on-error", type=click.Choice(ON_ERROR), default=DEFAULTS.on_error, show_default=True,
              help="A bad record or file: log it to rejects.jsonl and go on (exit 1), or stop (exit 3).")
@click.option("--log-dir", type=click.Path(path_type=Path), default=None,
              help="Where the logs go  [default: DST/.cleaner; required when DST is -]")
@click.option("--workers", type=int, default=0, show_default="0: one per core",
              help="Processes for decoding, repair, segmenting and fingerprinting; 1 runs all in one "
                   "process. The output is the same for any value.")
@click.option("--executor", default="processes", show_default=True,
              help="What runs the per-document steps: processes, inprocess or ray (cleaner.run.executor). "
                   "The output is the same for every choice.")
# --- ray (issue 13)
@click.option("--ray-address", default=None, metavar="HOST:PORT",
              help="With --executor ray: the Ray cluster's head (its GCS port)  [default: start a "
                   "private local Ray with --workers CPUs]")
# --- end ray
@click.option("--overwrite", is_flag=True, help="Write into a DST that is not empty.")
@click.option("--resume", is_flag=True,
              help="Finish a run that was interrupted (Ctrl-C, SIGTERM, kill -9, a full disk); "
                   "not for standard input or output.")
@click.option("--follow-symlinks", is_flag=True,
              help="Read files behind symbolic links (only inside SRC, never round a loop).")
@click.option("--max-file-bytes", type=int, default=DEFAULTS.max_file_bytes, show_default=True,
              help="Reject larger input files without reading them.")
@click.option("--max-paragraph-chars", type=int, default=DEFAULTS.max_paragraph_chars, show_default=True,
              help="Reject a document with a longer paragraph.")
@click.option("--checkpoint-every", type=float, default=30.0, show_default=True,
              help="Seconds between the checkpoints that --resume goes on from.")
@click.option("--index", "index", default=None, metavar="PATH",
              help="A persistent index (a folder, or redis://HOST:PORT/DB?prefix=NAME): also remove "
                   "what earlier runs kept, and add what this run keeps when it completes.")
@click.option("--run-id", default=None, help="This run's name in --index  [default: its UTC start time]")
@click.option("--index-memory", type=click.IntRange(min=1), default=None, metavar="MIB",
              help="MiB of each index kind (paragraphs, documents) a run holds in memory before writing "
                   "them to disk; the output does not change  [default: 32]")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar and no summary.")
def clean(src: Path, dst: Path, log_dir: Path | None, overwrite: bool, quiet: bool, resume: bool,
          checkpoint_every: float, workers: int, executor: str, ray_address: str | None, index: str | None,
          run_id: str | None, index_memory: int | None,
          **options: object) -> None:
    """Clean SRC into DST: a folder of text files, or JSONL / Parquet records.

    SRC is a folder (text files by --glob, or JSONL/Parquet files with --glob '*.jsonl.gz'),
    a .jsonl, .jsonl.gz, .jsonl.zst or .parquet file, or - for JSONL on standard input.
    DST is a folder, or - for JSONL on standard output (then the progress and summary go to
    standard error and the logs to --log-dir). Each text is repaired (ftfy), normalised,
    split into paragraphs and stripped of repeated paragraphs; a record keeps every other
    field as it was. The log folder receives removed.jsonl (every dropped paragraph or
    record, why, and the kept copy it repeated), rejects.jsonl (with file and line),
    report.json, and _SUCCESS once the run is complete. SRC is never modified.

    \b
    Examples:
        cleaner clean articles/ cleaned/ --scope document --threshold 0.8
        cleaner clean scraped/ cleaned/ --unit sentence
        cleaner clean crawl.jsonl.zst cleaned/ --shard-records 100000
        zcat wire.jsonl.gz | cleaner clean - - --paragraphs indent --log-dir logs > out.jsonl
    """
    state = log_dir or dst / ".cleaner"
    try:
        config = Config(**options)  # type: ignore[arg-type]
        with _stop_on_signals(at_once=str(src) == "-") as stop:
            run = RunOptions(log_dir=log_dir, overwrite=overwrite, resume=resume, checkpoint_seconds=checkpoint_every,
                             executor=executor, workers=workers, ray_address=ray_address, stop=stop, index=index,
                             run_id=run_id, index_memory=index_memory << 20 if index_memory else None)
            report = _clean_with_progress(src, dst, config, run, quiet)
    except Interrupted as err:
        click.echo(f"cleaner: interrupted by {err}", err=True)
        sys.exit(EXIT_SIGNAL_BASE + err.signum)
    except CleanerError as err:
        if isinstance(err, OutputError) and str(dst) == "-":
            _silence_stdout()
        raise CleanerFailure(err) from None
    except KeyboardInterrupt:
        click.echo(f"cleaner: interrupted; {'the output' if str(dst) == '-' else dst} is incomplete "
                   f"(no {state / '_SUCCESS'})", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except OSError as err:  # a last resort: an error no stage expected still gets one line
        raise CleanerFailure(OutputError(f"{err.filename or dst}: {err.strerror or err}")) from None
    _tell(report, src, config, state, quiet)


def _tell(report: Report, src: Path, config: Config, state: Path, quiet: bool) -> None:
    """The summary for a person, and exit 1 when some inputs were rejected."""
    if not quiet:
        click.echo(report.summary(), err=True)
    if report.documents_in == 0 and src.is_dir():
        click.echo(f"cleaner: no file under {src} matches --glob {config.glob!r} "
                   "(for records use e.g. --glob '*.jsonl.gz')", err=True)
    if report.documents_rejected:
        click.echo(f"cleaner: {report.documents_rejected} input(s) rejected, "
                   f"see {state / 'rejects.jsonl'}", err=True)
        sys.exit(EXIT_REJECTED)


def _silence_stdout() -> None:
    """After a write to stdout failed (the reader went away), send what is left to
    /dev/null so that Python's own flush at exit does not print a traceback."""
    if sys.stdout is None:  # fd 1 was closed at start: Python has nothing to flush
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


@contextlib.contextmanager
def _stop_on_signals(at_once: bool = False) -> Iterator[Callable[[], int]]:
    """While cleaning, SIGINT and SIGTERM ask a folder run to stop at the next document
    boundary (it checkpoints, then raises Interrupted); a second signal acts at once.
    `at_once` (standard input: nothing to resume, and its read may wait for ever): the first."""
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield lambda: 0  # only the main thread may set signal handlers
        return

    def handler(signum: int, frame: object) -> None:
        received.append(signum)
        signal.signal(signum, signal.default_int_handler if signum == signal.SIGINT else signal.SIG_DFL)
        if at_once:
            raise Interrupted(signum, f"signal {signum}; the output is incomplete (standard input is not resumable)")

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield lambda: received[0] if received else 0
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _clean_with_progress(src: Path, dst: Path, config: Config, run: RunOptions, quiet: bool):
    from cleaner.io.sources import open_source
    from cleaner.run.job import run_job

    show = not quiet and sys.stderr.isatty()
    source = open_source(sys.stdin.buffer if str(src) == "-" else src, config)
    files, size = source.measure() if show and source.format == "txt" else (0, 0)
    with tqdm(total=size or None, unit="B", unit_scale=True, unit_divisor=1000, disable=not show,
              desc="cleaning", file=sys.stderr) as bar:
        done = 0

        def advance(doc: Document) -> None:
            nonlocal done
            done += 1
            bar.update(doc.bytes_in)
            if doc.reject is not None:
                where = doc.source if doc.reject.line is None or doc.origin is None else \
                    f"{doc.source}:{doc.reject.line}"
                where = "".join(c if c.isprintable() else repr(c)[1:-1] for c in where)  # one line, whatever the name
                bar.write(f"cleaner: skipped {where}: {doc.reject.message}", file=sys.stderr)
            bar.set_postfix_str(f"{done}/{files} files" if files else f"{done} records", refresh=False)

        target = _stdout() if str(dst) == "-" else dst
        return run_job(source, target, config, dataclasses.replace(run, on_document=advance))


def _stdout():
    """Standard output as a binary stream; a closed one is a usage error (nothing to write to)."""
    try:
        os.fstat(1)
    except OSError:
        raise OutputError("<stdout>: standard output is closed") from None
    return sys.stdout.buffer


__all__ = ["main", "OutputError"]


@main.command()
@click.argument("output", type=click.Path(path_type=Path))
@click.option("--reason", default=None, help="Only removals with this reason (e.g. near_duplicate).")
@click.option("--width", type=int, default=70, show_default=True, help="Shorten quoted text to this many characters.")
def show(output: Path, reason: str | None, width: int) -> None:
    """List what a run removed, one line each: reason, the removed text's place, the kept
    copy it repeated (with the verified similarity when below 1), and the text.

    OUTPUT is a cleaned folder (its .cleaner/removed.jsonl is read), a --log-dir, or a
    removed.jsonl itself.

    \b
    Example:
        cleaner show cleaned/ --reason near_duplicate
    """
    from cleaner.run.report import describe_removals

    log = output
    if output.is_dir():
        log = output / STATE_DIR / "removed.jsonl" if (output / STATE_DIR).is_dir() else output / "removed.jsonl"
    try:
        for line in describe_removals(log, reason, max(width, 20)):
            click.echo(line)
    except CleanerError as err:
        raise CleanerFailure(err) from None


@main.command()
@click.argument("output", type=click.Path(path_type=Path))
@click.option("--log-dir", type=click.Path(path_type=Path), default=None,
              help="The run's log folder, when it was not OUTPUT/.cleaner.")
def report(output: Path, log_dir: Path | None) -> None:
    """Write the report of a finished run again (OUTPUT/.cleaner/report.html, or in
    --log-dir), and print its path. Every run writes it at its end; this renders it anew,
    e.g. for a run of an older cleaner.

    \b
    Example:
        cleaner report cleaned/
    """
    from cleaner.run.reports import write_reports

    state = log_dir or (output / STATE_DIR if (output / STATE_DIR).is_dir() else output)
    try:
        for path in write_reports(state, output if output != state else None):
            click.echo(str(path))
    except CleanerError as err:
        raise CleanerFailure(err) from None


@main.command("index")
@click.argument("location")
@click.argument("action", type=click.Choice(["info", "compact", "forget"]))
@click.argument("run", required=False)
def index_command(location: str, action: str, run: str | None) -> None:
    """Look after a persistent index (a folder, or redis://HOST:PORT/DB?prefix=NAME).

    \b
    info         its runs, paragraphs, documents and bytes
    compact      merge its segments into one per kind (lookups get faster)
    forget RUN   drop what one run added
    Each is one atomic step: killed at any moment, the index is as before or after.
    """
    from cleaner.dedup.store import open_store

    if (action == "forget") != (run is not None):
        raise click.UsageError("forget takes the RUN to drop; info and compact take none")
    try:
        store = open_store(location, None)
    except CleanerError as err:
        raise CleanerFailure(err) from None
    try:
        store.begin(None, keep_staged=True)
        if action == "info":
            click.echo(json.dumps(store.info(), indent=1))
        elif action == "compact":
            store.compact()
        else:
            store.forget(run)  # type: ignore[arg-type]
    except CleanerError as err:
        raise CleanerFailure(err) from None
    finally:
        store.close()
