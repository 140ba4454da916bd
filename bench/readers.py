"""The documents of a bench input, for the anchor scripts: a folder of .txt, or JSONL (plain, .gz, .zst)."""

from __future__ import annotations

from collections.abc import Iterator
import gzip
import io
import json
from pathlib import Path
from typing import IO


def open_text(src: Path) -> IO[str]:
    """A JSONL file as text, decompressed by its ending."""
    if src.suffix == ".gz":
        return gzip.open(src, "rt", encoding="utf-8")
    if src.suffix == ".zst":
        import zstandard

        return io.TextIOWrapper(zstandard.ZstdDecompressor().stream_reader(open(src, "rb")), encoding="utf-8")
    return open(src, encoding="utf-8")


def documents(src: Path) -> Iterator[tuple[str, str]]:
    """(name, text) for every .txt under a folder, or every record of a JSONL file."""
    if src.is_dir():
        for path in sorted(src.rglob("*.txt")):
            yield str(path.relative_to(src)), path.read_bytes().decode("utf-8", errors="replace")
        return
    with open_text(src) as lines:
        for number, line in enumerate(lines, 1):
            record = json.loads(line)
            yield str(record.get("id", number)), record["text"]
