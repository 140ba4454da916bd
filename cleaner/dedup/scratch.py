"""The index of a run without `--index`: an embedded on-disk index of the same kind
(cleaner.dedup.disk) in the run's state folder, so its memory stays flat however large the
input (past the spill budget, what it keeps goes to disk), deleted when the run commits.

It starts empty, so the run decides exactly as one in-memory index would; an interrupted
run keeps it for `--resume` (its checkpoint names the spilled segments), a new run or
`--overwrite` starts it again.
"""

from __future__ import annotations

import shutil

from cleaner.config import Config
from cleaner.dedup.disk import DiskStore
from cleaner.dedup.store import SPILL_BYTES


class TemporaryStore(DiskStore):
    """A `DiskStore` that commits nothing: `publish` deletes it."""

    def __init__(self, location: str, config: Config | None, spill_bytes: int = SPILL_BYTES,
                 fresh: bool = True) -> None:
        if fresh:
            shutil.rmtree(location, ignore_errors=True)
        super().__init__(location, config, spill_bytes)

    def prepare(self) -> None:
        """Nothing to stage: the run's index ends with the run."""

    def publish(self) -> None:
        for index in self.indexes.values():
            index.spills.settle()  # what failed on the writer fails the run, as writing in line would
        self.close()
        shutil.rmtree(self.root, ignore_errors=True)
