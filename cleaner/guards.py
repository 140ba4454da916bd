"""Checks that keep a run from harming its input or writing where it should not.

- `check_locations`: SRC must be a readable folder; DST must not be SRC, inside it, or
  around it (after resolving links), and must not be a file.
- `check_destination`: an existing non-empty DST is refused unless the run overwrites or
  resumes it; an incomplete earlier run is named as such.
- `DestinationLock`: one run per DST, by `flock` on the DST folder itself. The kernel drops
  the lock when the process dies (even by kill -9), so a lock is never stale and nothing
  has to be written into DST before every check has passed.
- `safe_output_path`: a relative name (a file path or a record id) -> a path that can never
  leave DST or land in its `.cleaner/` state folder.
- `LinkGuard`: which symbolic links a folder walk follows (none unless asked; never out of
  SRC; never round a loop), and the reject for the ones it does not.
- `check_limits`: per-document step that rejects pathological text (a giant paragraph, a
  flood of combining marks) before the costly stages see it.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
from pathlib import Path
import re
import unicodedata

from .config import Config
from .errors import UnsafePathError, UsageError
from .layout import STATE_DIR, SUCCESS
from .record import Document, Reject


def _is_within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def check_locations(src: Path, dst: Path) -> None:
    """Refuse locations that would let the run write into its own input."""
    if not src.exists():
        raise UsageError(f"{src}: no such file or folder")
    if not src.is_dir():
        raise UsageError(f"{src}: not a folder")
    if not os.access(src, os.R_OK | os.X_OK):
        raise UsageError(f"{src}: cannot read the input folder (permission denied)")
    src_real, dst_real = src.resolve(), dst.resolve()
    if _is_within(dst_real, src_real):
        raise UsageError(f"{dst}: the output folder must not be the input folder or inside it")
    if _is_within(src_real, dst_real):
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


def check_writable(dst: Path) -> None:
    """Create DST/.cleaner, or refuse (exit 2: nothing written yet) when DST is read-only."""
    try:
        (dst / STATE_DIR).mkdir(exist_ok=True)
        probe = dst / STATE_DIR / ".probe"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        raise UsageError(f"{dst}: cannot write to the output folder: {err.strerror or err}") from err


def safe_output_path(root: Path, name: str, real_root: str | None = None, safe_folders: set[str] | None = None) -> Path:
    """`root / name` for a relative POSIX name that stays inside `root`, else UnsafePathError.

    Refused: empty names, absolute paths, `.`/`..`/empty components, NUL, the reserved state
    folder `.cleaner` as first component, and a path that leaves `root` through a link
    already inside it. Use it for every output path built from a file name or record id;
    a caller writing many passes `real_root=os.path.realpath(root)` once, and a set in
    which the folders found safe are kept, so each folder's links are resolved once.
    """
    problem = None
    parts = name.split("/")
    if not name:
        problem = "empty name"
    elif "\x00" in name:
        problem = "NUL character in name"
    elif name.startswith("/"):
        problem = "absolute path"
    elif any(part in ("", ".", "..") for part in parts):
        problem = "empty, '.' or '..' path component"
    elif parts[0] == STATE_DIR:
        problem = f"{STATE_DIR}/ is reserved for cleaner's own logs"
    if problem is None:
        target = root / name
        folder = name.rpartition("/")[0]
        if safe_folders is not None and folder in safe_folders:
            return target
        real_parent = Path(os.path.realpath(target.parent))
        if not _is_within(real_parent, Path(real_root or os.path.realpath(root))):
            problem = "leads outside the output folder through a link"
        else:
            if safe_folders is not None:
                safe_folders.add(folder)
            return target
    raise UnsafePathError(name, f"unsafe output path ({problem})")


class LinkGuard:
    """Decides, during one folder walk, which symbolic links are followed.

    Without `follow`, no link is followed: links are yielded as entries and rejected
    (`symlink`), so they are listed rather than silently skipped. With `follow`, a link is
    followed only when its target lies inside SRC; a link to a folder already on the
    current walk path (a loop) is not followed and rejected (`symlink_loop`).
    """

    def __init__(self, root: Path, follow: bool) -> None:
        self.root_real = Path(os.path.realpath(root))
        self.follow = follow

    def descend(self, entry: os.DirEntry, chain: tuple[str, ...]) -> bool:
        """Whether the walk should enter `entry` as a folder; `chain` holds the real paths
        of the folders on the current walk path."""
        if not entry.is_symlink():
            return entry.is_dir(follow_symlinks=False)
        if not self.follow or not entry.is_dir():
            return False
        target = os.path.realpath(entry.path)
        return _is_within(Path(target), self.root_real) and target not in chain

    def reject(self, path: Path) -> Reject | None:
        """The reject for a walked entry that must not be read, or None to read it."""
        if not path.is_symlink() and not self.follow:
            return None
        target = Path(os.path.realpath(path))
        if path.is_symlink() and not self.follow:
            return Reject("symlink", "symbolic link not followed (use --follow-symlinks to read it)")
        if not _is_within(target, self.root_real):
            return Reject("symlink_outside", "symbolic link leads outside the input folder; not followed")
        if target.is_dir():
            return Reject("symlink_loop", "symbolic link to a folder already being read (a loop); not followed")
        return None


LAST_COMBINING = 0x1FFFF  # no later code point has a combining class (planes 2-16: CJK, tags, private use)


def _non_starter_class() -> str:
    """A regex character class of every code point with a non-zero combining class."""
    ranges: list[str] = []
    start = None
    for point in range(LAST_COMBINING + 2):
        marked = point <= LAST_COMBINING and unicodedata.combining(chr(point))
        if marked and start is None:
            start = point
        elif not marked and start is not None:
            ranges.append(f"{re.escape(chr(start))}-{re.escape(chr(point - 1))}")
            start = None
    return "[" + "".join(ranges) + "]"


_NON_STARTER = _non_starter_class()
_BREAK = r"(?:\r\n|[\n\r\v\f\x85\u2028])"
_BLANK = f"{_BREAK}[ \\t]*{_BREAK}|\u2029"
# Where a paragraph ends in the raw text, by paragraph mode: at blank lines always; at
# every line break in `line` mode; before an indented line in `indent` mode. `auto` is
# measured as `line`, its finest choice, so it never rejects for a paragraph that its
# chosen mode might split (at the price of letting some giant ones pass).
_PARAGRAPH_BREAKS = {
    "blank": re.compile(_BLANK),
    "indent": re.compile(f"{_BLANK}|{_BREAK}(?=[ \\t])"),
    "line": re.compile(f"{_BREAK}|\u2029"),
    "auto": re.compile(f"{_BREAK}|\u2029"),
}


def _flood(limit: int) -> re.Pattern[str]:
    return re.compile(f"{_NON_STARTER}{{{limit + 1},}}")


def longest_paragraph(text: str, mode: str = "blank") -> tuple[int, int]:
    """(characters, start offset) of the longest paragraph of decoded `text` in paragraph
    `mode` (see _PARAGRAPH_BREAKS), measured before normalisation."""
    best, start = (0, 0), 0
    for match in _PARAGRAPH_BREAKS[mode].finditer(text):
        best = max(best, (match.start() - start, -start))
        start = match.end()
    best = max(best, (len(text) - start, -start))
    return best[0], -best[1]


def check_limits(doc: Document, config: Config) -> Document:
    """Reject decoded text that no later stage should have to handle, with its line in the
    input. Runs right after decoding, so repair and normalisation never see such text.

    - a paragraph longer than `max_paragraph_chars` (no real paragraph is; a missing
      line structure or a dumped blob is the usual cause);
    - more than `max_combining` combining marks in a row (Unicode's Stream-Safe Text
      Format, UAX #15, allows 30): "Zalgo" floods that are not text in any script.
    """
    if not doc.alive or doc.text is None:
        return doc
    text = doc.text
    if len(text) > config.max_paragraph_chars:
        size, start = longest_paragraph(text, config.paragraphs)
        if size > config.max_paragraph_chars:
            line = text.count("\n", 0, start) + 1
            doc.reject = Reject("paragraph_too_long", f"a paragraph of {size:,} characters at line {line} "
                                f"(limit {config.max_paragraph_chars:,})", line)
            return doc
    match = None if text.isascii() else _flood(config.max_combining).search(text)
    if match is not None:
        line = text.count("\n", 0, match.start()) + 1
        doc.reject = Reject("combining_flood", f"{match.end() - match.start():,} combining marks in a row at "
                            f"line {line} (limit {config.max_combining})", line)
    return doc
