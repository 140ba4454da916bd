"""Files written atomically: a temporary name, then a rename, so a reader never sees
half a file; `durable` adds the fsyncs that make it whole or absent after a power loss."""

from __future__ import annotations

from collections.abc import Callable
import contextlib
import os
from pathlib import Path
import secrets
from typing import BinaryIO

from cleaner.errors import OutputError


def create_temp(path: Path, folder: Path | None = None) -> tuple[int, str]:
    """A new empty file beside `path` (or in `folder`, on the same file system) to be renamed
    onto it: (fd, name). Unlike mkstemp's 0600 it gets the usual permissions (0666 less
    the umask), so others can read the output."""
    while True:
        tmp = (folder or path.parent) / f".{path.name}.{secrets.token_hex(4)}.tmp"
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), str(tmp)
        except FileExistsError:
            continue


def write_atomic(path: Path, data: bytes | Callable[[BinaryIO], None], tmp_dir: Path | None = None,
                 durable: bool = False) -> None:
    """Write `data` (bytes, or a function that writes them to the file it is given: a large
    file is then never held whole in memory) to `path` through a temporary file and a rename. The temporary file is
    made in `tmp_dir` when given (a folder run's `.cleaner/tmp`, cleared on resume), else
    in the same folder. `durable` also fsyncs the file and then its folder, so after a
    crash or power loss the file is whole or absent (checkpoints, the completion marker)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = create_temp(path, tmp_dir)
        try:
            with os.fdopen(fd, "wb") as out:
                if callable(data):
                    data(out)
                else:
                    out.write(data)
                if durable:
                    out.flush()
                    os.fsync(out.fileno())
            os.replace(tmp, path)
        except BaseException:
            # Ctrl-C can land just after the rename: the temp name is then already gone.
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        if durable:
            fsync_folder(path.parent)
    except OSError as err:
        raise OutputError(f"{path}: cannot write: {err.strerror or err}") from err


def fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
