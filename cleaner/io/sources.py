"""Where a run's documents come from: a folder, a record file, or a stream.

A source yields Documents in a fixed order (sorted paths, then lines or rows), and can say
what it is for a resume: `manifest()` hashes every input's name, size and modification
time (None for a stream, which cannot be read again). A new input kind is one class here
and one line in `open_source`.
"""

from __future__ import annotations

from collections.abc import Iterator
import contextlib
import hashlib
import os
from pathlib import Path
from typing import BinaryIO

from cleaner.config import Config
from cleaner.errors import UsageError
from cleaner.io.folder_reader import iter_files, read_file
from cleaner.io.paths import LinkGuard
from cleaner.io.record_reader import STDIN, file_compression, file_format, read_jsonl, read_record_file
from cleaner.io.units import Fixed, TextRun, Unit, line_blocks, record_file_units
from cleaner.record import Document


class Source:
    """The documents of one input, and what a run needs to know of it."""

    name: str
    rereadable = True  # can be read twice (a boilerplate first pass, a resume)
    follows_links = False  # what is read through a link is what it leads to

    def documents(self) -> Iterator[Document]:
        raise NotImplementedError

    def units(self) -> Iterator[Unit]:
        """The input as work units (cleaner.io.units), in order: read one after the other
        they give exactly `documents()`."""
        raise NotImplementedError

    def files(self) -> Iterator[tuple[Path, str]]:
        """(path, relative name) of every input file, in reading order."""
        return iter(())

    def manifest(self) -> str | None:
        """A hash of every input's relative name, size and modification time, in reading
        order: equal manifests mean the same inputs, as far as a resume can tell cheaply."""
        digest = hashlib.sha256()
        for path, name in self.files():
            try:
                stat = path.stat() if self.follows_links else path.lstat()
                facts = f"{stat.st_size} {stat.st_mtime_ns}"
            except OSError as err:
                facts = f"error {err.errno}"
            digest.update(os.fsencode(name) + b"\0" + facts.encode() + b"\n")
        return digest.hexdigest()[:32]

    def measure(self) -> tuple[int, int]:
        """Files and their bytes (for a progress bar)."""
        files = size = 0
        for path, _ in self.files():
            files += 1
            with contextlib.suppress(OSError):  # a file that vanished is rejected later
                size += path.stat().st_size
        return files, size

    @property
    def pattern(self) -> str:
        """A name whose ending says what the input holds (a file's name, a folder's glob)."""
        raise NotImplementedError

    @property
    def format(self) -> str:
        """What it holds: `txt`, `jsonl` or `parquet`."""
        return file_format(self.pattern)

    @property
    def compression(self) -> str:
        return file_compression(self.pattern)


class FolderSource(Source):
    """Every file under a folder matching `config.glob`, in sorted relative-path order:
    text files as one document each, JSONL and Parquet files as records."""

    def __init__(self, root: Path, config: Config) -> None:
        if not root.is_dir():
            raise UsageError(f"{root}: not a folder")
        self.root, self.config, self.name = root, config, str(root)
        self.follows_links = config.follow_symlinks

    def files(self) -> Iterator[tuple[Path, str]]:
        return iter_files(self.root, self.config.glob, self.config.follow_symlinks)

    def documents(self) -> Iterator[Document]:
        links = LinkGuard(self.root, self.config.follow_symlinks)
        for path, name in self.files():
            if file_format(name) == "txt":
                yield read_file(path, name, self.config.max_file_bytes, links)
                continue
            reject = links.reject(path)
            if reject is None:
                yield from read_record_file(path, name, self.config)
            else:
                yield Document(id=name, source=name, reject=reject)

    def units(self) -> Iterator[Unit]:
        links = LinkGuard(self.root, self.config.follow_symlinks)
        run = TextRun(self.root, self.config.follow_symlinks)
        for path, name in self.files():
            if file_format(name) == "txt":
                yield from run.add(path, name)
                continue
            yield from run.flush()
            reject = links.reject(path)
            if reject is None:
                yield from record_file_units(path, name, self.config)
            else:
                yield Fixed((Document(id=name, source=name, reject=reject),))
        yield from run.flush()

    @property
    def pattern(self) -> str:
        return self.config.glob


class RecordFileSource(Source):
    """One JSONL (plain, .gz, .zst) or Parquet file of records."""

    def __init__(self, path: Path, config: Config) -> None:
        if file_format(path.name) == "txt":
            raise UsageError(f"{path}: a file of records must end in .jsonl, .jsonl.gz, .jsonl.zst or .parquet; "
                             "text files are read from a folder (give the folder that holds it)")
        self.path, self.config, self.name = path, config, str(path)

    def files(self) -> Iterator[tuple[Path, str]]:
        return iter([(self.path, self.path.name)])

    def documents(self) -> Iterator[Document]:
        return read_record_file(self.path, self.path.name, self.config)

    def units(self) -> Iterator[Unit]:
        return record_file_units(self.path, self.path.name, self.config)

    @property
    def pattern(self) -> str:
        return self.path.name


class StreamSource(Source):
    """JSONL records from a binary stream (standard input): read once, never resumed."""

    rereadable = False
    pattern = "<stdin>.jsonl"  # type: ignore[assignment]

    def __init__(self, stream: BinaryIO, config: Config) -> None:
        self.stream, self.config, self.name = stream, config, STDIN

    def documents(self) -> Iterator[Document]:
        return read_jsonl(self.stream, STDIN, self.config)

    def units(self) -> Iterator[Unit]:
        return line_blocks(self.stream, STDIN, self.config)

    def manifest(self) -> str | None:
        return None


def open_source(src: Path | BinaryIO, config: Config) -> Source:
    """The source for `src`: a folder, a record file, or a binary stream."""
    if not isinstance(src, Path):
        return StreamSource(src, config)
    if not src.exists() and not src.is_symlink():
        raise UsageError(f"{src}: no such file or folder")
    if src.is_dir():
        return FolderSource(src, config)
    return RecordFileSource(src, config)
