"""Checks that keep a run from harming its input or writing where it should not.

- `check_locations`: SRC must be a readable folder; DST must not be SRC, inside it, or
  around it (after resolving links), and must not be a file.
- `check_destination`: an existing non-empty DST is refused unless the run overwrites or
  resumes it; an incomplete earlier run is named as such.
- `DestinationLock`: one run per DST, by `flock` on the DST folder itself. The kernel drops
  the lock when the process dies (even by kill -9), so a lock is never stale and nothing
  has to be written into DST before every check has passed.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
from pathlib import Path

from cleaner.errors import UsageError
from cleaner.io.layout import STATE_DIR, SUCCESS
from cleaner.io.paths import is_within


def check_locations(src: Path, dst: Path) -> None:
    """Refuse locations that would let the run write into its own input."""
    if not src.exists():
        raise UsageError(f"{src}: no such file or folder")
    if not src.is_dir():
        raise UsageError(f"{src}: not a folder")
    if not os.access(src, os.R_OK | os.X_OK):
        raise UsageError(f"{src}: cannot read the input folder (permission denied)")
    src_real, dst_real = src.resolve(), dst.resolve()
    if is_within(dst_real, src_real):
        raise UsageError(f"{dst}: the output folder must not be the input folder or inside it")
    if is_within(src_real, dst_real):
        raise UsageError(f"{dst}: the output folder must not contain the input folder")
    if dst.exists() and not dst.is_dir():
        raise UsageError(f"{dst}: exists and is not a folder")


def check_destination(dst: Path, overwrite: bool, resume: bool) -> None:
    """Refuse a non-empty DST unless `overwrite` or `resume`; say when it holds an unfinished run."""
    if overwrite and resume:
        raise UsageError("--overwrite and --resume contradict each other: choose one")
    if overwrite or resume or not dst.is_dir():
        return
    entries = {entry.name for entry in os.scandir(dst)}
    if not entries:
        return
    if STATE_DIR in entries and not (dst / STATE_DIR / SUCCESS).exists():
        raise UsageError(f"{dst}: holds an incomplete run (no {STATE_DIR}/{SUCCESS}): "
                         "use --resume to finish it or --overwrite to start over")
    raise UsageError(f"{dst}: output folder is not empty (use --overwrite to write into it)")


class DestinationLock:
    """An exclusive, non-blocking `flock` on the DST folder, held for the whole run.

    Creates DST when missing (and removes it again on `release` if the run never wrote
    into it). Raises UsageError when another run holds the lock or DST cannot be created.
    """

    def __init__(self, dst: Path) -> None:
        self.dst = dst
        self.created = False
        try:
            dst.mkdir(parents=True)
            self.created = True
        except FileExistsError:
            pass
        except OSError as err:
            raise UsageError(f"{dst}: cannot create the output folder: {err.strerror or err}") from err
        self._fd: int | None = os.open(dst, os.O_RDONLY | os.O_DIRECTORY)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            os.close(self._fd)
            self._fd = None
            if err.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise UsageError(f"{dst}: another cleaner run is writing to this folder") from err
            raise UsageError(f"{dst}: cannot lock the output folder: {err.strerror or err}") from err

    def release(self, remove_if_unused: bool = False) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if remove_if_unused and self.created:
            with contextlib.suppress(OSError):
                self.dst.rmdir()


def check_writable(state: Path) -> None:
    """Create the state folder (DST/.cleaner or the log folder), or refuse (exit 2: nothing
    written yet) when it cannot be written."""
    try:
        state.mkdir(parents=True, exist_ok=True)
        probe = state / ".probe"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        where = state.parent if state.name == STATE_DIR else state
        raise UsageError(f"{where}: cannot write to the output folder: {err.strerror or err}") from err
