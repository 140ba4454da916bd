"""Shared test helpers: paths to the bundled fixtures and the optional ../shared data."""

from __future__ import annotations

import json
from pathlib import Path
import re

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
SHARED = ROOT.parent / "shared"
SAMPLE_ARTICLE = SHARED / "fixtures" / "news_article_repeated_paragraph.txt"


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
