"""`cleaner index redis://... compact|forget`: each kind's segments rewritten as one, without a
dropped run's slots, a chunk of fields at a time (memory flat whatever the index size), then
published, the old keys deleted with those of runs killed before they staged
(`RedisStore.sweep`). Killed at any moment, the manifest names either the old segments or
the new one: the new one's keys are named by nobody until it is published.

A band or exact key's slots in the new segment are its kept slots of each old segment in
slot order, appended segment by segment (segments hold ascending, disjoint slot ranges), so
every value is what merging all segments in memory would give."""

from __future__ import annotations

from collections.abc import Callable, Iterator
import functools
import secrets
from typing import TYPE_CHECKING, Any

import numpy as np

from cleaner.dedup.compact import kept
from cleaner.dedup.redis_layout import buckets_for, buckets_of, hash_name, hash_names, queue_lookup
from cleaner.dedup.store import KINDS

if TYPE_CHECKING:
    from cleaner.dedup.redis_index import RedisStore

SCAN = 10_000  # fields read (and written) a request
WIDTH = {"b": "<u4", "x": "<u8"}


def compact(store: RedisStore, drop: tuple[str, ...]) -> None:
    """Merge each kind's segments into one, without the slots of the runs in `drop`."""
    old = store.manifest
    manifest = {**old, "generation": old["generation"] + 1,
                "runs": [r for r in old["runs"] if r["id"] not in drop], "segments": {}}
    for kind in KINDS:
        spans = [tuple(r[kind]) for r in old["runs"] if r["id"] in drop]
        segments = sorted(old["segments"][kind], key=lambda s: s["first"])
        written = rewrite(store, segments, functools.partial(kept, spans=spans), f"c{manifest['generation']}.{kind}")
        manifest["segments"][kind] = [written] if written else []
    store._replace(manifest, old["generation"], [])
    store._delete_segments(s for kind in KINDS for s in old["segments"][kind])
    store.sweep()


def rewrite(store: RedisStore, segments: list[dict[str, Any]], kept: Callable[[np.ndarray], np.ndarray],
            name: str) -> dict[str, Any] | None:
    """Write the kept entries of `segments` as one new segment; its record, None if none is kept."""
    record: dict[str, Any] = {"path": f"{name}.{secrets.token_hex(4)}", "count": 0, "first": 0}
    fields = {suffix: _field_count(store, segments, suffix) for suffix in WIDTH}  # at least the distinct keys
    if buckets := {s: n for s, count in fields.items() if (n := buckets_for(count, store.per_bucket)) > 1}:
        record["buckets"] = buckets
    firsts = []
    for segment in segments:
        for chunk in scan(store, segment, "e"):
            slots = np.array([int.from_bytes(field, "little") for field, _ in chunk], dtype=np.int64)
            keep = kept(slots)
            if keep.any():
                mapping = {field: value for (field, value), wanted in zip(chunk, keep.tolist(), strict=True) if wanted}
                store.call(lambda m=mapping: store.client.hset(store.key(record["path"], "e"), mapping=m))
                record["count"] += int(keep.sum())
                firsts.append(int(slots[keep].min()))
        for suffix in WIDTH:
            for chunk in scan(store, segment, suffix):
                _append(store, record, suffix, chunk, kept)
    if not record["count"]:
        return None
    record["first"] = min(firsts)
    return record


def _field_count(store: RedisStore, segments: list[dict[str, Any]], suffix: str) -> int:
    names = [n for segment in segments for n in hash_names(store, segment, suffix)]
    return sum(sum(replies) for replies in store.per_key(names, lambda pipe, n: pipe.hlen(n)))


def _append(store: RedisStore, record: dict[str, Any], suffix: str, chunk: list[tuple[bytes, bytes]],
            kept: Callable[[np.ndarray], np.ndarray]) -> None:
    """Append the kept slots of a chunk of (key, slots) fields to the new segment's hash."""
    fields, values = [], []
    for field, value in chunk:
        slots = np.frombuffer(value, dtype="<u4")
        slots = slots[kept(slots)]
        if len(slots):
            fields.append(field)
            values.append(slots.tobytes())
    if not fields:
        return
    keys = np.frombuffer(b"".join(fields), dtype=WIDTH[suffix])
    (before,) = store.pipelined(lambda pipe: [queue_lookup(store, pipe, record, suffix, keys, fields)])
    low = (keys.astype(np.uint64) & np.uint64(buckets_of(record, suffix) - 1)).tolist()
    by_hash: dict[str, dict[bytes, bytes]] = {}
    for field, value, earlier, bucket in zip(fields, values, before, low, strict=True):
        by_hash.setdefault(hash_name(store, record, suffix, bucket), {})[field] = (earlier or b"") + value
    store.pipelined(lambda pipe: [pipe.hset(key, mapping=mapping) for key, mapping in by_hash.items()])


def scan(store: RedisStore, record: dict[str, Any], suffix: str) -> Iterator[list[tuple[bytes, bytes]]]:
    """The segment's `suffix` hash as chunks of (field, value), across its buckets."""
    names = hash_names(store, record, suffix)
    if len(names) == 1:
        chunk: list[tuple[bytes, bytes]] = []
        for pair in store.call(lambda: store.client.hscan_iter(names[0], count=SCAN)):
            chunk.append(pair)
            if len(chunk) >= SCAN:
                yield chunk
                chunk = []
        if chunk:
            yield chunk
        return
    for replies in store.per_key(names, lambda pipe, n: pipe.hgetall(n), step=max(1, SCAN // 64)):
        yield [pair for reply in replies for pair in reply.items()]
