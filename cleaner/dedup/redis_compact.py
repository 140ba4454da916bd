"""`cleaner index redis://... compact|forget`: read a Redis index's segments back as columns,
drop a run's slots, write one merged segment per kind, publish, delete the old keys and
those of runs killed before they staged (`RedisStore.sweep`).
Killed at any moment, the manifest names either the old segments or the new one."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from cleaner.dedup.keytable import SHIFT
from cleaner.dedup.redis_layout import hash_names
from cleaner.dedup.redis_segments import unpack_entry
from cleaner.dedup.segment import Columns, merge
from cleaner.dedup.store import KINDS

if TYPE_CHECKING:
    from cleaner.dedup.redis_index import RedisStore


def compact(store: RedisStore, drop: tuple[str, ...]) -> None:
    """Merge each kind's segments into one, without the slots of the runs in `drop`."""
    old = store.manifest
    manifest = {**old, "generation": old["generation"] + 1,
                "runs": [r for r in old["runs"] if r["id"] not in drop], "segments": {}}
    for kind in KINDS:
        spans = [tuple(r[kind]) for r in old["runs"] if r["id"] in drop]
        parts = [part for s in sorted(old["segments"][kind], key=lambda s: s["first"])
                 if (part := read_columns(store, s, spans)) is not None]
        written = store._write(merge(parts), f"c{manifest['generation']}.{kind}") if parts else None
        manifest["segments"][kind] = [written] if written else []
    store._replace(manifest, old["generation"], [])
    store._delete_segments(s for kind in KINDS for s in old["segments"][kind])
    store.sweep()


def _scan(store: RedisStore, record: dict[str, Any], suffix: str) -> list[tuple[bytes, bytes]]:
    """Every (field, value) of the segment's `suffix` hash, across its buckets."""
    names = hash_names(store, record, suffix)
    if len(names) == 1:
        return store.call(lambda: list(store.client.hscan_iter(names[0], count=10_000)))
    pairs: list[tuple[bytes, bytes]] = []
    for start in range(0, len(names), 1000):
        for reply in store.pipelined(lambda pipe, part=names[start:start + 1000]: [pipe.hgetall(n) for n in part]):
            pairs += reply.items()
    return pairs


def read_columns(store: RedisStore, record: dict[str, Any], spans: list[tuple[int, int]]) -> Columns | None:
    """One segment's entries in memory, without the slots in `spans`; None if none is left."""
    def kept(slots: np.ndarray) -> np.ndarray:
        mask = np.ones(len(slots), dtype=bool)
        for first, end in spans:
            mask &= (slots < first) | (slots >= end)
        return mask

    entries = sorted((int.from_bytes(field, "little"), value) for field, value in _scan(store, record, "e"))
    entries = [(slot, value) for slot, value in entries if kept(np.array([slot]))[0]]
    if not entries:
        return None
    docs: list[tuple[str, str]] = []
    numbers: dict[tuple[str, str], int] = {}
    doc_of, para, shingles = [], [], []
    for _, value in entries:
        source, doc_id, paragraph, hashes = unpack_entry(value)
        doc_of.append(numbers.setdefault((source, doc_id), len(numbers)))
        if doc_of[-1] == len(docs):
            docs.append((source, doc_id))
        para.append(paragraph)
        shingles.append(hashes)
    offsets = np.zeros(len(entries) + 1, dtype=np.uint64)
    np.cumsum([len(h) for h in shingles], out=offsets[1:])
    bands = _postings(store, record, "b", kept, np.uint32)
    exact_keys, exact_slots = _postings(store, record, "x", kept, np.uint64, packed=False)
    return Columns(bands, exact_keys, exact_slots, np.array([s for s, _ in entries], dtype=np.uint32), offsets,
                   np.concatenate(shingles).astype(np.uint32), np.array(doc_of, dtype=np.uint32),
                   np.array(para, dtype=np.int32), docs)


def _postings(store: RedisStore, record: dict[str, Any], suffix: str, kept: Any, width: Any,
              packed: bool = True) -> Any:
    """A posting hash as sorted packed band entries, or as (exact keys, slots) sorted by key then slot."""
    keys, slots = [], []
    for field, value in _scan(store, record, suffix):
        found = np.frombuffer(value, dtype="<u4").astype(np.uint64)
        found = found[kept(found.astype(np.int64))]
        keys.append(np.full(len(found), int(np.frombuffer(field, dtype=np.dtype(width).newbyteorder("<"))[0]),
                            dtype=np.uint64))
        slots.append(found)
    key_array = np.concatenate(keys) if keys else np.empty(0, dtype=np.uint64)
    slot_array = np.concatenate(slots) if slots else np.empty(0, dtype=np.uint64)
    if packed:
        return np.sort(key_array << SHIFT | slot_array)
    order = np.lexsort((slot_array, key_array))
    return key_array[order], slot_array[order].astype(np.uint32)
