"""Throughput of the decode and normalise (ftfy repair) stages on one core.

    .venv/bin/python bench/decode_repair_speed.py [--mojibake] [folder of .txt] [repeats]

Reads every .txt file into memory first (with --mojibake: each file's text with curly
apostrophes, its UTF-8 read as cp1252 and saved as UTF-8 again), then times
decode_document + normalize_document over all of them: best of `repeats`, in CPU seconds
of this one process, so other jobs on a shared machine disturb it less.
"""

from __future__ import annotations

from pathlib import Path
import sys
import time

import ftfy.bad_codecs  # noqa: F401  registers "sloppy-windows-1252"

from cleaner.config import Config
from cleaner.record import Document
from cleaner.text.decode import decode_document
from cleaner.text.normalize import normalize_document

ROOT = Path(__file__).resolve().parent.parent


def garble(raw: bytes) -> bytes:
    text = raw.decode("utf-8", "replace").replace("'", "\u2019")
    return text.encode("utf-8").decode("sloppy-windows-1252").encode("utf-8")


def main(folder: Path, repeats: int, mojibake: bool) -> None:
    raws = [path.read_bytes() for path in sorted(folder.rglob("*.txt"))]
    if mojibake:
        raws = [garble(raw) for raw in raws]
    config = Config()
    best = float("inf")
    for _ in range(repeats):
        started = time.process_time()
        for number, raw in enumerate(raws):
            doc = decode_document(Document(id=str(number), source=str(number), raw=raw), config)
            normalize_document(doc, config)
        best = min(best, time.process_time() - started)
    size = sum(map(len, raws)) / 1e6
    print(f"{len(raws)} files, {size:.2f} MB, best of {repeats}: {best:.3f} s, {size / best:.1f} MB/s")


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--mojibake"]
    folder = Path(args[0]) if args else ROOT.parent / "shared" / "data" / "bbc"
    main(folder, int(args[1]) if len(args) > 1 else 5, "--mojibake" in sys.argv)
