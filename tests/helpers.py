"""Shared test helpers: paths to the bundled fixtures and the optional ../shared data, and
the callbacks tests steer a run with."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
import json
import os
from pathlib import Path
import re
import signal

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
SHARED = ROOT.parent / "shared"
SAMPLE_ARTICLE = SHARED / "fixtures" / "news_article_repeated_paragraph.txt"


def stop_after(k: int) -> Callable[[], int]:
    """A run's `stop`: asks it to stop (SIGTERM) once `k` documents are done."""
    seen = []
    return lambda: signal.SIGTERM if seen.append(1) or len(seen) >= k else 0


def needs_shared(path: Path):
    """Skip a test when an optional file from ../shared is not there."""
    return pytest.mark.skipif(not path.exists(), reason=f"{path} not present")


def write_tree(root: Path, files: dict[str, str | bytes]) -> Path:
    """Create `files` (relative name -> text or bytes) under `root`; return `root`."""
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return root


def without_timing(name: str, data: bytes) -> bytes:
    """A run's file as compared between runs: report.json and report.html without the time
    the run took (every other byte must be equal)."""
    if name.endswith("report.json"):
        report = json.loads(data)
        report.pop("seconds", None)
        return json.dumps(report, sort_keys=True).encode()
    if name.endswith("report.html"):
        return re.sub(rb'data-key="seconds">[^<]*<', b"<", data)
    return data


def parquet_with_a_damaged_row_group(path: Path, rows: int = 100, group_rows: int = 20, damaged: int = 2) -> Path:
    """A Parquet file of `rows` text rows in groups of `group_rows`, whose row group
    `damaged` has bytes overwritten inside its first data page (pyarrow fails to read it)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"text": [f"row {n} " + "word " * 50 for n in range(rows)]}), path,
                   row_group_size=group_rows)
    start = pq.ParquetFile(path).metadata.row_group(damaged).column(0).data_page_offset
    data = bytearray(path.read_bytes())
    data[start + 10:start + 60] = b"\xff" * 50
    path.write_bytes(bytes(data))
    return path


@contextmanager
def kernel_mode(mode: str) -> Iterator[None]:
    """CLEANER_KERNELS=mode inside (hypothesis runs many examples per test: no fixture)."""
    before = os.environ.get("CLEANER_KERNELS")
    os.environ["CLEANER_KERNELS"] = mode
    try:
        yield
    finally:
        if before is None:
            del os.environ["CLEANER_KERNELS"]
        else:
            os.environ["CLEANER_KERNELS"] = before
