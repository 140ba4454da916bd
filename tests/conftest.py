"""pytest set-up: in CI, hypothesis runs derandomized so a red build is reproducible; the
inputs under test are never modified; heavy tests run only under `make stress`.

Input integrity is checked three ways over fixtures/ and the shared corpora:
- an audit hook fails any open of a file there for writing, from this process;
- after every test, every file's size, mtime and ctime are as before (a write from a
  subprocess, or a touch, changes them: ctime cannot be set back);
- at the end of the session, every file's sha256 and mtime are as at the start.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
import sys

from hypothesis import settings
import pytest

from tests.helpers import FIXTURES, SHARED

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

INPUT_ROOTS = [FIXTURES, SHARED / "data", SHARED / "fixtures"]
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC


def _files() -> list[Path]:
    return sorted(p for root in INPUT_ROOTS if root.is_dir() for p in root.rglob("*") if p.is_file())


def _stats() -> dict[str, tuple[int, int, int]]:
    """(size, mtime, ctime) of every input file; os.walk, as this runs after every test."""
    stats = {}
    for root in INPUT_ROOTS:
        for folder, _, names in os.walk(root):
            for name in names:
                path = os.path.join(folder, name)
                s = os.stat(path)
                stats[path] = (s.st_size, s.st_mtime_ns, s.st_ctime_ns)
    return stats


def _hashes() -> dict[str, tuple[str, int]]:
    return {str(p): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns) for p in _files()}


def _opened_for_writing(mode: object, flags: object) -> bool:
    if isinstance(mode, str):
        return any(c in mode for c in "wax+")
    return isinstance(flags, int) and bool(flags & _WRITE_FLAGS)


def _audit(event: str, args: tuple) -> None:
    if event != "open" or not args or not isinstance(args[0], (str, bytes, os.PathLike)):
        return
    path = os.fsdecode(args[0])
    if _opened_for_writing(args[1], args[2]) and any(path.startswith(str(root)) for root in INPUT_ROOTS):
        raise PermissionError(f"test input opened for writing: {path}")


sys.addaudithook(_audit)


@pytest.fixture(scope="session", autouse=True)
def inputs_at_start():
    before = _hashes()
    yield _stats()
    assert _hashes() == before, "a test input changed during the session (sha256 or mtime)"


@pytest.fixture(autouse=True)
def inputs_unchanged_by_each_test(inputs_at_start):
    yield
    assert _stats() == inputs_at_start, "a test input changed (size, mtime or ctime)"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "stress: heavy; runs only with CLEANER_STRESS=1 (make stress)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("CLEANER_STRESS") == "1":
        return
    skip = pytest.mark.skip(reason="stress test: run with `make stress`")
    for item in items:
        if "stress" in item.keywords:
            item.add_marker(skip)
