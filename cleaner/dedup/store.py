"""A persistent index: the paragraph and document indexes of every committed run, at a
location (a folder, or a Redis URL), and what one run adds to them.

    begin(run)  lock the index for this run, read the manifest, refuse another format or config
    index(kind) the `LayeredIndex` the decide stage uses: committed runs + this run's spilled
                segments (written when its memory passes `spill_bytes`) + the rest in memory
    prepare()   write this run's additions durably, unpublished (invisible to every reader)
    publish()   make them part of the index in one atomic step (the manifest names them)
    close()     unlock

The manifest is the commit point: JSON with the format version, the config fields that
shape the fingerprints and thresholds (an index is refused by a run with other values),
the committed runs with their slot ranges, and each kind's segments. A backend is one
module with one `Store` class, and one line in `STORES`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
import bisect
from importlib import import_module
import time
from typing import Any

import numpy as np

from cleaner.config import Config
from cleaner.dedup.committed import Committed
from cleaner.dedup.index import Banding, Signer
from cleaner.dedup.layered import LayeredIndex
from cleaner.dedup.segment import from_memory
from cleaner.errors import UsageError

FORMAT = 1
# A run's in-memory layer of one kind is written out past this (see layered). It is the
# budget that actually bounds a run's memory: a larger one is never reached between two
# checkpoints (each spills a head past CHECKPOINT_HEAD_BYTES), so the head, and peak RSS,
# then followed throughput. Spilling at this size costs a little CPU (more segments to
# search and merge) for a much lower peak; bench/RESULTS.md has both measured.
SPILL_BYTES = 32 << 20
KINDS = ("paragraphs", "documents")
MATCHED = ("ngram", "num_perm", "threshold", "doc_threshold", "doc_ngram", "seed", "lsh_recall", "min_words")

# One line per backend: its name -> "module:class"; `open_store` picks by the location.
STORES = {
    "disk": "cleaner.dedup.disk:DiskStore",
    "redis": "cleaner.dedup.redis_index:RedisStore",
    "temporary": "cleaner.dedup.scratch:TemporaryStore",
}


def open_store(location: str, config: Config, spill_bytes: int | None = None, backend: str | None = None,
               **more: Any) -> Store:
    """The store at `location`: redis://HOST:PORT/DB?prefix=NAME, else a folder (`backend`:
    another one of STORES, such as "temporary", a run's own index deleted at its commit).
    `spill_bytes`: the memory a run's layer of one kind takes before it goes to disk."""
    backend = backend or ("redis" if str(location).startswith(("redis://", "rediss://")) else "disk")
    module, name = STORES[backend].split(":")
    return getattr(import_module(module), name)(str(location), config, spill_bytes or SPILL_BYTES, **more)


def new_manifest(config: Config) -> dict[str, Any]:
    return {"format": FORMAT, "config": {name: getattr(config, name) for name in MATCHED}, "generation": 0,
            "runs": [], "next": dict.fromkeys(KINDS, 0), "segments": {kind: [] for kind in KINDS}}


def check_manifest(manifest: dict[str, Any], config: Config | None, where: str) -> None:
    """Refuse an index of another format, or (with `config`) of other matched options."""
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        found = manifest.get("format") if isinstance(manifest, dict) else None
        raise UsageError(f"{where}: index format {found}, this cleaner reads format {FORMAT}")
    for name in MATCHED if config is not None else ():
        theirs, ours = manifest["config"].get(name), getattr(config, name)
        if theirs != ours:
            raise UsageError(f"{where}: the index was built with {name}={theirs}, this run has {name}={ours}; "
                             "give the same options or use another index")


def run_id(existing: list[dict[str, Any]]) -> str:
    """A new run's default name: its UTC start time (with a suffix if taken)."""
    base = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    taken = {run["id"] for run in existing}
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}-{n}"
    return name


class RunsOf:
    """Which committed run kept a slot, from the manifest's slot ranges."""

    def __init__(self, runs: list[dict[str, Any]], kind: str) -> None:
        spans = sorted((run[kind][0], run[kind][1], run["id"]) for run in runs)
        self._firsts = [span[0] for span in spans]
        self._spans = spans

    def __call__(self, slot: int) -> str:
        return self._spans[bisect.bisect_right(self._firsts, slot) - 1][2]

    def many(self, slots: np.ndarray) -> list[str]:
        """The run of each of `slots`, in one search."""
        ids = [span[2] for span in self._spans]
        return [ids[at] for at in (np.searchsorted(self._firsts, slots, side="right") - 1).tolist()]


def with_run(manifest: dict[str, Any], run: str, counts: dict[str, int],
             segments: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The manifest after publishing `run` (adding `counts[kind]` slots and its segments)."""
    out = {**manifest, "generation": manifest["generation"] + 1, "runs": list(manifest["runs"]),
           "next": dict(manifest["next"]), "segments": {k: list(v) for k, v in manifest["segments"].items()}}
    entry: dict[str, Any] = {"id": run, "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    for kind in KINDS:
        entry[kind] = [manifest["next"][kind], manifest["next"][kind] + counts[kind]]
        out["next"][kind] += counts[kind]
        if counts[kind]:  # one segment (an older staged record), or a run's spills and the rest
            added = segments[kind]
            out["segments"][kind].extend(added if isinstance(added, list) else [added])
    out["runs"].append(entry)
    return out


class Store(ABC):
    """A persistent index (see the module docstring). Subclasses hold `manifest` once begun."""

    manifest: dict[str, Any]
    MERGES = False  # whether it merges a run's spilled segments as they come (cleaner.dedup.spills)
    BACKGROUND = False  # whether its spills are written (and merged) on a writer thread

    def __init__(self, location: str, config: Config | None, spill_bytes: int = SPILL_BYTES) -> None:
        self.location, self.config, self.spill_bytes = location, config, spill_bytes
        self.indexes: dict[str, LayeredIndex] = {}
        self.run = ""

    def begin(self, run: str | None, keep_staged: bool) -> str:
        """Lock the index for a run named `run` (None: a new name) and read it; return the
        run's name. `keep_staged`: the run is resumed after `prepare`, keep what it staged."""
        try:
            return self._begin(run, keep_staged)
        except BaseException:
            self.close()
            raise

    @abstractmethod
    def _begin(self, run: str | None, keep_staged: bool) -> str: ...

    @abstractmethod
    def committed(self, kind: str) -> Committed: ...

    def index(self, kind: str, threshold: float, banding: Banding, signer: Signer) -> LayeredIndex:
        """The index of `kind` ("paragraphs" or "documents") for this run."""
        index = LayeredIndex(threshold, banding, signer, self.committed(kind), self.manifest["next"][kind],
                             str(self.manifest["generation"]), spill=lambda columns: self.spill(kind, columns),
                             reopen=lambda records: self.reopen(kind, records), budget=self.spill_bytes,
                             merge=(lambda records: self.merge_spills(kind, records)) if self.MERGES else None,
                             drop=self.drop_spills if self.MERGES else None, background=self.BACKGROUND)
        self.indexes[kind] = index
        return index

    def spill(self, kind: str, columns: Any) -> dict[str, Any]:
        """Write a segment of this run's entries, staged: part of the index only once published."""
        return self._write(columns, f"{self.run}.{kind}.spill")

    def merge_spills(self, kind: str, records: list[dict[str, Any]]) -> dict[str, Any]:
        """One staged segment holding the spilled segments `records` (adjacent, in slot order)."""
        raise NotImplementedError(f"{type(self).__name__} does not merge spilled segments")

    def drop_spills(self, records: list[dict[str, Any]]) -> None:
        """Delete spilled segments merged away (no checkpoint names them any more)."""
        raise NotImplementedError(f"{type(self).__name__} does not merge spilled segments")

    @abstractmethod
    def reopen(self, kind: str, records: list[dict[str, Any]]) -> Committed:
        """This run's spilled segments of `kind` (named by `records`) as one read-only layer."""

    @abstractmethod
    def prepare(self) -> None:
        """Write what this run added durably, without publishing it."""

    @abstractmethod
    def publish(self) -> None:
        """Make what `prepare` wrote part of the index, atomically; a no-op when it already is."""

    @abstractmethod
    def close(self) -> None: ...

    @abstractmethod
    def compact(self) -> None:
        """Merge every segment of each kind into one."""

    @abstractmethod
    def forget(self, run: str) -> None:
        """Drop what `run` added."""

    @abstractmethod
    def size(self) -> int:
        """Bytes the committed index takes."""

    def info(self) -> dict[str, Any]:
        """Runs, entries of each kind, bytes."""
        runs = [{"id": r["id"], "created": r["created"], **{k: r[k][1] - r[k][0] for k in KINDS}}
                for r in self.manifest["runs"]]
        return {"runs": runs, **{k: sum(r[k] for r in runs) for k in KINDS}, "bytes": self.size(),
                "segments": {k: len(v) for k, v in self.manifest["segments"].items()}}

    @abstractmethod
    def _write(self, columns: Any, name: str) -> dict[str, Any]:
        """Write one segment of entries under `name`; return how the manifest names it."""

    def _staged_record(self) -> dict[str, Any]:
        """What `prepare` stages: this run's entries of each kind, its spilled segments and
        the rest written as one more by the backend's `_write`, with the counts and the
        generation they sit on."""
        segments, counts = {}, {}
        for kind in KINDS:
            index = self.indexes.get(kind)
            counts[kind] = len(index) - index.committed.count() if index is not None else 0
            if counts[kind]:
                segments[kind] = list(index.spilled)
                if len(index.head):
                    columns = from_memory(index.head.columns(), index.head_first)
                    segments[kind].append(self._write(columns, f"{self.run}.{kind}"))
        return {"run": self.run, "generation": self.manifest["generation"], "counts": counts, "segments": segments}

    def _check_run(self, run: str) -> dict[str, Any]:
        for entry in self.manifest["runs"]:
            if entry["id"] == run:
                return entry
        raise UsageError(f"{self.location}: no run {run!r} in the index")
