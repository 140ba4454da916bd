"""The per-document steps as Ray tasks: one laptop or a cluster, the same output.

`--executor ray` maps the pure per-document steps (decode, limits, normalise, segment,
fingerprint) over Ray tasks, a work unit each (cleaner.io.units: a task reads its run of
files, byte range or row group itself, by its path, so every node must see the input at
the same path), and yields the documents back in input order, so the ordered `decide`
stage and the writers see exactly what an in-process run gives them.

- What travels: the steps and the config once (`ray.put`), then per task a unit's
  descriptor (for a compressed stream, the lines the driver decompressed), and back the
  whole documents as columns (`pack_whole`). `map` (documents given, in chunks) sends the
  chunk's documents without their `origin` and gets back the computed fields (`pack`).
- At most IN_FLIGHT tasks per CPU are submitted and not yet consumed: memory stays flat.
- A worker process that dies mid-task (killed, out of memory, its node lost) is retried
  by Ray up to MAX_RETRIES times; the steps are pure, so a retry gives the same result.
  An exception raised by a step is not retried: it is raised here with its own type.
- Ray is imported only when this executor runs: a local run never imports it.
- `address=None` starts a private single-node Ray on this machine with `workers` CPUs
  (0: one per core), listening on 127.0.0.1 only, and stops it afterwards; an address
  connects to that cluster. Ray missing or the address unreachable is a UsageError.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
import contextlib
import ipaddress
import logging
import os
import shutil
import signal
import socket
import tempfile
import threading
from typing import Any

import cleaner
from cleaner.config import Config
from cleaner.errors import CleanerError, UsageError
from cleaner.io.units import Unit
from cleaner.record import Document, batches
from cleaner.run.executor import CHUNK_BYTES, CHUNK_DOCS, Prepared, Step, apply_steps, prepare_unit
from cleaner.run.processes import resolve_workers
from cleaner.run.transport import outbound, pack, pack_whole, unpack, unpack_whole

IN_FLIGHT = 2
MAX_RETRIES = 3
CONNECT_SECONDS = 5.0
TASK_NAME = "cleaner_chunk"  # a busy worker's process title is "ray::cleaner_chunk"
# Ray rewrites 127.0.0.1 to the machine's outward address (and listens on every interface)
# unless this is 0: a private local Ray sets it so it stays on the loopback interface, and
# so does a driver given a loopback address (else it dials the outward address: it hangs).
LOOPBACK_ONLY = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"


class RayExecutor:
    """The executor of Ray tasks: on the cluster at `address`, or on a private local Ray
    of `workers` CPUs (0: one per core). `workers` > 0 with an address caps the tasks
    running at once; 0 uses every CPU of the cluster."""

    reads_units = True  # a task reads its own work unit (cleaner.io.units)

    def __init__(self, workers: int = 0, address: str | None = None) -> None:
        self.workers = workers
        self.address = address

    def map(self, steps: list[Step], docs: Iterable[Document]) -> Iterator[Document]:
        chunks = batches(docs, CHUNK_DOCS, CHUNK_BYTES)
        first = next(chunks, None)
        if first is None:
            return
        with self._connected() as (ray, slots):
            yield from _run(ray, steps, _prepend(first, chunks), IN_FLIGHT * slots)

    def map_units(self, steps: list[Step], config: Config, units: Iterable[Unit]) -> Iterator[Prepared]:
        """A task per work unit: it reads the unit (by its path: every node must see the
        input at the same path), runs the steps and sends the documents back as columns;
        (unit, its documents) are yielded in input order."""
        units = iter(units)
        first = next(units, None)
        if first is None:
            return
        with self._connected() as (ray, slots):
            yield from _run_units(ray, steps, config, _prepend(first, units), IN_FLIGHT * slots)

    @contextlib.contextmanager
    def _connected(self) -> Iterator[tuple[Any, int]]:
        if self.address is not None:
            _check_reachable(self.address)
        if self.address is None or _on_loopback(self.address):  # read by Ray when it is imported
            os.environ.setdefault(LOOPBACK_ONLY, "0")
        ray = import_ray()
        with _session(ray, self.address, self.workers) as slots:
            yield ray, slots


def import_ray() -> Any:
    """The `ray` module, or a one-line UsageError saying how to install it."""
    try:
        import ray
    except ImportError as err:
        raise UsageError(f"--executor ray needs Ray: pip install 'cleaner[ray]' ({err})") from None
    return ray


def _prepend(first: Any, rest: Iterator[Any]) -> Iterator[Any]:
    yield first
    yield from rest


@contextlib.contextmanager
def _session(ray: Any, address: str | None, workers: int) -> Iterator[int]:
    """Connected to Ray for the duration (unless the caller already is); yields how many
    tasks may run at once. Ray's own SIGTERM handler is not left in place: the CLI's
    (checkpoint, then exit 143) stays in charge."""
    if ray.is_initialized():
        yield workers or _cluster_cpus(ray)
        return
    previous = signal.getsignal(signal.SIGTERM) if _main_thread() else None
    own_temp = tempfile.mkdtemp(prefix="cleaner-ray-") if address is None else None
    try:
        try:
            _connect(ray, address, workers, own_temp)
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
        yield workers or _cluster_cpus(ray)
    finally:
        ray.shutdown()
        if own_temp is not None:  # a private Ray leaves its logs and sockets nowhere
            shutil.rmtree(own_temp, ignore_errors=True)


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _connect(ray: Any, address: str | None, workers: int, temp_dir: str | None) -> None:
    """ray.init: to the cluster at `address`, else a private local Ray on 127.0.0.1 with its
    own temporary folder."""
    quiet: dict[str, Any] = {"logging_level": logging.WARNING, "log_to_driver": False}
    if address is None:
        ray.init(address="local", num_cpus=resolve_workers(workers), include_dashboard=False,
                 _node_ip_address="127.0.0.1", _temp_dir=temp_dir, **quiet)
        return
    try:
        ray.init(address=address, **quiet)
    except (ConnectionError, RuntimeError, ValueError) as err:
        raise UsageError(f"--ray-address {address}: cannot connect to Ray: {_first_line(err)}") from None


def _on_loopback(address: str) -> bool:
    host = address.removeprefix("ray://").rpartition(":")[0].strip("[]")
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_reachable(address: str) -> None:
    """A one-line UsageError unless something answers at `address`: a wrong address fails
    in seconds, before Ray is imported, instead of in Ray's retries (minutes, or forever)."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise UsageError(f"--ray-address must be HOST:PORT (the head node's GCS port), got {address!r}")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_SECONDS).close()
    except OSError as err:
        raise UsageError(f"--ray-address {address}: nothing answers there ({err.strerror or err})") from None


def _cluster_cpus(ray: Any) -> int:
    return max(1, int(ray.cluster_resources().get("CPU", 1)))


def _first_line(err: BaseException) -> str:
    return (str(err).strip().splitlines() or [type(err).__name__])[0]


def _run(ray: Any, steps: list[Step], chunks: Iterator[list[Document]], in_flight: int) -> Iterator[Document]:
    """Submit a task per chunk, at most `in_flight` ahead, and adopt the results in order."""
    task = ray.remote(_work).options(name=TASK_NAME, num_cpus=1, max_retries=MAX_RETRIES, retry_exceptions=False)
    steps_ref = ray.put(steps)
    pending: deque[tuple[Any, list[Document]]] = deque()
    try:
        for chunk in chunks:
            pending.append((task.remote(steps_ref, [outbound(doc) for doc in chunk]), chunk))
            while len(pending) >= in_flight:
                yield from _adopt(ray, *pending.popleft())
        while pending:
            yield from _adopt(ray, *pending.popleft())
    finally:
        for ref, _ in pending:  # stopped early: drop the tasks nobody will read
            with contextlib.suppress(Exception):
                ray.cancel(ref, force=False)


def _run_units(ray: Any, steps: list[Step], config: Config, units: Iterator[Unit],
               in_flight: int) -> Iterator[Prepared]:
    """Submit a task per unit, at most `in_flight` ahead, and yield (unit, its documents) in order."""
    task = ray.remote(_work_unit).options(name=TASK_NAME, num_cpus=1, max_retries=MAX_RETRIES,
                                          retry_exceptions=False)
    steps_ref, config_ref = ray.put(steps), ray.put(config)
    pending: deque[tuple[Any, Unit]] = deque()
    try:
        for unit in units:
            pending.append((task.remote(steps_ref, config_ref, unit), unit))
            while len(pending) >= in_flight:
                ref, done = pending.popleft()
                yield done, unpack_whole(_result(ray, ref))
        while pending:
            ref, done = pending.popleft()
            yield done, unpack_whole(_result(ray, ref))
    finally:
        for ref, _ in pending:  # stopped early: drop the tasks nobody will read
            with contextlib.suppress(Exception):
                ray.cancel(ref, force=False)


def _adopt(ray: Any, ref: Any, originals: list[Document]) -> list[Document]:
    """The chunk's own Document objects, given the fields the task computed."""
    return unpack(_result(ray, ref), originals)


def _result(ray: Any, ref: Any) -> Any:
    """A task's result, after checking the worker runs this cleaner; its error, raised here."""
    try:
        version, packed = ray.get(ref)
    except ray.exceptions.RayTaskError as err:
        cause = err.cause
        raise (cause if isinstance(cause, Exception) else CleanerError(f"ray: {_first_line(err)}")) from None
    except ray.exceptions.RayError as err:
        raise CleanerError(f"ray: a chunk failed after {MAX_RETRIES} retries: {_first_line(err)}") from None
    if version != cleaner.__version__:
        raise CleanerError(f"ray: a worker runs cleaner {version}, this driver {cleaner.__version__}: "
                           "install the same version on every node")
    return packed


def _work(steps: list[Step], chunk: list[Document]) -> tuple[str, tuple]:
    """In a Ray worker: run the steps on a chunk; the worker's cleaner version and the
    results as columns."""
    return cleaner.__version__, pack(apply_steps(steps, chunk))


def _work_unit(steps: list[Step], config: Config, unit: Unit) -> tuple[str, tuple]:
    """In a Ray worker: read a work unit and run the steps; the worker's cleaner version
    and the whole documents as columns."""
    return cleaner.__version__, pack_whole(prepare_unit(steps, config, unit))
