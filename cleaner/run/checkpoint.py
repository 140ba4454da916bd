"""A folder run's life cycle: guard, lock, checkpoint, resume, and commit with `_SUCCESS`.

A run keeps everything it writes consistent at document boundaries:
- output files are renamed into place one by one (write.write_atomic);
- the logs grow as `.partial` files, append-only;
- a checkpoint (`.cleaner/checkpoint.pkl`, written durably: temp file, fsync, rename)
  records after how many input documents it was taken, each log's byte length and line
  count at that moment, and a pickle of the stateful stages (the dedup index, the report,
  the accounts).

`--resume` truncates the logs back to the checkpoint, restores the pickled stages, skips
that many input documents, and goes on. Documents after the checkpoint are done again;
since every stage is deterministic given the restored state, their output files are
rewritten with the same bytes and their log lines appended again. The result is
byte-identical to a run that was never interrupted (report.json's `seconds` aside).

Why a pickle of the state and not a replay of the input: replaying means reading,
repairing and deciding every earlier document again (most of a run's time), and pickling
is exact for whatever state the decide stage holds, today or later. The price is that a
checkpoint costs time in proportion to the index, so checkpoints are taken at most every
`checkpoint_seconds` (and at interruption). `_SUCCESS` is written last, holding the config
hash, the input manifest hash and the counts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
import hashlib
import itertools
import json
import os
from pathlib import Path
import pickle
import shutil
import signal
import time
from typing import Any

from cleaner.config import Config
from cleaner.errors import Interrupted, UsageError
from cleaner.io.atomic import write_atomic
from cleaner.io.folder_reader import iter_files
from cleaner.io.layout import CHECKPOINT, STATE_DIR, SUCCESS
from cleaner.record import Document
from cleaner.run.accounts import Accounts
from cleaner.run.guards import DestinationLock, check_destination, check_locations, check_writable
from cleaner.run.report import Report

FORMAT = 1
LOGS = ("removed.jsonl", "rejects.jsonl", "files.jsonl")
TMP_DIR = "tmp"


def input_manifest(src: Path, config: Config) -> str:
    """A hash of every input's relative name, size and modification time, streamed in
    walk order: equal manifests mean the same inputs, as far as a resume can tell cheaply."""
    digest = hashlib.sha256()
    for path, name in iter_files(src, config.glob, config.follow_symlinks):
        try:
            stat = path.stat() if config.follow_symlinks else path.lstat()
            facts = f"{stat.st_size} {stat.st_mtime_ns}"
        except OSError as err:
            facts = f"error {err.errno}"
        digest.update(os.fsencode(name) + b"\0" + facts.encode() + b"\n")
    return digest.hexdigest()[:32]


@dataclass
class Checkpoint:
    """Where an interrupted run can go on from."""

    config: str
    manifest: str
    documents: int = 0
    logs: dict[str, tuple[int, int]] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)
    elapsed: float = 0.0
    final: bool = False
    format: int = FORMAT


def load_checkpoint(path: Path) -> Checkpoint | None:
    """The checkpoint at `path`, None when there is none; UsageError when it cannot be used."""
    try:
        blob = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as err:
        raise UsageError(f"{path}: cannot read the checkpoint: {err.strerror or err}") from err
    try:
        checkpoint = pickle.loads(blob)
    except Exception as err:  # a pickle can fail in many ways; each means "unusable"
        raise UsageError(f"{path}: damaged checkpoint ({type(err).__name__}); use --overwrite to start over") from err
    if not isinstance(checkpoint, Checkpoint) or checkpoint.format != FORMAT:
        raise UsageError(f"{path}: checkpoint from another cleaner version; use --overwrite to start over")
    return checkpoint


class FolderRun:
    """Guards, lock and resume state of one `clean_folder` run.

    Construction checks everything and writes nothing unless every check passes: the
    locations, the lock, DST's emptiness (or `overwrite`/`resume`), and for `resume` that
    the config and the inputs are those of the interrupted run. Raises UsageError otherwise.
    """

    def __init__(self, src: Path, dst: Path, config: Config, overwrite: bool = False,
                 resume: bool = False, checkpoint_seconds: float = 30.0) -> None:
        check_locations(src, dst)
        self.dst, self.config, self.state_dir = dst, config, dst / STATE_DIR
        self.checkpoint_seconds = checkpoint_seconds
        self.lock = DestinationLock(dst)
        try:
            check_destination(dst, overwrite, resume)
            self.manifest = input_manifest(src, config)
            self.resumed = self._resumable() if resume else None
            self.complete = resume and self.resumed is None and (self.state_dir / SUCCESS).exists()
            if not self.complete:
                check_writable(dst)
        except BaseException:
            self.lock.release(remove_if_unused=True)
            raise
        self.documents = self.resumed.documents if self.resumed else 0
        self.started = time.monotonic() - (self.resumed.elapsed if self.resumed else 0.0)
        self._last_checkpoint = time.monotonic()
        self._writer: Any = None
        self._state: dict[str, Any] = {}

    def _resumable(self) -> Checkpoint | None:
        """The checkpoint to go on from, after checking it belongs to this config and input."""
        checkpoint = load_checkpoint(self.state_dir / CHECKPOINT)
        if checkpoint is None:
            if (self.state_dir / SUCCESS).exists():
                checkpoint = self._success_as_checkpoint()
                self._check_same_run(checkpoint)
                return None
            return None
        self._check_same_run(checkpoint)
        return checkpoint

    def _success_as_checkpoint(self) -> Checkpoint:
        try:
            success = json.loads((self.state_dir / SUCCESS).read_text(encoding="utf-8"))
            return Checkpoint(success["config"], success["manifest"], state={"success": success})
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise UsageError(f"{self.dst}: unreadable {STATE_DIR}/{SUCCESS} ({err}); use --overwrite") from err

    def _check_same_run(self, checkpoint: Checkpoint) -> None:
        if checkpoint.config != self.config.digest():
            raise UsageError(f"{self.dst}: cannot resume: the options differ from the interrupted run's "
                             f"(config {checkpoint.config}, now {self.config.digest()}); "
                             "give the same options, or --overwrite to start over")
        if checkpoint.manifest != self.manifest:
            raise UsageError(f"{self.dst}: cannot resume: the input files changed since the interrupted run "
                             "(names, sizes or times); use --overwrite to start over")

    def finished_report(self) -> Report:
        """For `resume` of a complete run: its report, rebuilt from `_SUCCESS` (no timing)."""
        success = self._success_as_checkpoint().state["success"]
        report = Report()
        docs, paras = success.get("documents", {}), success.get("paragraphs", {})
        for name in ("in", "out", "rejected", "removed", "emptied"):
            setattr(report, f"documents_{name}", docs.get(name, 0))
        report.paragraphs_in, report.paragraphs_out = paras.get("in", 0), paras.get("out", 0)
        report.removed.update(success.get("removed_by_reason", {}))
        report.rejected.update(success.get("rejected_by_reason", {}))
        return report.finish()

    # -- starting ---------------------------------------------------------------------

    def prepare_state(self) -> dict[str, tuple[int, int]] | None:
        """Make `.cleaner/` ready: fresh for a new run, rolled back to the checkpoint for a
        resumed one. Returns the log (bytes, lines) a resumed writer continues from."""
        shutil.rmtree(self.state_dir / TMP_DIR, ignore_errors=True)
        for stray in self.state_dir.glob(".*.tmp"):  # a kill -9 inside write_atomic of the state files
            stray.unlink(missing_ok=True)
        for name in ("report.json", SUCCESS):
            (self.state_dir / name).unlink(missing_ok=True)
        if self.resumed is None:
            for name in (*LOGS, *(f"{log}.partial" for log in LOGS), CHECKPOINT):
                (self.state_dir / name).unlink(missing_ok=True)
            return None
        for name, (size, _) in self.resumed.logs.items():
            partial, final = self.state_dir / f"{name}.partial", self.state_dir / name
            if not partial.exists() and final.exists():
                os.replace(final, partial)  # the interrupted run had begun to commit
            try:
                os.truncate(partial, size)
            except OSError as err:
                raise UsageError(f"{partial}: cannot resume: {err.strerror or err}; "
                                 "use --overwrite to start over") from err
        return self.resumed.logs

    def restore(self, **fresh: Callable[[], Any]) -> dict[str, Any]:
        """The stateful stages to run with: the checkpointed ones when resuming, else made
        by the `fresh` factories (called only for what the checkpoint lacks: a final
        checkpoint keeps no dedup index, none being needed)."""
        saved = self.resumed.state if self.resumed else {}
        state = {name: saved[name] if name in saved else make() for name, make in fresh.items()}
        if hasattr(state.get("report"), "started"):
            state["report"].started = self.started
        return state

    def start(self, writer: Any, state: dict[str, Any]) -> None:
        """Remember what a checkpoint saves; a new run saves its starting point at once."""
        self._writer, self._state = writer, state
        if self.resumed is None:
            self.save()

    def skip_done(self, docs: Iterable[Document]) -> Iterator[Document]:
        """The input without the documents a resumed run already finished."""
        return itertools.islice(docs, self.documents, None)

    # -- during the run ---------------------------------------------------------------

    def save(self, final: bool = False) -> None:
        """Flush the logs and record a checkpoint at the current document boundary."""
        logs = self._writer.sync()
        state = {k: v for k, v in self._state.items() if not final or k != "dedup"}
        checkpoint = Checkpoint(self.config.digest(), self.manifest, self.documents, logs, state,
                                time.monotonic() - self.started, final)
        write_atomic(self.state_dir / CHECKPOINT, pickle.dumps(checkpoint, protocol=pickle.HIGHEST_PROTOCOL),
                     durable=True)
        self._last_checkpoint = time.monotonic()

    def after_document(self, stop: Callable[[], int] | None = None) -> None:
        """Count one finished document; checkpoint when due, or stop (raise Interrupted)
        when `stop()` returns a signal number."""
        self.documents += 1
        signum = stop() if stop is not None else 0
        if signum:
            self.save()
            name = signal.Signals(signum).name
            raise Interrupted(signum, f"{name} after {self.documents} documents; {self.dst} is incomplete "
                              "(no .cleaner/_SUCCESS): run the same command with --resume to finish")
        if time.monotonic() - self._last_checkpoint >= self.checkpoint_seconds:
            self.save()

    # -- finishing --------------------------------------------------------------------

    def success_record(self, accounts: Accounts, counts: dict[str, Any]) -> dict[str, Any]:
        return {"config": self.config.digest(), "manifest": self.manifest, "accounts": accounts.as_dict(),
                **{k: v for k, v in counts.items() if k != "seconds"}}

    def commit(self, accounts: Accounts, report_json: dict[str, Any], counts: dict[str, Any]) -> None:
        """Check the accounts, save a final checkpoint, rename the logs into place, write
        report.json, and `_SUCCESS` last."""
        accounts.check(self._writer.logged)
        self.save(final=True)
        self._writer.commit()
        write_atomic(self.state_dir / "report.json", (json.dumps(report_json, indent=2) + "\n").encode(), durable=True)
        success = json.dumps(self.success_record(accounts, counts)) + "\n"
        write_atomic(self.state_dir / SUCCESS, success.encode(), durable=True)
        (self.state_dir / CHECKPOINT).unlink(missing_ok=True)  # complete: nothing to resume

    def close(self) -> None:
        self.lock.release()
