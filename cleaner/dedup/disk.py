"""The embedded persistent index: a folder of immutable segments (cleaner.dedup.segment)
and one manifest.

    PATH/manifest.json          the commit point: runs, slot ranges, segments, file checksums
    PATH/lock                   flock'd by the one run (or `cleaner index` command) at work
    PATH/segments/NAME/         one immutable segment of one kind
    PATH/staged/RUN.json        a run's prepared, unpublished segments (for --resume)

A run writes its segments under new names, then publishes them by replacing the manifest
atomically (temp file, fsync, rename, fsync of the folder): kill -9 at any moment leaves
the manifest either before or after, and files no manifest names are removed later under
the lock. A second run on the same index is refused while the first holds the lock.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
import contextlib
import fcntl
import json
from pathlib import Path
import secrets
import shutil
from typing import Any

import numpy as np

from cleaner.config import Config
from cleaner.dedup.committed import Committed
from cleaner.dedup.compact import compact_segments
from cleaner.dedup.keytable import SHIFT, sorted_keys
from cleaner.dedup.merge import merge_segments
from cleaner.dedup.segment import Segment, write_segment
from cleaner.dedup.store import KINDS, SPILL_BYTES, RunsOf, Store, check_manifest, new_manifest, run_id, with_run
from cleaner.errors import UsageError
from cleaner.io.atomic import write_atomic
from cleaner.record import Ref

MANIFEST = "manifest.json"
# About how much of a spill's band file one search maps before its pages are dropped: a
# batch's keys are searched in sorted chunks, each over its own part of the file (a page
# fault maps the whole cached folio around it, so one search of every key would map it all,
# and so would a chunk of a fixed number of keys when a batch has few: each key a folio).
RELEASE_BYTES = 64 << 20


class DiskCommitted(Committed):
    """Segments of one kind (committed, or a run's spills: `runs` None), a batch at a time."""

    def __init__(self, segments: list[Segment], runs: RunsOf | None) -> None:
        self.segments = sorted(segments, key=lambda s: s.first)
        self._firsts = [s.first for s in self.segments]
        self.runs = runs
        self._count = sum(len(s) for s in self.segments)

    def count(self) -> int:
        return self._count

    def exact(self, keys: np.ndarray) -> np.ndarray:
        exact = np.full(len(keys), -1, dtype=np.int64)
        for segment in self.segments:  # ascending slots: the first hit is the earliest
            exact = np.where(exact < 0, segment.exact(keys), exact)
            if self.runs is None:
                segment.release()  # a batch's keys touch most of a spill's exact keys
        return exact

    def bands(self, keys: np.ndarray, room: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        low, order = sorted_keys(keys.astype(np.uint64) << SHIFT)
        left = room[order]
        positions, slots = [], []
        for segment in self.segments:  # ascending slots: each key's earliest first
            for begin, end in self._chunks(segment, len(low)):
                found = segment.bands_of(low[begin:end], order[begin:end], left[begin:end])
                if self.runs is None:
                    segment.release()  # a run's spills: memory flat however many (see Segment.release)
                if found is not None:
                    positions.append(found[0])
                    slots.append(found[1])
        room[order] = left
        if not positions:
            return np.empty(0, dtype=np.intp), np.empty(0, dtype=np.uint64)
        return np.concatenate(positions), np.concatenate(slots)

    def _chunks(self, segment: Segment, keys: int) -> list[tuple[int, int]]:
        """Ranges of a batch's sorted keys searched at once in `segment`: all of them in a
        committed run's (its pages are shared, mapped for the run), RELEASE_BYTES' worth of
        its band file a chunk in a spill's (so at most about as many chunks as that file has
        RELEASE_BYTES, or one a key when a batch has fewer keys)."""
        size = segment.bands.nbytes
        step = keys if self.runs is not None or size <= RELEASE_BYTES else keys * RELEASE_BYTES // size
        step = max(step, 1)
        return [(begin, min(begin + step, keys)) for begin in range(0, keys, step)]

    def _held(self, slots: Sequence[int] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The slots as an array, and the number of the segment holding each."""
        where = np.asarray(slots, dtype=np.int64)
        return where, np.searchsorted(np.asarray(self._firsts), where, side="right") - 1

    def shingles(self, slots: Sequence[int]) -> list[np.ndarray]:
        where, held_in = self._held(slots)
        out: list[np.ndarray] = [None] * len(where)  # type: ignore[list-item]
        for number in np.unique(held_in).tolist():  # a spill's are read, not mapped (Segment scattered)
            picked, segment = np.flatnonzero(held_in == number), self.segments[number]
            for i, found in zip(picked.tolist(), segment.shingle_sets(where[picked]), strict=True):
                out[i] = found
        return out

    def gather(self, slots: Sequence[int] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        where, held_in = self._held(slots)
        if len(where) and held_in[0] == held_in[-1] and (held_in == held_in[0]).all():  # one segment (compacted)
            return self.segments[int(held_in[0])].gather(where)
        return super().gather(where)

    def refs(self, slots: Sequence[int]) -> list[Ref]:
        where, held_in = self._held(slots)
        out: list[Ref] = [None] * len(where)  # type: ignore[list-item]
        runs = self.runs.many(where) if self.runs is not None else [None] * len(where)
        for number in np.unique(held_in).tolist():
            picked = np.flatnonzero(held_in == number)
            places = self.segments[number].places(where[picked])
            for i, (source, doc_id, paragraph) in zip(picked.tolist(), places, strict=True):
                out[i] = Ref(source, doc_id, None if paragraph < 0 else paragraph, runs[i])
        return out

    def entries(self, slots: Sequence[int]) -> list[tuple[Ref, np.ndarray]]:
        out = []
        for slot in slots:
            segment = self.segments[bisect.bisect_right(self._firsts, slot) - 1]
            source, doc_id, paragraph, shingles = segment.entry(slot)
            run = self.runs(slot) if self.runs is not None else None
            out.append((Ref(source, doc_id, None if paragraph < 0 else paragraph, run), shingles))
        return out


class DiskStore(Store):
    """A persistent index in a folder (see the module docstring)."""

    MERGES = True
    BACKGROUND = False  # off: tests/dedup/test_spill.py found a decision the writer thread changed

    def __init__(self, location: str, config: Config | None, spill_bytes: int = SPILL_BYTES) -> None:
        super().__init__(location, config, spill_bytes)
        self.root = Path(location)
        self._lock = None
        self._keep_staged = False

    # -- opening ------------------------------------------------------------------------

    def _begin(self, run: str | None, keep_staged: bool) -> str:
        self._open()
        if run is None:
            run = run_id(self.manifest["runs"])
        elif not keep_staged and any(r["id"] == run for r in self.manifest["runs"]):
            raise UsageError(f"{self.root}: the index already holds a run {run!r}; "
                             f"name this one differently or `cleaner index {self.root} forget {run}` first")
        self.run, self._keep_staged = run, keep_staged
        if not keep_staged:
            self._drop_staged(run)
        self._collect_garbage()
        return run

    def _open(self) -> None:
        """Lock the folder, read and check the manifest (new if there is none)."""
        if self.config is None and not (self.root / MANIFEST).exists():
            raise UsageError(f"{self.root}: not an index (no {MANIFEST})")  # and nothing created
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            self._lock = (self.root / "lock").open("a+")
            fcntl.flock(self._lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.close()
            raise UsageError(f"{self.root}: the index is in use by another run; try again when it ends") from None
        except OSError as err:
            self.close()
            raise UsageError(f"{self.root}: cannot open the index: {err.strerror or err}") from err
        self.manifest = self._read_manifest()
        check_manifest(self.manifest, self.config, str(self.root))
        self._committed: dict[str, DiskCommitted] = {}

    def _read_manifest(self) -> dict[str, Any]:
        path = self.root / MANIFEST
        if not path.exists():
            if self.config is None:
                raise UsageError(f"{self.root}: not an index (no {MANIFEST})")
            return new_manifest(self.config)
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise UsageError(f"{path}: unreadable index manifest ({err})") from err

    def committed(self, kind: str) -> DiskCommitted:
        if kind not in self._committed:
            manifest = self.manifest
            segments = [Segment(self.root / s["path"], s["files"]) for s in manifest["segments"][kind]]
            self._committed[kind] = DiskCommitted(segments, RunsOf(manifest["runs"], kind))
        return self._committed[kind]

    def spill(self, kind: str, columns) -> dict[str, Any]:
        return self._write(columns, kind, folder=f"spill/{self.run}")

    def merge_spills(self, kind: str, records: list[dict[str, Any]]) -> dict[str, Any]:
        path = f"spill/{self.run}/{kind}.m.{secrets.token_hex(4)}"
        files = merge_segments([self.root / r["path"] for r in records], self.root / path)
        return {"path": path, "files": files, "count": sum(r["count"] for r in records)}

    def drop_spills(self, records: list[dict[str, Any]]) -> None:
        for record in records:
            shutil.rmtree(self.root / record["path"], ignore_errors=True)

    def reopen(self, kind: str, records: list[dict[str, Any]]) -> DiskCommitted:
        if not all((self.root / r["path"]).is_dir() for r in records):
            # Another run began on this index since (and dropped other runs' spills): the
            # index itself is whole, only this run's unpublished entries are gone.
            raise UsageError(f"{self.root}: run {self.run}'s spilled index entries are gone (another run began "
                             "on this index after it was interrupted); rerun with --overwrite")
        return DiskCommitted([Segment(self.root / r["path"], r["files"], scattered=True) for r in records], None)

    def close(self) -> None:
        for index in self.indexes.values():
            index.spills.drain()
        if self._lock is not None:
            self._lock.close()  # closing the file releases the flock
            self._lock = None

    # -- a run's commit -----------------------------------------------------------------

    def prepare(self) -> None:
        staged = self.root / "staged" / f"{self.run}.json"
        if self._keep_staged and staged.exists():
            return  # prepared by the interrupted attempt this run resumes
        record = self._staged_record()
        write_atomic(staged, (json.dumps(record) + "\n").encode(), durable=True)

    def publish(self) -> None:
        if any(r["id"] == self.run for r in self.manifest["runs"]):
            return  # published by the interrupted attempt this run resumes
        staged = self.root / "staged" / f"{self.run}.json"
        record = json.loads(staged.read_text(encoding="utf-8"))
        if record["generation"] != self.manifest["generation"]:
            raise UsageError(f"{self.root}: the index changed while run {self.run} was staged; rerun it")
        self._replace(with_run(self.manifest, self.run, record["counts"], record["segments"]))
        staged.unlink()
        named = {s["path"] for kind in KINDS for s in self.manifest["segments"][kind]}
        for folder in (self.root / "spill" / self.run).glob("*"):  # spilled after the checkpoint resumed
            if f"spill/{self.run}/{folder.name}" not in named:
                shutil.rmtree(folder, ignore_errors=True)

    def _write(self, columns, name: str, folder: str = "segments") -> dict[str, Any]:
        path = f"{folder}/{name}.{secrets.token_hex(4)}"
        return {"path": path, "files": write_segment(self.root / path, columns), "count": len(columns.slots)}

    def _replace(self, manifest: dict[str, Any]) -> None:
        """Publish `manifest`: the one atomic, durable step of every change."""
        write_atomic(self.root / MANIFEST, (json.dumps(manifest, indent=1) + "\n").encode(), durable=True)
        self.manifest, self._committed = manifest, {}

    # -- maintenance --------------------------------------------------------------------

    def compact(self, drop: tuple[str, ...] = ()) -> None:
        """Rewrite each kind's committed segments as one, without the slots of the runs in
        `drop`: streamed (cleaner.dedup.compact), in memory flat in the index size."""
        generation = self.manifest["generation"] + 1
        manifest = {**self.manifest, "generation": generation,
                    "runs": [r for r in self.manifest["runs"] if r["id"] not in drop], "segments": {}}
        for kind in KINDS:
            spans = [tuple(r[kind]) for r in self.manifest["runs"] if r["id"] in drop]
            sources = [segment.folder for segment in self.committed(kind).segments]  # checked against the manifest
            path = f"segments/c{generation}.{kind}.{secrets.token_hex(4)}"
            written = compact_segments(sources, spans, self.root / path)
            manifest["segments"][kind] = [] if written is None else \
                [{"path": path, "files": written[0], "count": written[1]}]
        self._replace(manifest)
        self._collect_garbage()

    def forget(self, run: str) -> None:
        self._check_run(run)
        self.compact(drop=(run,))

    def size(self) -> int:
        return sum(size for kind in KINDS for s in self.manifest["segments"][kind] for size, _ in s["files"].values())

    def _drop_staged(self, run: str) -> None:
        (self.root / "staged" / f"{run}.json").unlink(missing_ok=True)

    def _collect_garbage(self) -> None:
        """Remove segment folders that neither the manifest nor a staged run names, and the
        spills of runs other than this one (a resumed run's checkpoint names its own)."""
        named = {s["path"] for kind in KINDS for s in self.manifest["segments"][kind]}
        for staged in (self.root / "staged").glob("*.json"):
            with contextlib.suppress(OSError, ValueError, TypeError, KeyError):
                for added in json.loads(staged.read_text(encoding="utf-8"))["segments"].values():
                    named |= {s["path"] for s in (added if isinstance(added, list) else [added])}
        for folder in (self.root / "segments").glob("*"):
            if f"segments/{folder.name}" not in named:
                shutil.rmtree(folder, ignore_errors=True)
        for folder in (self.root / "spill").glob("*/*"):
            if folder.parent.name != self.run and f"spill/{folder.parent.name}/{folder.name}" not in named:
                shutil.rmtree(folder, ignore_errors=True)
        for folder in (self.root / "spill").glob("*"):
            with contextlib.suppress(OSError):
                folder.rmdir()  # only when empty
        for stray in self.root.glob(".*.tmp"):
            stray.unlink(missing_ok=True)
