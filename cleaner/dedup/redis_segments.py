"""How a segment of the Redis index is laid out (cleaner.dedup.redis_index): the encoding
of its three hashes, and `RedisCommitted`, the reads of committed segments (or a run's
spills) a batch of keys at a time, each one pipelined request per segment."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
import json
from typing import TYPE_CHECKING, Any

import numpy as np

from cleaner.dedup.committed import Committed
from cleaner.dedup.keytable import SHIFT, SLOT_MASK
from cleaner.dedup.redis_layout import buckets_for, by_bucket, queue_lookup
from cleaner.dedup.segment import Columns
from cleaner.dedup.store import RunsOf
from cleaner.errors import OutputError
from cleaner.record import Ref

if TYPE_CHECKING:
    from cleaner.dedup.redis_index import RedisStore


class RedisCommitted(Committed):
    """Segments of one kind in Redis (committed, or a run's spills: `runs` None)."""

    def __init__(self, store: RedisStore, segments: list[dict[str, Any]], runs: RunsOf | None) -> None:
        self.store, self.runs = store, runs
        self.segments = sorted(segments, key=lambda s: s["first"])
        self._count = sum(s["count"] for s in segments)

    def count(self) -> int:
        return self._count

    def exact(self, keys: np.ndarray) -> np.ndarray:
        wide = keys.astype("<u8")
        fields = fixed_width_fields(wide)
        replies = self.store.pipelined(lambda pipe: [queue_lookup(self.store, pipe, s, "x", wide, fields)
                                                     for s in self.segments])
        exact = np.full(len(keys), -1, dtype=np.int64)
        for reply in replies:  # ascending slots: the first hit is the earliest
            hits = [i for i, value in enumerate(reply) if value is not None]
            if hits:
                at = np.array(hits, dtype=np.intp)
                first = np.frombuffer(b"".join([reply[i][:4] for i in hits]), dtype="<u4")
                unset = exact[at] < 0
                exact[at[unset]] = first[unset]
        return exact

    def bands(self, keys: np.ndarray, room: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        unique, key_of = np.unique(keys, return_inverse=True)
        fields = fixed_width_fields(unique.astype("<u4"))
        replies = self.store.pipelined(lambda pipe: [queue_lookup(self.store, pipe, s, "b", unique, fields)
                                                     for s in self.segments]) if fields else []
        owners, values = [], []
        for reply in replies:  # segments in slot order: each key's slots ascending
            hits = [i for i, value in enumerate(reply) if value is not None]
            owners.append(np.repeat(np.array(hits, dtype=np.intp), [len(reply[i]) // 4 for i in hits]))
            values.append(b"".join([reply[i] for i in hits]))
        if not owners:
            return np.empty(0, dtype=np.intp), np.empty(0, dtype=np.uint64)
        owner = np.concatenate(owners)
        order = np.argsort(owner, kind="stable")  # by key, each key's segments still in slot order
        stored = np.frombuffer(b"".join(values), dtype="<u4")[order]
        return take_earliest(np.bincount(owner, minlength=len(unique)), stored, key_of.ravel(), room)

    def entries(self, slots: Sequence[int]) -> list[tuple[Ref, np.ndarray]]:
        firsts = [s["first"] for s in self.segments]
        owners = [self.segments[int(np.searchsorted(firsts, slot, side="right")) - 1] for slot in slots]
        values = self.store.pipelined(lambda pipe: [pipe.hget(self.store.key(owner["path"], "e"), slot_field(slot))
                                                    for slot, owner in zip(slots, owners, strict=True)])
        out = []
        for slot, value in zip(slots, values, strict=True):
            if value is None:
                raise OutputError(f"{self.store.location}: the index lost slot {slot} (was Redis flushed?)")
            source, doc_id, paragraph, shingles = unpack_entry(value)
            run = self.runs(slot) if self.runs is not None else None
            out.append((Ref(source, doc_id, None if paragraph < 0 else paragraph, run), shingles))
        return out


def fixed_width_fields(values: np.ndarray) -> list[bytes]:
    """Each value of a fixed-width little-endian array as its bytes (a hash field)."""
    raw, width = values.tobytes(), values.dtype.itemsize
    return [raw[at:at + width] for at in range(0, len(raw), width)]


def take_earliest(stored_per_key: np.ndarray, stored: np.ndarray, key_of: np.ndarray,
                  room: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(positions, slots) as `Committed.bands` gives them: for each position in order, the
    first `room` of the slots stored under its key (`stored`, grouped by key, in key order,
    `stored_per_key` of each), `room` lowered by as many."""
    take = np.minimum(np.maximum(room, 0), stored_per_key[key_of])
    room -= take
    positions = np.repeat(np.arange(len(key_of), dtype=np.intp), take)
    starts = np.r_[0, np.cumsum(stored_per_key)[:-1]]
    within = np.arange(len(positions)) - np.repeat(np.cumsum(take) - take, take)
    return positions, stored[starts[key_of[positions]] + within].astype(np.uint64)


def slot_field(slot: int) -> bytes:
    return int(slot).to_bytes(4, "little")


def pack_entry(source: str, doc_id: str, paragraph: int, shingles: np.ndarray) -> bytes:
    return json.dumps([source, doc_id, paragraph]).encode() + b"\n" + shingles.astype("<u4").tobytes()


def unpack_entry(value: bytes) -> tuple[str, str, int, np.ndarray]:
    head, _, tail = value.partition(b"\n")
    source, doc_id, paragraph = json.loads(head)
    return source, doc_id, paragraph, np.frombuffer(tail, dtype="<u4").astype(np.uint32)


def grouped(packed_keys: np.ndarray, slots: np.ndarray, width: str,
            buckets: int = 1) -> Iterable[tuple[int, bytes, bytes]]:
    """(bucket, key, its slots) of key-sorted (keys, slots), the slots as little-endian
    uint32, bucket by bucket (cleaner.dedup.redis_layout)."""
    if not len(packed_keys):
        return
    starts = np.flatnonzero(np.r_[True, packed_keys[1:] != packed_keys[:-1]])
    ends = np.r_[starts[1:], len(packed_keys)]
    keys = packed_keys[starts]
    names, raw = fixed_width_fields(keys.astype(width)), slots.astype("<u4")
    bucket = (keys.astype(np.uint64) & np.uint64(buckets - 1)).tolist()
    for group in by_bucket(keys, buckets).tolist():
        yield bucket[group], names[group], raw[starts[group]:ends[group]].tobytes()


def segment_buckets(columns: Columns, per_bucket: int) -> dict[str, int]:
    """The bucket counts of a segment's band-key and exact-key hashes, those above 1."""
    distinct = {"b": _distinct(columns.bands >> SHIFT), "x": _distinct(columns.exact_keys)}
    return {suffix: n for suffix, count in distinct.items() if (n := buckets_for(count, per_bucket)) > 1}


def _distinct(sorted_keys: np.ndarray) -> int:
    return int(np.count_nonzero(sorted_keys[1:] != sorted_keys[:-1])) + 1 if len(sorted_keys) else 0


def segment_hashes(columns: Columns, buckets: dict[str, int]) -> dict[str, Iterable[tuple[int, bytes, bytes]]]:
    """A segment's three hashes as (bucket, field, value): band key -> slots ("b"), exact
    key -> slots ("x"), slot -> provenance and shingles ("e", one hash)."""
    band_keys = columns.bands >> SHIFT
    return {"b": grouped(band_keys.astype(np.uint32), columns.bands & SLOT_MASK, "<u4", buckets.get("b", 1)),
            "x": grouped(columns.exact_keys, columns.exact_slots, "<u8", buckets.get("x", 1)),
            "e": ((0, field, value) for field, value in _entries(columns))}


def _entries(columns: Columns) -> Iterable[tuple[bytes, bytes]]:
    """(slot, provenance + shingles) of every entry."""
    for i, slot in enumerate(columns.slots.tolist()):
        source, doc_id = columns.docs[int(columns.doc_of[i])]
        shingles = columns.shingles[int(columns.offsets[i]):int(columns.offsets[i + 1])]
        yield slot_field(slot), pack_entry(source, doc_id, int(columns.para[i]), shingles)
