"""The per-document steps (decode, normalise, segment, fingerprint) over worker processes.

The steps are pure functions of one document, so they can run anywhere; what comes back
is yielded in input order, so `decide` and `write` see exactly what an in-process run
gives them and the output is the same, byte for byte.

- A run gives the pool work units (`map_units`, cleaner.io.units): each worker reads its
  unit itself (a run of files, a byte range of a JSONL file, a Parquet row group; for a
  compressed stream, lines the main process decompressed), runs the steps and sends the
  whole documents back as columns (`pack_whole`). The main process only plans the units,
  orders the results, decides and writes. `map` (documents given, in chunks of up to
  CHUNK_DOCS documents or CHUNK_BYTES bytes) serves every other caller.
- At most IN_FLIGHT units or chunks per worker are submitted and not yet consumed: memory
  stays flat however large the corpus.
- An input of one unit or chunk or less, or `workers=1`, never starts a process.
- Workers ignore SIGINT: Ctrl-C reaches the main process only, where it is held until a
  safe point (between chunks), then the queued chunks are dropped, the workers finish the
  chunk in hand and exit, and KeyboardInterrupt is raised. An exception in a step is
  raised in the main process with its own type. Either way no worker outlives the stage,
  and a worker whose main process was killed outright dies with it (Linux; elsewhere
  within a second), so it never holds the output folder's lock past its parent.
- Results come back as columns (`pack`/`unpack`): one list per field and one numpy array
  per array field for a whole chunk, not thousands of small pickled objects (5x less CPU
  on both sides for the BBC corpus).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
import contextlib
import ctypes
from functools import partial
import itertools
import multiprocessing
import os
import signal
import sys
import threading
import time
from typing import Any

from cleaner.config import Config
from cleaner.io.units import Unit
from cleaner.record import Document, batches
from cleaner.run.executor import CHUNK_BYTES, CHUNK_DOCS, InProcess, Prepared, Step, apply_steps, prepare_unit
from cleaner.run.transport import outbound, pack, pack_whole, unpack, unpack_whole

IN_FLIGHT = 2
ORPHAN_CHECK_SECONDS = 0.5
_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity where the OS reports it)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def resolve_workers(workers: int) -> int:
    """`workers`, with 0 meaning one per available core."""
    return workers if workers > 0 else available_cores()


class ProcessPool:
    """The executor of worker processes: `workers` of them (0: one per core; 1 runs the
    steps in this process, as `InProcess` does)."""

    def __init__(self, workers: int = 0) -> None:
        self.workers = resolve_workers(workers)

    @property
    def reads_units(self) -> bool:
        return self.workers > 1

    def map(self, steps: list[Step], docs: Iterable[Document]) -> Iterator[Document]:
        return prepare_in_parallel(steps, self.workers)(docs)

    def map_units(self, steps: list[Step], config: Config, units: Iterable[Unit]) -> Iterator[Prepared]:
        """Each worker reads a unit, runs the steps and sends the documents back as columns;
        (unit, its documents) are yielded in input order. One unit or none never starts a process."""
        units = iter(units)
        head = list(itertools.islice(units, 2))
        if len(head) < 2:
            yield from ((unit, prepare_unit(steps, config, unit)) for unit in head)
            return
        tasks = ((_work_unit, (steps, config, unit), partial(_unit_docs, unit))
                 for unit in itertools.chain(head, units))
        yield from _run_pool(self.workers, tasks)


def prepare_in_parallel(steps: list[Step], workers: int) -> Callable[[Iterable[Document]], Iterator[Document]]:
    """A stage mapping `steps` over `workers` processes (0: one per core, 1: in this
    process), yielding documents in input order."""
    workers = resolve_workers(workers)
    if workers == 1:
        return lambda docs: InProcess().map(steps, docs)

    def stage(docs: Iterable[Document]) -> Iterator[Document]:
        chunks = batches(docs, CHUNK_DOCS, CHUNK_BYTES)
        first = next(chunks, None)
        second = next(chunks, None) if first is not None else None
        if second is None:  # one chunk or none: not worth starting a process
            yield from apply_steps(steps, first or [])
            return
        tasks = ((_work, (steps, [outbound(doc) for doc in chunk]), partial(unpack, docs=chunk))
                 for chunk in _prepend([first, second], chunks))
        yield from _run_pool(workers, tasks)

    return stage


def _prepend(head: list[list[Document]], rest: Iterator[list[Document]]) -> Iterator[list[Document]]:
    yield from head
    yield from rest


Task = tuple[Callable[..., Any], tuple, Callable[[Any], list]]  # (function, its arguments, finish)


def _run_pool(workers: int, tasks: Iterator[Task]) -> Iterator[Any]:
    """Run each task's function in a worker, at most IN_FLIGHT per worker ahead, and yield
    what `finish` makes of each result, in order."""
    pool = ProcessPoolExecutor(workers, mp_context=_context(), initializer=_init_worker, initargs=(os.getpid(),))
    pending: deque[tuple[Future, Callable[[Any], list]]] = deque()
    with _DeferredInterrupt() as interrupt:
        try:
            for function, args, finish in tasks:
                with _sigint_blocked():  # the first submit forks the workers: none may see a Ctrl-C
                    pending.append((pool.submit(function, *args), finish))
                while len(pending) >= IN_FLIGHT * workers:
                    future, finish = pending.popleft()
                    yield from finish(_result(future, interrupt))
            while pending:
                future, finish = pending.popleft()
                yield from finish(_result(future, interrupt))
        finally:
            # Whether done, failed, interrupted or abandoned by the consumer: drop what has not
            # started, let each worker finish its chunk (at most CHUNK_BYTES), reap them all.
            try:
                pool.shutdown(wait=True, cancel_futures=True)
            except RuntimeError:  # finalised by the garbage collector on the executor's own thread
                pool.shutdown(wait=False, cancel_futures=True)


def _unit_docs(unit: Unit, packed: tuple) -> list[Prepared]:
    """A unit and the documents a worker read and prepared, as this process's objects."""
    return [(unit, unpack_whole(packed))]


def _result(future: Future, interrupt: _DeferredInterrupt) -> tuple:
    while True:
        interrupt.check()
        with contextlib.suppress(TimeoutError):
            return future.result(timeout=0.1)


class _DeferredInterrupt:
    """While the pool runs, Ctrl-C sets a flag instead of raising wherever the main thread
    happens to be (possibly inside the executor's own locking, which can then deadlock);
    `check()` raises KeyboardInterrupt at a safe point. Only in the main thread, and only
    when Python's default handler is installed; the previous handler is restored on exit."""

    def __init__(self) -> None:
        self.interrupted = False
        self._previous: Any = None

    def __enter__(self) -> _DeferredInterrupt:
        if (threading.current_thread() is threading.main_thread()
                and signal.getsignal(signal.SIGINT) is signal.default_int_handler):
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        self.interrupted = True

    def check(self) -> None:
        if self.interrupted:
            raise KeyboardInterrupt

    def __exit__(self, kind: type | None, *exc: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
        if kind is None:
            self.check()  # a Ctrl-C during the last chunk still stops the run


@contextlib.contextmanager
def _sigint_blocked() -> Iterator[None]:
    """Block SIGINT in this thread; processes forked meanwhile start with it blocked."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _context() -> multiprocessing.context.BaseContext:
    """fork where the platform has it (workers start in milliseconds, nothing to re-import);
    the platform's default elsewhere."""
    if sys.platform == "linux":
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context()


def _init_worker(parent: int) -> None:
    """In each worker: Ctrl-C is the main process's business (it stops the workers); and a
    worker whose main process is gone (kill -9) exits at once instead of waiting for work.

    At once matters: a forked worker holds copies of its parent's file descriptors, the
    output folder's lock among them, so while it lives a resume started right after a
    kill -9 finds the folder locked. On Linux the kernel kills the worker with its parent
    (`PR_SET_PDEATHSIG`); elsewhere, and as a fallback, a thread polls for the parent.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the handler a forked CLI may have set
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    if sys.platform == "linux":
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # it died before that took effect
        os._exit(1)
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True, name="cleaner-orphan-check").start()


def _exit_with_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(ORPHAN_CHECK_SECONDS)
    os._exit(1)


def _work(steps: list[Step], chunk: list[Document]) -> tuple:
    """In a worker: run the steps on a chunk and pack the results for the trip back."""
    return pack(apply_steps(steps, chunk))


def _work_unit(steps: list[Step], config: Config, unit: Unit) -> tuple:
    """In a worker: read a unit, run the steps, and pack the whole documents for the trip back."""
    return pack_whole(prepare_unit(steps, config, unit))
