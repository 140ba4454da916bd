"""How a segment of the Redis index is laid out (cleaner.dedup.redis_index): the encoding
of its three hashes, and `RedisCommitted`, the reads of committed segments (or a run's
spills) a batch of keys at a time, each one pipelined request per segment."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
import json
from typing import TYPE_CHECKING, Any

import numpy as np

from cleaner.dedup.keytable import SHIFT, SLOT_MASK
from cleaner.dedup.layered import Committed
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
        fields = [k.tobytes() for k in keys.astype("<u8")]
        replies = self.store.pipelined(lambda pipe: [pipe.hmget(self.store.key(s["path"], "x"), fields)
                                                     for s in self.segments])
        exact = np.full(len(keys), -1, dtype=np.int64)
        for reply in replies:  # ascending slots: the first hit is the earliest
            for i, value in enumerate(reply):
                if value is not None and exact[i] < 0:
                    exact[i] = int(np.frombuffer(value, dtype="<u4")[0])
        return exact

    def bands(self, keys: np.ndarray, room: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        unique = np.unique(keys)
        fields = [b.tobytes() for b in unique.astype("<u4")]
        replies = self.store.pipelined(lambda pipe: [pipe.hmget(self.store.key(s["path"], "b"), fields)
                                                     for s in self.segments]) if fields else []
        by_key: dict[int, list[np.ndarray]] = {}
        for reply in replies:  # segments in slot order: each key's slots ascending
            for key, value in zip(unique.tolist(), reply, strict=True):
                if value is not None:
                    by_key.setdefault(key, []).append(np.frombuffer(value, dtype="<u4"))
        positions, slots = [], []
        for position in np.flatnonzero(np.isin(keys, np.array(list(by_key), dtype=keys.dtype))).tolist():
            found = np.concatenate(by_key[int(keys[position])])[:max(int(room[position]), 0)]
            room[position] -= len(found)
            positions.append(np.full(len(found), position, dtype=np.intp))
            slots.append(found.astype(np.uint64))
        if not positions:
            return np.empty(0, dtype=np.intp), np.empty(0, dtype=np.uint64)
        return np.concatenate(positions), np.concatenate(slots)

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


def slot_field(slot: int) -> bytes:
    return int(slot).to_bytes(4, "little")


def pack_entry(source: str, doc_id: str, paragraph: int, shingles: np.ndarray) -> bytes:
    return json.dumps([source, doc_id, paragraph]).encode() + b"\n" + shingles.astype("<u4").tobytes()


def unpack_entry(value: bytes) -> tuple[str, str, int, np.ndarray]:
    head, _, tail = value.partition(b"\n")
    source, doc_id, paragraph = json.loads(head)
    return source, doc_id, paragraph, np.frombuffer(tail, dtype="<u4").astype(np.uint32)


def grouped(packed_keys: np.ndarray, slots: np.ndarray, width: str) -> Iterable[tuple[bytes, bytes]]:
    """(key, its slots) of key-sorted (keys, slots), the slots as little-endian uint32."""
    if not len(packed_keys):
        return
    starts = np.flatnonzero(np.r_[True, packed_keys[1:] != packed_keys[:-1]])
    ends = np.r_[starts[1:], len(packed_keys)]
    raw = slots.astype("<u4")
    for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
        yield np.array(packed_keys[start], dtype=width).tobytes(), raw[start:end].tobytes()


def segment_hashes(columns: Columns) -> dict[str, Iterable[tuple[bytes, bytes]]]:
    """A segment's three hashes as (field, value) pairs: band key -> slots ("b"), exact key
    -> slots ("x"), slot -> provenance and shingles ("e")."""
    band_keys = columns.bands >> SHIFT
    return {"b": grouped(band_keys.astype(np.uint32), columns.bands & SLOT_MASK, "<u4"),
            "x": grouped(columns.exact_keys, columns.exact_slots, "<u8"), "e": _entries(columns)}


def _entries(columns: Columns) -> Iterable[tuple[bytes, bytes]]:
    """(slot, provenance + shingles) of every entry."""
    for i, slot in enumerate(columns.slots.tolist()):
        source, doc_id = columns.docs[int(columns.doc_of[i])]
        shingles = columns.shingles[int(columns.offsets[i]):int(columns.offsets[i + 1])]
        yield slot_field(slot), pack_entry(source, doc_id, int(columns.para[i]), shingles)
