"""Sources -> Iterator[Document]: the first stage. Reads bytes; decoding comes later.

Folders are walked lazily, one directory listing at a time, in the lexicographic order of
the relative POSIX path, so the run is deterministic and memory does not grow with the
number of files.
"""

from __future__ import annotations

from collections.abc import Iterator
import contextlib
import fnmatch
import os
from pathlib import Path

from .config import Config
from .errors import UsageError
from .record import Document, Reject


def iter_files(root: Path, pattern: str) -> Iterator[tuple[Path, str]]:
    """Yield (path, relative POSIX name) for files under `root` matching `pattern`, sorted.

    Entries of a folder are ordered by name with a "/" appended to folder names, which is
    exactly the order of the full relative paths. Links to folders are not followed.
    """
    yield from _walk(root, "", pattern)


def _walk(folder: Path, prefix: str, pattern: str) -> Iterator[tuple[Path, str]]:
    with os.scandir(folder) as listing:
        entries = [(e.name + "/" if e.is_dir(follow_symlinks=False) else e.name, e) for e in listing]
    for sort_name, entry in sorted(entries, key=lambda pair: pair[0]):
        if sort_name.endswith("/"):
            yield from _walk(Path(entry.path), prefix + sort_name, pattern)
        elif fnmatch.fnmatchcase(entry.name, pattern) and entry.is_file():
            yield Path(entry.path), prefix + entry.name


def check_source_folder(src: Path) -> None:
    """Fail early, with the path in the message, when the input folder cannot be read."""
    if not src.exists():
        raise UsageError(f"{src}: no such file or folder")
    if not src.is_dir():
        raise UsageError(f"{src}: not a folder")


def read_file(path: Path, name: str) -> Document:
    """One whole file as a Document named `name`, holding its raw bytes (or a Reject)."""
    doc = Document(id=name, source=name)
    try:
        doc.raw = path.read_bytes()
    except OSError as err:
        doc.reject = Reject("unreadable", err.strerror or str(err))
    else:
        doc.bytes_in = len(doc.raw)
    return doc


def read_folder(src: Path, config: Config) -> Iterator[Document]:
    """Yield one Document per matching file, holding its raw bytes (or a Reject)."""
    check_source_folder(src)
    for path, name in iter_files(src, config.glob):
        yield read_file(path, name)


def measure_folder(src: Path, config: Config) -> tuple[int, int]:
    """Count matching files and their bytes, without keeping the list (for progress bars)."""
    files = size = 0
    for path, _ in iter_files(src, config.glob):
        files += 1
        with contextlib.suppress(OSError):  # a file that vanished is rejected later
            size += path.stat().st_size
    return files, size
