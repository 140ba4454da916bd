"""The folder sink: each kept document at its relative path under DST, through the one safe-path check."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
import contextlib
import os
from pathlib import Path

from cleaner.errors import UnsafePathError
from cleaner.io.atomic import write_atomic
from cleaner.io.layout import STATE_DIR
from cleaner.io.logs import RunLogs
from cleaner.io.paths import safe_output_path
from cleaner.record import Document, Reject


class FolderWriter:
    """Stage: write each kept document to DST at its relative path, and log the rest."""

    def __init__(self, dst: Path, resume_at: dict[str, tuple[int, int]] | None = None) -> None:
        self.dst = dst
        self.state = dst / STATE_DIR
        self.run_logs = RunLogs(self.state, resume_at=resume_at)
        self.logs = self.run_logs.logs
        self.tmp = self.state / "tmp"
        self.tmp.mkdir(exist_ok=True)
        self._real_dst = os.path.realpath(dst)
        self._safe_folders: set[str] = set()  # relative folders whose links were resolved inside DST

    def __call__(self, docs: Iterable[Document]) -> Iterator[Document]:
        for doc in docs:
            self.write(doc)
            yield doc

    def write(self, doc: Document) -> None:
        if doc.alive:
            text = doc.cleaned_text()
            target = self._target(doc) if text else None
            if target is not None:
                write_atomic(target, text.encode("utf-8", "surrogateescape"), self.tmp)
        self.run_logs.write(doc)

    def _target(self, doc: Document) -> Path | None:
        """Where `doc` goes, or None after rejecting it (`unsafe_path`) if its name would leave DST."""
        try:
            return safe_output_path(self.dst, doc.source, self._real_dst, self._safe_folders)
        except UnsafePathError as err:
            doc.reject = Reject("unsafe_path", err.reason)
            return None

    def sync(self) -> dict[str, tuple[int, int]]:
        return self.run_logs.sync()

    def logged(self, name: str) -> int | None:
        """Lines written to log `name` so far (for the accounts)."""
        return self.run_logs.logged(name)

    def commit(self) -> None:
        self.run_logs.commit()
        with contextlib.suppress(OSError):
            self.tmp.rmdir()

    def close(self) -> None:
        self.run_logs.close()
