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
import stat
from typing import BinaryIO

from cleaner.io.paths import LinkGuard
from cleaner.record import Document, Reject


def iter_files(root: Path, pattern: str, follow_symlinks: bool = False) -> Iterator[tuple[Path, str]]:
    """Yield (path, relative POSIX name) for files under `root` matching `pattern`, sorted.

    Entries of a folder are ordered by name with a "/" appended to folder names, which is
    exactly the order of the full relative paths. Links to folders are followed only with
    `follow_symlinks`, only inside `root` and never round a loop (see guards.LinkGuard);
    links not followed are yielded too, so that the reader can reject them visibly.
    """
    links = LinkGuard(root, follow_symlinks)
    yield from _walk(root, "", pattern, links, (str(links.root_real),))


def _walk(folder: Path, prefix: str, pattern: str, links: LinkGuard,
          chain: tuple[str, ...]) -> Iterator[tuple[Path, str]]:
    with os.scandir(folder) as listing:
        entries = [(e.name + "/" if links.descend(e, chain) else e.name, e) for e in listing]
    for sort_name, entry in sorted(entries, key=lambda pair: pair[0]):
        if sort_name.endswith("/"):
            real = os.path.realpath(entry.path)
            yield from _walk(Path(entry.path), prefix + sort_name, pattern, links, (*chain, real))
        elif _wanted(entry, pattern):
            yield Path(entry.path), prefix + entry.name


def _wanted(entry: os.DirEntry, pattern: str) -> bool:
    """A matching entry that is not a folder: a file, or anything else (a FIFO, socket or
    device, to be rejected as not regular); or a link not followed that matches or leads to
    a folder (to be rejected)."""
    if entry.is_symlink() and entry.is_dir():
        return True
    return fnmatch.fnmatchcase(entry.name, pattern) and not entry.is_dir(follow_symlinks=False)


def read_file(path: Path, name: str, max_bytes: int | None = None, links: LinkGuard | None = None) -> Document:
    """One whole file as a Document named `name`, holding its raw bytes (or a Reject).

    A symbolic link is rejected unless `links` (the walk's LinkGuard) allows it; a file
    over `max_bytes` is rejected as `too_large` without being loaded.
    """
    doc = Document(id=name, source=name)
    if links is not None:
        doc.reject = links.reject(path)
    elif path.is_symlink():
        doc.reject = Reject("symlink", "symbolic link not followed (use --follow-symlinks to read it)")
    if doc.reject is None:
        _read_bounded(path, doc, max_bytes)
    return doc


# Opening never waits: O_NONBLOCK makes open() of a FIFO without a writer return at once
# (a file replaced by one after the folder was listed), and the descriptor's own type is
# checked before any read, so only regular files are read.
_OPEN_FLAGS = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
_KINDS = ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISDIR, "a folder"))


def _read_bounded(path: Path, doc: Document, limit: int | None) -> None:
    """Fill `doc.raw`, or reject the file as unreadable, not a regular file, or larger than
    `limit` bytes without loading it (reads at most limit + 1 bytes, so a growing file is
    caught too)."""
    try:
        with open_regular(path) as handle:
            size = os.fstat(handle.fileno()).st_size
            raw = b"" if limit is not None and size > limit else handle.read(-1 if limit is None else limit + 1)
    except NotRegularFile as err:
        doc.reject = Reject("not_regular_file", str(err))
        return
    except OSError as err:
        doc.reject = Reject("unreadable", f"cannot read: {err.strerror or err}")
        return
    if limit is not None and (size > limit or len(raw) > limit):
        doc.reject = Reject("too_large", f"{max(size, len(raw)):,} bytes, over the limit of {limit:,} "
                            "(max_file_bytes)")
        return
    doc.raw, doc.bytes_in = raw, len(raw)


class NotRegularFile(OSError):
    """A FIFO, socket, device or folder where a file was expected: never read."""


def open_regular(path: Path) -> BinaryIO:
    """`path` opened for reading, without waiting; NotRegularFile unless it is a regular
    file (by the opened descriptor: the path may have changed since it was listed)."""
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError:  # a socket cannot be opened at all: say what it is, if it is one
        mode = stat.S_IFREG
        with contextlib.suppress(OSError):
            mode = os.stat(path).st_mode
        _check_regular(mode)
        raise
    try:
        _check_regular(os.fstat(fd).st_mode)
    except OSError:
        os.close(fd)
        raise
    return open(fd, "rb")


def _check_regular(mode: int) -> None:
    if not stat.S_ISREG(mode):
        kind = next((name for test, name in _KINDS if test(mode)), "not a file")
        raise NotRegularFile(f"not a regular file ({kind}); not read")
