"""Compressed output (gzip, zstd) in independent frames, compressed on a background thread.

Each block of about BLOCK bytes becomes one complete gzip member or zstd frame; readers
see one stream (gzip and zstd readers go on across members and frames). Frames make a
shard resumable: at a checkpoint the file holds whole frames, and what waits for the next
frame is small enough to keep in the checkpoint itself; a resumed run truncates the file
to those frames and goes on with exactly the bytes an uninterrupted run writes. Block
boundaries depend only on the lines written, never on timing.

zlib and zstandard release the GIL while they compress, so the thread uses a core that
would otherwise wait. Blocks go to it in order through a queue of at most two, so memory
stays at a few blocks.
"""

from __future__ import annotations

import gzip
import queue
import threading
from typing import IO

import zstandard

SUFFIX = {"none": "", "gzip": ".gz", "zstd": ".zst"}
GZIP_LEVEL = 6  # gzip's own default; Python's is 9, ~20% slower here for 0.3% smaller files


def compress_frame(block: bytes, compression: str) -> bytes:
    """One complete gzip member or zstd frame holding `block` (the same bytes every run)."""
    if compression == "gzip":
        return gzip.compress(block, compresslevel=GZIP_LEVEL, mtime=0)  # no timestamp: reruns match
    if compression == "zstd":
        return zstandard.ZstdCompressor().compress(block)
    raise ValueError(f"unknown compression {compression!r}")


class FrameWriter:
    """Writes `compression` frames of about BLOCK bytes each to `out`, from a thread.

    An error from `out` is raised by the next `write`, `drain` or `close`. `close` writes
    what is left (`out` stays open); `abandon` drops it; `drain` waits until every block
    handed over is in `out`, and `pending` is what waits for the next frame.
    """

    BLOCK = 1 << 20

    def __init__(self, out: IO[bytes], compression: str, pending: bytes = b"") -> None:
        self._out = out
        self._compression = compression
        self._parts: list[bytes] = [pending] if pending else []
        self._held = len(pending)
        self._error: BaseException | None = None
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=2)
        self._thread = threading.Thread(target=self._run, name="cleaner-compress", daemon=True)
        self._thread.start()

    def write(self, data: bytes) -> None:
        self._raise()
        self._parts.append(data)
        self._held += len(data)
        if self._held >= self.BLOCK:
            self._hand_over()

    def pending(self) -> bytes:
        return b"".join(self._parts)

    def drain(self) -> None:
        self._queue.join()
        self._raise()

    def close(self) -> None:
        self._hand_over()
        self._stop()
        self._raise()

    def abandon(self) -> None:
        self._parts, self._held = [], 0
        self._stop()

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def _hand_over(self) -> None:
        if self._parts:
            self._queue.put(b"".join(self._parts))
            self._parts, self._held = [], 0

    def _stop(self) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()

    def _run(self) -> None:
        while (block := self._queue.get()) is not None:
            if self._error is None:
                try:
                    self._out.write(compress_frame(block, self._compression))
                except BaseException as err:  # handed to the main thread
                    self._error = err
            self._queue.task_done()
        self._queue.task_done()
