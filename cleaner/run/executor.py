"""The executor seam: what maps the pure per-document steps over documents.

An executor takes the steps (decode, limits, normalise, segment, fingerprint) and a stream
of documents, and yields the same documents, each through every step, in input order:
whatever runs where, the ordered decide stage after it sees what an in-process run gives
it. An executor is one module with one class, and one line in `EXECUTORS`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from importlib import import_module
from typing import Protocol

from cleaner.config import Config
from cleaner.errors import ConfigError
from cleaner.io.units import Unit, read_unit
from cleaner.record import Document, batches

Step = Callable[[Document], Document]
Prepared = tuple[Unit, list[Document]]  # a work unit and its documents, through every step
CHUNK_DOCS = 64  # documents a step's `many` sees at once ...
CHUNK_BYTES = 1 << 20  # ... and at most this much input past the first


class Executor(Protocol):
    def map(self, steps: list[Step], docs: Iterable[Document]) -> Iterator[Document]:
        """Every document of `docs` through every step, yielded in input order."""
        ...


class UnitExecutor(Executor, Protocol):
    """An executor whose workers read the input themselves: `reads_units` says whether it
    wants to (a pool of one does not), `map_units` gives each unit of `units` with its
    documents (read with `config`) through every step, in input order."""

    reads_units: bool

    def map_units(self, steps: list[Step], config: Config, units: Iterable[Unit]) -> Iterator[Prepared]:
        ...


# One line per executor: its name -> "module:class". The class takes `workers` (and, for
# an executor that runs elsewhere, `address=`: where; only passed when given).
EXECUTORS = {
    "inprocess": "cleaner.run.executor:InProcess",
    "processes": "cleaner.run.processes:ProcessPool",
    "ray": "cleaner.run.ray_executor:RayExecutor",
}


def make_executor(name: str, workers: int = 0, address: str | None = None) -> Executor:
    """The executor registered as `name`, for `workers` workers (0: one per core), on the
    cluster at `address` when given (an executor that takes one: ray)."""
    if name not in EXECUTORS:
        raise ConfigError(f"executor must be one of {', '.join(EXECUTORS)}, got {name!r}")
    module, cls = EXECUTORS[name].split(":")
    factory = getattr(import_module(module), cls)
    return factory(workers) if address is None else factory(workers, address=address)


def apply_steps(steps: list[Step], docs: list[Document]) -> list[Document]:
    """Run every per-document step on a chunk of documents, step by step. A step with a
    `many` method (the fingerprinter) takes the whole chunk at once: numpy's per-call cost
    is then paid per chunk, not per paragraph."""
    for step in steps:
        many = getattr(step, "many", None)
        docs = many(docs) if many is not None else [step(doc) for doc in docs]
    return docs


class AlreadyPrepared:
    """The executor after one that read and prepared the documents already (`map_units`):
    they pass on as they are."""

    workers = 1

    def map(self, steps: list[Step], docs: Iterable[Document]) -> Iterator[Document]:
        return iter(docs)


class InProcess:
    """The steps in this process, a chunk at a time (as a worker process does)."""

    def __init__(self, workers: int = 1) -> None:
        self.workers = 1

    def map(self, steps: list[Step], docs: Iterable[Document]) -> Iterator[Document]:
        for chunk in batches(docs, CHUNK_DOCS, CHUNK_BYTES):
            yield from apply_steps(steps, chunk)


def prepare_unit(steps: list[Step], config: Config, unit: Unit) -> list[Document]:
    """Read one work unit and run every step on its documents, a chunk at a time."""
    docs = read_unit(unit, config)
    return [doc for chunk in batches(docs, CHUNK_DOCS, CHUNK_BYTES) for doc in apply_steps(steps, chunk)]
