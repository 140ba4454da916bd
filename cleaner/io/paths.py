"""Output paths that cannot leave DST, and the links a folder walk may follow.

- `safe_output_path`: a relative name (a file path or a record id) -> a path that can never
  leave DST or land in its `.cleaner/` state folder.
- `LinkGuard`: which symbolic links a folder walk follows (none unless asked; never out of
  SRC; never round a loop), and the reject for the ones it does not.
"""

from __future__ import annotations

import os
from pathlib import Path

from cleaner.errors import UnsafePathError
from cleaner.io.layout import STATE_DIR
from cleaner.record import Reject


def is_within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


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
        if not is_within(real_parent, Path(real_root or os.path.realpath(root))):
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
        return is_within(Path(target), self.root_real) and target not in chain

    def reject(self, path: Path) -> Reject | None:
        """The reject for a walked entry that must not be read, or None to read it."""
        if not path.is_symlink() and not self.follow:
            return None
        target = Path(os.path.realpath(path))
        if path.is_symlink() and not self.follow:
            return Reject("symlink", "symbolic link not followed (use --follow-symlinks to read it)")
        if not is_within(target, self.root_real):
            return Reject("symlink_outside", "symbolic link leads outside the input folder; not followed")
        if target.is_dir():
            return Reject("symlink_loop", "symbolic link to a folder already being read (a loop); not followed")
        return None
