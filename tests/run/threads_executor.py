"""An executor written the way a new one is added: this module, and one line in
`cleaner.run.executor.EXECUTORS` (the test adds the line)."""

from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor

from cleaner.record import Document, batches
from cleaner.run.executor import CHUNK_BYTES, CHUNK_DOCS, Step, apply_steps


class Threads:
    """The steps on a pool of threads, a chunk a task, yielded back in input order."""

    def __init__(self, workers: int = 0) -> None:
        self.workers = workers or 2

    def map(self, steps: list[Step], docs: Iterable[Document]) -> Iterator[Document]:
        with ThreadPoolExecutor(self.workers) as pool:
            for done in pool.map(lambda chunk: apply_steps(steps, chunk), batches(docs, CHUNK_DOCS, CHUNK_BYTES)):
                yield from done
