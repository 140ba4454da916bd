"""cleaner.compress: a background thread compresses exactly what compressing in line would."""

import contextlib
import gzip
import io
import os
from pathlib import Path

import pytest
import zstandard

from cleaner.io.compress import BackgroundWriter, compressing
from tests.helpers import FIXTURES


def demo_lines() -> list[bytes]:
    """Our own demo text, as many lines of varied length (some over a block together)."""
    text = b"".join(p.read_bytes() for p in sorted((FIXTURES / "demo").rglob("*.txt")))
    lines = text.splitlines(keepends=True)
    return [line * (1 + n % 7) for n, line in enumerate(lines * 40)]


@pytest.mark.parametrize("compression", ["gzip", "zstd"])
def test_background_compression_writes_the_bytes_of_compressing_in_line(tmp_path: Path, compression: str, monkeypatch):
    monkeypatch.setattr(BackgroundWriter, "BLOCK", 4096)  # many blocks through the queue
    lines = demo_lines()
    inline, threaded = io.BytesIO(), io.BytesIO()
    writer = compressing(inline, compression)
    background = BackgroundWriter(compressing(threaded, compression))
    for line in lines:
        writer.write(b"".join([line]))
        background.write(line)
    writer.close()
    background.close()
    assert len(b"".join(lines)) > 20 * 4096
    unpack = gzip.decompress if compression == "gzip" else zstandard.ZstdDecompressor().decompressobj().decompress
    assert unpack(threaded.getvalue()) == b"".join(lines)
    if compression == "gzip":  # zstd frames may be cut where the writes were; gzip's are not
        assert threaded.getvalue() == inline.getvalue()


def test_an_error_in_the_thread_is_raised_in_the_caller(monkeypatch):
    monkeypatch.setattr(BackgroundWriter, "BLOCK", 1 << 16)
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader went away: every write to the pipe fails (EPIPE)
    with os.fdopen(write_end, "wb") as pipe:
        writer = BackgroundWriter(compressing(pipe, "gzip"))
        with pytest.raises(BrokenPipeError):
            for line in demo_lines():
                writer.write(line)
            writer.close()
        writer.abandon()  # after an error: stops the thread, raises nothing
        assert not writer._thread.is_alive()
        with contextlib.suppress(BrokenPipeError):
            pipe.close()


def test_abandon_stops_the_thread_without_writing_the_rest(tmp_path: Path):
    out = io.BytesIO()
    writer = BackgroundWriter(compressing(out, "gzip"))
    writer.write(b"held back\n")
    writer.abandon()
    assert not writer._thread.is_alive() and b"held" not in out.getvalue()
