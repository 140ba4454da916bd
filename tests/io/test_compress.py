"""cleaner.io.compress: frames of whole blocks, written by a thread exactly as in line."""

import contextlib
import gzip
import io
import os
from pathlib import Path

import pytest

from cleaner.io.compress import FrameWriter, compress_frame
from cleaner.io.record_reader import ZstdReader
from tests.helpers import FIXTURES


def demo_lines() -> list[bytes]:
    """Our own demo text, as many lines of varied length (some over a block together)."""
    text = b"".join(p.read_bytes() for p in sorted((FIXTURES / "demo").rglob("*.txt")))
    lines = text.splitlines(keepends=True)
    return [line * (1 + n % 7) for n, line in enumerate(lines * 40)]


def blocks_of(lines: list[bytes], block: int) -> list[bytes]:
    """The blocks the writer cuts: lines gathered until they hold `block` bytes or more."""
    out, held = [], []
    for line in lines:
        held.append(line)
        if sum(map(len, held)) >= block:
            out.append(b"".join(held))
            held = []
    return out + ([b"".join(held)] if held else [])


def compressed(lines: list[bytes], compression: str, out: io.BytesIO | None = None) -> io.BytesIO:
    """`lines` through one FrameWriter into `out` (a new buffer by default), closed."""
    out = out if out is not None else io.BytesIO()
    writer = FrameWriter(out, compression)
    for line in lines:
        writer.write(line)
    writer.close()
    return out


def unpack(data: bytes, compression: str) -> bytes:
    if compression == "gzip":
        return gzip.decompress(data)
    return ZstdReader(io.BytesIO(data)).readall()  # the reader cleaner reads its own inputs with


@pytest.mark.parametrize("compression", ["gzip", "zstd"])
def test_the_thread_writes_one_frame_per_block_as_compressing_in_line_would(compression: str, monkeypatch):
    monkeypatch.setattr(FrameWriter, "BLOCK", 4096)  # many blocks through the queue
    lines = demo_lines()
    out = compressed(lines, compression)
    blocks = blocks_of(lines, 4096)
    assert len(blocks) > 20
    assert out.getvalue() == b"".join(compress_frame(block, compression) for block in blocks)
    assert unpack(out.getvalue(), compression) == b"".join(lines)


@pytest.mark.parametrize("compression", ["gzip", "zstd"])
def test_drain_then_pending_is_a_resumable_point(compression: str, monkeypatch):
    """At a checkpoint: the file holds whole frames, `pending` the rest; a writer started
    from them goes on to exactly the bytes of one uninterrupted writer."""
    monkeypatch.setattr(FrameWriter, "BLOCK", 4096)
    lines = demo_lines()
    whole = compressed(lines, compression)
    first = io.BytesIO()
    writer = FrameWriter(first, compression)
    for line in lines[:333]:
        writer.write(line)
    writer.drain()
    cut, pending = first.getvalue(), writer.pending()
    writer.abandon()
    resumed = io.BytesIO(cut)
    resumed.seek(len(cut))
    writer = FrameWriter(resumed, compression, pending)
    for line in lines[333:]:
        writer.write(line)
    writer.close()
    assert resumed.getvalue() == whole.getvalue() and len(cut) > 0 and pending


def test_an_error_in_the_thread_is_raised_in_the_caller(monkeypatch):
    monkeypatch.setattr(FrameWriter, "BLOCK", 1 << 16)
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader went away: every write to the pipe fails (EPIPE)
    with os.fdopen(write_end, "wb") as pipe:
        writer = FrameWriter(pipe, "gzip")
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
    writer = FrameWriter(out, "gzip")
    writer.write(b"held back\n")
    writer.abandon()
    assert not writer._thread.is_alive() and out.getvalue() == b""
