"""One job for every run: any source to any sink, guarded, checkpointed, committed.

    guards -> lock -> fresh or resumed state -> the chain -> sink and logs -> accounts -> commit

The only things that vary between a folder run and a record run are the source
(cleaner.io.sources) and the sink (cleaner.io.sinks). Construction checks everything and
writes nothing unless every check passes. The output looks complete (holds `_SUCCESS` in
its state folder) only once every file and log is in place and the accounts add up; a run
that stops early leaves it without the marker, and `resume` finishes it (cleaner.run.checkpoint).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
import functools
import itertools
import json
from pathlib import Path
import signal
import time
from typing import Any, BinaryIO

from cleaner.config import Config
from cleaner.dedup.decide import Deduplicator
from cleaner.dedup.store import Store, open_store
from cleaner.dedup.windowed import windowed
from cleaner.errors import Interrupted, UsageError
from cleaner.io.atomic import write_atomic
from cleaner.io.layout import CHECKPOINT, STATE_DIR, SUCCESS
from cleaner.io.logs import RunLogs
from cleaner.io.shards import remove_old_shards
from cleaner.io.sinks import Sink, open_sink
from cleaner.io.sources import FolderSource, Source
from cleaner.io.units import Cursor
from cleaner.options import RunOptions
from cleaner.record import Document
from cleaner.run.accounts import Accounts
from cleaner.run.chain import build_chain, compose, document_steps, find_boilerplate
from cleaner.run.checkpoint import Checkpoint, dump_checkpoint, prepare_state_folder
from cleaner.run.executor import AlreadyPrepared, make_executor
from cleaner.run.guards import DestinationLock, check_destination, check_locations, check_writable
from cleaner.run.plan import output_kind, resumable, success_record
from cleaner.run.report import Report
from cleaner.run.reports import write_reports

TMP_DIR = "tmp"
LOGS = ("removed.jsonl", "rejects.jsonl")
FILES_LOG = "files.jsonl"  # per text file read: how it was decoded and repaired


class Job:
    """One run of `source` into `dst` (a folder, or a binary stream with `log_dir`)."""

    def __init__(self, source: Source, dst: Path | BinaryIO, config: Config, options: RunOptions) -> None:
        self.source, self.dst, self.config, self.options = source, dst, config, options
        if options.log_dir is None and not isinstance(dst, Path):
            raise UsageError("writing to standard output needs --log-dir for the logs")
        self.state_dir = options.log_dir or dst / STATE_DIR  # type: ignore[operator]
        self.out_format, self.compression = output_kind(source, dst, config)
        self.log_names = LOGS + ((FILES_LOG,) if source.format == "txt" else ())
        if options.resume and source.manifest() is None:
            raise UsageError("standard input cannot be resumed: rerun the whole input with --overwrite")
        if options.resume and not isinstance(dst, Path):
            raise UsageError("a run writing to standard output cannot be resumed: rerun it with --overwrite")
        if config.boilerplate_min_docs and not source.rereadable:
            raise UsageError("--boilerplate-min-docs reads the input twice; it cannot read standard input")
        self.store: Store | None = None  # the persistent index (--index), locked for this run
        self._locks = self._guard()
        self._last_checkpoint = time.monotonic()
        self._cursor: Cursor | None = None  # where a run whose workers read units is in them

    def _folders(self) -> list[Path]:
        """The folders this run writes into: DST, and the log folder when it is elsewhere."""
        folders = [self.dst] if isinstance(self.dst, Path) else []
        return folders + ([self.state_dir] if self.options.log_dir is not None else [])

    def _guard(self) -> list[DestinationLock]:
        locks: list[DestinationLock] = []
        try:
            for folder in self._folders():
                if isinstance(self.source, FolderSource):
                    check_locations(self.source.root, folder)
                elif folder.exists() and not folder.is_dir():
                    raise UsageError(f"{folder}: exists and is not a folder")
                locks.append(DestinationLock(folder))
                check_destination(folder, self.options.overwrite, self.options.resume)
            self.manifest = self.source.manifest()
            self.resumed = resumable(self.state_dir, self._where_output(), self.config, self.manifest) \
                if self.options.resume else None
            self.complete = self.options.resume and self.resumed is None and (self.state_dir / SUCCESS).exists()
            self.store = self._open_store()
            if not self.complete:
                check_writable(self.state_dir)
                self.store = self.store or self._open_store(temporary=True)  # without --index: the run's own
        except BaseException:
            if self.store is not None:
                self.store.close()
            for lock in reversed(locks):
                lock.release(remove_if_unused=True)
            raise
        self.documents = self.resumed.documents if self.resumed else 0
        self.started = time.monotonic() - (self.resumed.elapsed if self.resumed else 0.0)
        return locks

    def _where_output(self) -> Path:
        return self.dst if isinstance(self.dst, Path) else self.state_dir

    def _open_store(self, temporary: bool = False) -> Store | None:
        """Open and lock `options.index` (or, `temporary`, the run's own index in its state
        folder) for this run (its name kept through a resume)."""
        if (self.options.index is None and not temporary) or self.complete:
            return None
        saved = self.resumed.state if self.resumed else {}
        if self.resumed is not None and saved.get("index") != self.options.index:
            raise UsageError(f"cannot resume: the interrupted run used --index {saved.get('index')}, "
                             f"not {self.options.index}; give the same one, or --overwrite")
        store = open_store(str(self.state_dir / "index.tmp"), self.config, self.options.index_memory, "temporary",
                           fresh=self.resumed is None) if temporary else \
            open_store(self.options.index, self.config, self.options.index_memory)  # type: ignore[arg-type]
        self.index_run = store.begin(saved.get("index_run") or self.options.run_id,
                                     keep_staged=bool(self.resumed and self.resumed.final))
        return store

    # -- the run ----------------------------------------------------------------------

    def run(self) -> Report:
        """Clean everything, commit, and return the report (of the finished run, when a
        resume finds it complete)."""
        try:
            if self.complete:
                return self.finished_report()
            logs = RunLogs(self.state_dir, self.log_names, resume_at=self._prepare_state())
            sink = self._open_sink()
            self._state = self._stages_state()
            self._logs, self._sink = logs, sink
            try:
                if self.resumed is None:
                    self.save()
                else:
                    sink.restore(self.resumed.state["sink"])
                self._drive(logs, sink)
            except BaseException:
                sink.close()
                logs.close()
                raise
            self._commit(logs, sink)
            return self._state["report"]
        finally:
            if self.store is not None:
                self.store.close()
            for lock in reversed(self._locks):
                lock.release()

    def _open_sink(self) -> Sink:
        inside = isinstance(self.dst, Path) and self.options.log_dir is None
        tmp = self.state_dir / TMP_DIR if inside else None
        if tmp is not None:
            tmp.mkdir(exist_ok=True)
        if isinstance(self.dst, Path) and self.resumed is None and self.out_format != "txt":
            remove_old_shards(self.dst)
        return open_sink(self.dst, self.out_format, self.compression, self.config, tmp)

    def _stages_state(self) -> dict[str, Any]:
        """The stateful stages: restored from the checkpoint when resuming, else new."""
        saved = self.resumed.state if self.resumed else {}
        boilerplate = None
        if self.config.boilerplate_min_docs and "dedup" not in saved:
            boilerplate = {} if self.resumed else self._first_pass()
        dedup = windowed(Deduplicator(self.config, boilerplate if boilerplate is not None else saved.get(
            "dedup", {}).get("boilerplate"), store=self.store), self.config)
        if "dedup" in saved:
            dedup.restore(saved["dedup"])
        report = saved.get("report") or Report()
        report.started = self.started
        return {"dedup": dedup, "report": report, "accounts": saved.get("accounts") or Accounts()}

    def _first_pass(self) -> dict[int, int]:
        """The boilerplate counts of --boilerplate-min-docs (a whole first read), its documents
        read and prepared by the executor's workers when they read units."""
        executor = make_executor(self.options.executor, self.options.workers, self.options.ray_address)
        if not getattr(executor, "reads_units", False):
            return find_boilerplate(self.source.documents(), self.config)
        prepared = executor.map_units(document_steps(self.config, keys_only=True), self.config, self.source.units())
        try:
            return find_boilerplate(Cursor().documents(prepared), self.config, AlreadyPrepared())
        finally:
            getattr(prepared, "close", lambda: None)()

    def _drive(self, logs: RunLogs, sink: Sink) -> None:
        state = self._state
        executor = make_executor(self.options.executor, self.options.workers, self.options.ray_address)
        docs, prepared, skip = self.source.documents(), None, self.documents
        if getattr(executor, "reads_units", False):  # its workers read the input, from the checkpoint's unit on
            self._cursor = Cursor(self.resumed.state.get("units") if self.resumed else None)
            units = itertools.islice(self.source.units(), self._cursor.unit, None)
            prepared = executor.map_units(document_steps(self.config), self.config, units)
            docs, executor, skip = self._cursor.documents(prepared), AlreadyPrepared(), skip - self._cursor.before
        stages = build_chain(self.config, executor, state["dedup"], state["accounts"], admit=sink)
        try:
            for doc in compose(itertools.islice(docs, skip, None), *stages, _writer(sink, logs), state["report"],
                               state["accounts"].settled):
                if self.options.on_document is not None:
                    self.options.on_document(doc)
                self._after_document()
        finally:  # the executor's session (its pool, its Ray connection) ends here, not when collected
            for stream in (docs, prepared):
                getattr(stream, "close", lambda: None)()

    def _prepare_state(self) -> dict[str, tuple[int, int]] | None:
        """Make the state folder ready (cleaner.run.checkpoint.prepare_state_folder)."""
        return prepare_state_folder(self.state_dir, (*LOGS, FILES_LOG), TMP_DIR,
                                    self.resumed.logs if self.resumed else None)

    # -- checkpoints ------------------------------------------------------------------

    def save(self, final: bool = False) -> None:
        """Flush the logs and the sink and record a checkpoint at this document boundary."""
        state = self._state
        saved = {"report": state["report"], "accounts": state["accounts"], "sink": self._sink.checkpoint()}
        if not final:
            saved["dedup"] = state["dedup"].snapshot()
        if self.store is not None:
            saved["index"], saved["index_run"] = self.options.index, self.index_run
        if self._cursor is not None:
            saved["units"] = self._cursor.position(self.documents)
        checkpoint = Checkpoint(self.config.digest(), self.manifest, self.documents, self._logs.sync(), saved,
                                time.monotonic() - self.started, final)
        write_atomic(self.state_dir / CHECKPOINT, functools.partial(dump_checkpoint, checkpoint), durable=True)
        self._sink_checkpointed()
        self._last_checkpoint = time.monotonic()

    def _sink_checkpointed(self) -> None:
        done = getattr(self._sink, "checkpointed", None)
        if done is not None:
            done()

    def _after_document(self) -> None:
        """Count one finished document; checkpoint when due, or stop (raise Interrupted)
        when `stop()` returns a signal number."""
        self.documents += 1
        signum = self.options.stop() if self.options.stop is not None else 0
        if signum:
            self.save()
            raise Interrupted(signum, f"{signal.Signals(signum).name} after {self.documents} documents; "
                              f"{self._where()} is incomplete (no {self.state_dir / SUCCESS}): "
                              + ("run the same command with --resume to finish" if self.manifest else "rerun it"))
        if time.monotonic() - self._last_checkpoint >= self.options.checkpoint_seconds:
            self.save()

    def _where(self) -> str:
        return str(self.dst) if isinstance(self.dst, Path) else "the output"

    # -- finishing --------------------------------------------------------------------

    def _commit(self, logs: RunLogs, sink: Sink) -> None:
        """Check the accounts, save a final checkpoint, put the output and logs in place,
        write report.json, and `_SUCCESS` last."""
        report, accounts = self._state["report"], self._state["accounts"]
        report.finish()
        accounts.check(logs.logged)
        if self.store is not None:
            self.store.prepare()  # this run's index additions, durable but unpublished
        self.save(final=True)
        sink.commit()
        logs.commit()
        summary = {"config": self.config.as_dict(), **report.as_dict()}
        write_atomic(self.state_dir / "report.json", (json.dumps(summary, indent=2) + "\n").encode(), durable=True)
        write_reports(self.state_dir, self.dst if isinstance(self.dst, Path) else None)
        if self.store is not None:
            # Before _SUCCESS: a complete output always has its run in the index; a crash
            # in between leaves no _SUCCESS, and --resume publishes (or finds it published).
            self.store.publish()
        counts = {k: v for k, v in report.as_dict().items() if k != "seconds"}
        success = {"config": self.config.digest(), "manifest": self.manifest, "accounts": accounts.as_dict(), **counts}
        write_atomic(self.state_dir / SUCCESS, (json.dumps(success) + "\n").encode(), durable=True)
        (self.state_dir / CHECKPOINT).unlink(missing_ok=True)  # complete: nothing to resume
        self._sink_checkpointed()
        with_tmp = self.state_dir / TMP_DIR
        if with_tmp.is_dir() and not any(with_tmp.iterdir()):
            with_tmp.rmdir()

    def finished_report(self) -> Report:
        """For `resume` of a complete run: its report, rebuilt from `_SUCCESS` (no timing)."""
        return Report.from_counts(success_record(self.state_dir))


def _writer(sink: Sink, logs: RunLogs):
    """Stage: write each kept document to the sink, and log what was dropped."""

    def write(docs: Iterable[Document]) -> Iterator[Document]:
        for doc in docs:
            if doc.alive and doc.kept_paragraphs:
                sink.write(doc)
            logs.write(doc)
            yield doc

    return write


def run_job(source: Source, dst: Path | BinaryIO, config: Config, options: RunOptions) -> Report:
    """Clean `source` into `dst` in one job (see Job)."""
    return Job(source, dst, config, options).run()
