"""How a Redis segment's band-key and exact-key hashes may be cut into buckets.

One hash of millions of small fields costs Redis about 56 bytes a field (a hashtable entry
per field); hashes of at most 128 small fields are stored as one compact listpack, about
15 bytes a field. With `?bucket-fields=N` in the index URL (N at most 128; see the README
for what it costs: lookups take several times the server's CPU, a script's HGETs instead
of one HMGET), the "b" and "x" hashes of the segments a run writes are cut into a power of
two of buckets, about N fields each, a field's bucket the low bits of its key:

    NAME:SEGMENT:b:BUCKET     BUCKET in fixed-width hex; one plain NAME:SEGMENT:b when 1

and a segment record names its bucket counts (`"buckets": {"b": 4096, "x": 128}`); a
record without them (written before buckets) is one plain hash of each. A batch asks one
segment's fields across its buckets in one request: a server-side script that does the
HGETs (LOOKUP), so the reply is one list aligned with the fields, as HMGET's. Entries ("e":
provenance and shingles, larger than a listpack's values) stay one hash a segment.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from cleaner.dedup.redis_index import RedisStore

MAX_BUCKET_FIELDS = 128  # Redis's default hash-max-listpack-entries: a bucket past it is a hashtable
CHUNK = 20_000  # hash fields written a request
LOOKUP = """
local out, prefix, width = {}, ARGV[1], tonumber(ARGV[2])
for i = 3, #ARGV do
  local asked = ARGV[i]
  out[#out + 1] = redis.call('HGET', prefix .. string.sub(asked, 1, width), string.sub(asked, width + 1))
end
return out
"""


def buckets_for(fields: int, per_bucket: int) -> int:
    """A power of two giving about `per_bucket` fields a bucket (1: one plain hash; always
    when `per_bucket` is 0)."""
    buckets = 1
    while per_bucket and buckets * per_bucket < fields:
        buckets *= 2
    return buckets


def buckets_of(record: dict[str, Any], suffix: str) -> int:
    return int(record.get("buckets", {}).get(suffix, 1))


def hex_width(buckets: int) -> int:
    return max(1, ((buckets - 1).bit_length() + 3) // 4)


def hash_name(store: RedisStore, record: dict[str, Any], suffix: str, bucket: int) -> str:
    """The key holding `bucket` of the segment's `suffix` hash."""
    buckets = buckets_of(record, suffix)
    if buckets == 1:
        return store.key(record["path"], suffix)
    return store.key(record["path"], suffix, f"{bucket:0{hex_width(buckets)}x}")


def hash_names(store: RedisStore, record: dict[str, Any], suffix: str) -> list[str]:
    """Every key holding the segment's `suffix` hash."""
    return [hash_name(store, record, suffix, bucket) for bucket in range(buckets_of(record, suffix))]


def queue_lookup(store: RedisStore, pipe: Any, record: dict[str, Any], suffix: str, keys: np.ndarray,
                 fields: list[bytes]) -> None:
    """Queue on `pipe` one request for `fields` (the bytes of the integer `keys`) in the
    segment's `suffix` hash; its reply is a list aligned with `fields` (None: absent)."""
    buckets = buckets_of(record, suffix)
    if buckets == 1:
        pipe.hmget(store.key(record["path"], suffix), fields)
        return
    width = hex_width(buckets)
    low = (keys.astype(np.uint64) & np.uint64(buckets - 1)).tolist()
    asked = [b"%0*x" % (width, bucket) + field for bucket, field in zip(low, fields, strict=True)]
    store.lookup_script(args=[store.key(record["path"], suffix, ""), width, *asked], client=pipe)


def by_bucket(keys: np.ndarray, buckets: int) -> np.ndarray:
    """The order of `keys` (distinct integers) by bucket, each bucket's keys in their order."""
    return np.argsort(keys.astype(np.uint64) & np.uint64(buckets - 1), kind="stable")


def bucketed_pairs(pairs: Iterable[tuple[int, bytes, bytes]], record: dict[str, Any], suffix: str,
                   store: RedisStore) -> Iterator[tuple[str, dict[bytes, bytes]]]:
    """(hash key, its fields) of (bucket, field, value) triples that come bucket by bucket;
    one plain hash comes CHUNK fields at a time."""
    current, fields = None, {}
    for bucket, field, value in pairs:
        if fields and (bucket != current or len(fields) >= CHUNK):
            yield hash_name(store, record, suffix, current), fields
            fields = {}
        current = bucket
        fields[field] = value
    if fields:
        yield hash_name(store, record, suffix, current), fields
