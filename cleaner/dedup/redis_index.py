"""The shared persistent index: the same segments and manifest as cleaner.dedup.disk, in a
Redis server, so several machines dedup against one corpus.

    --index redis://HOST:PORT/DB?prefix=NAME        (prefix: default "cleaner", never random)
    --index redis://HOST:PORT/DB?prefix=NAME&bucket-fields=64   (compact hashes: redis_layout)

    NAME:manifest            JSON, the commit point (cleaner.dedup.store)
    NAME:lock                the run at work (SET NX with an expiry, refreshed while it runs)
    NAME:staged:RUN          a run's prepared, unpublished segments (for --resume)
    NAME:SEGMENT:b | :x | :e hashes: band key -> slots, exact key -> slots, slot -> entry

A run killed before it staged leaves its spilled segments named by nobody but its own
checkpoint: `cleaner index ... compact` deletes them (a resume of that run then stops with
a one-line error, never deciding against a segment that is gone).

A run writes its segments under new keys (invisible: no manifest names them), then
publishes them with one MULTI/EXEC that replaces the manifest, under WATCH, so nothing is
half-published. Every request is pipelined a batch at a time with explicit socket
timeouts; a lost or restarted server is one OutputError (exit 3) and nothing is committed.
Needs the `redis` package: pip install 'cleaner[redis]'.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
import contextlib
import functools
import json
import re
import secrets
import time
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from cleaner.config import Config
from cleaner.dedup.redis_layout import CHUNK, LOOKUP, MAX_BUCKET_FIELDS, bucketed_pairs, hash_names
from cleaner.dedup.redis_segments import RedisCommitted, segment_buckets, segment_hashes
from cleaner.dedup.segment import Columns
from cleaner.dedup.store import KINDS, SPILL_BYTES, RunsOf, Store, check_manifest, new_manifest, run_id, with_run
from cleaner.errors import OutputError, UsageError

T = TypeVar("T")
LOCK_MS = 600_000


def connect(url: str) -> tuple[Any, str, int]:
    """(client, prefix, fields a bucket) of redis://HOST:PORT/DB?prefix=NAME[&bucket-fields=N],
    with explicit timeouts."""
    try:
        import redis
        import redis.connection
    except ImportError:
        raise UsageError("a redis:// index needs the redis package: pip install 'cleaner[redis]'") from None
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    prefix = query.pop("prefix", ["cleaner"])[0]
    per_bucket = query.pop("bucket-fields", ["0"])[0]
    unknown = sorted(set(query) - set(getattr(redis.connection, "URL_QUERY_ARGUMENT_PARSERS", query)))
    if unknown:
        raise UsageError(f"{url}: unknown parameter {unknown[0]!r} (cleaner's are prefix and bucket-fields; "
                         "the others redis-py's URL parameters)")
    if not per_bucket.isdigit() or int(per_bucket) > MAX_BUCKET_FIELDS:
        raise UsageError(f"{url}: bucket-fields must be a whole number from 0 (plain hashes) to {MAX_BUCKET_FIELDS}")
    plain = urlunsplit(parts._replace(query=urlencode(query, doseq=True)))
    return redis.Redis.from_url(plain, socket_timeout=10, socket_connect_timeout=5), prefix, int(per_bucket)


class RedisStore(Store):
    """A persistent index in Redis (see the module docstring)."""

    def __init__(self, location: str, config: Config | None, spill_bytes: int = SPILL_BYTES) -> None:
        super().__init__(location, config, spill_bytes)
        self.client, self.prefix, self.per_bucket = connect(location)
        self._locked = False
        self._keep_staged = False
        self._refreshed = 0.0

    def key(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))

    def call(self, fn: Callable[[], T]) -> T:
        """Run one request; a Redis failure becomes a one-line OutputError (exit 3)."""
        import redis

        try:
            return fn()
        except redis.exceptions.RedisError as err:
            raise OutputError(f"{self.location}: Redis failed ({type(err).__name__}: {err}); "
                              "nothing was committed to the index") from None

    def per_key(self, names: list[str], ask: Callable[[Any, str], object], step: int = 10_000) -> Iterator[list[Any]]:
        """The replies of `ask(pipe, name)` for every name, one pipelined request per `step` names."""
        for start in range(0, len(names), step):
            yield self.pipelined(lambda pipe, part=names[start:start + step]: [ask(pipe, name) for name in part])

    def pipelined(self, fill: Callable[[Any], object]) -> list[Any]:
        def run() -> list[Any]:
            pipe = self.client.pipeline(transaction=False)
            fill(pipe)
            return pipe.execute()
        self._refresh_lock()
        return self.call(run)

    # -- opening ------------------------------------------------------------------------

    def _begin(self, run: str | None, keep_staged: bool) -> str:
        raw = self.call(lambda: self.client.get(self.key("manifest")))
        if raw is None and self.config is None:
            raise UsageError(f"{self.location}: not an index (no {self.key('manifest')} key)")
        self.manifest = json.loads(raw) if raw is not None else new_manifest(self.config)  # type: ignore[arg-type]
        check_manifest(self.manifest, self.config, self.location)
        run = run or run_id(self.manifest["runs"])
        if not keep_staged and any(r["id"] == run for r in self.manifest["runs"]):
            raise UsageError(f"{self.location}: the index already holds a run {run!r}; name this one differently")
        holder = self.call(lambda: self.client.set(self.key("lock"), run, nx=True, px=LOCK_MS, get=True))
        if holder is not None and holder.decode() != run:
            raise UsageError(f"{self.location}: the index is in use by run {holder.decode()}; try again when it ends")
        self.run, self._keep_staged, self._locked = run, keep_staged, True
        self.call(lambda: self.client.set(self.key("lock"), run, px=LOCK_MS))
        self._refreshed = time.monotonic()
        raw = self.call(lambda: self.client.get(self.key("manifest")))  # again, now that it is ours
        if raw is not None:
            self.manifest = json.loads(raw)
            check_manifest(self.manifest, self.config, self.location)
        if not keep_staged:
            self._drop_staged(run)
        return run

    def _refresh_lock(self) -> None:
        if self._locked and time.monotonic() - self._refreshed > 30:
            self._refreshed = time.monotonic()
            self.call(lambda: self.client.set(self.key("lock"), self.run, px=LOCK_MS))

    def committed(self, kind: str) -> RedisCommitted:
        return RedisCommitted(self, self.manifest["segments"][kind], RunsOf(self.manifest["runs"], kind))

    def reopen(self, kind: str, records: list[dict[str, Any]]) -> RedisCommitted:
        names = [self.key(r["path"], "e") for r in records if r["count"]]
        if names and self.call(lambda: self.client.exists(*names)) != len(names):
            raise OutputError(f"{self.location}: run {self.run}'s spilled segments are gone from the index "
                              "(deleted by `cleaner index ... compact`, or Redis restarted); rerun with --overwrite")
        return RedisCommitted(self, records, None)

    def close(self) -> None:
        if self._locked:
            self._locked = False
            with contextlib.suppress(Exception):  # the server may be gone: the lock then expires
                if self.client.get(self.key("lock")) == self.run.encode():
                    self.client.delete(self.key("lock"))

    # -- a run's commit -----------------------------------------------------------------

    def prepare(self) -> None:
        staged = self.key("staged", self.run)
        if self._keep_staged and self.call(lambda: self.client.exists(staged)):
            return
        record = self._staged_record()
        self.call(lambda: self.client.set(staged, json.dumps(record)))

    def publish(self) -> None:
        if any(r["id"] == self.run for r in self.manifest["runs"]):
            return
        raw = self.call(lambda: self.client.get(self.key("staged", self.run)))
        if raw is None:
            raise OutputError(f"{self.location}: run {self.run}'s staged additions are gone (Redis restarted?); "
                              "nothing was committed: rerun with --overwrite")
        record = json.loads(raw)
        self._replace(with_run(self.manifest, self.run, record["counts"], record["segments"]), record["generation"],
                      [self.key("staged", self.run)])

    def _replace(self, manifest: dict[str, Any], generation: int, drop: list[str]) -> None:
        """Publish `manifest` in one MULTI/EXEC, only if the stored one is still `generation`."""
        def swap() -> None:
            with self.client.pipeline(transaction=True) as pipe:
                pipe.watch(self.key("manifest"))
                raw = pipe.get(self.key("manifest"))
                if (json.loads(raw)["generation"] if raw else 0) != generation:
                    raise UsageError(f"{self.location}: the index changed under this run; nothing was committed")
                pipe.multi()
                pipe.set(self.key("manifest"), json.dumps(manifest))
                if drop:
                    pipe.delete(*drop)
                pipe.execute()
        self.call(swap)  # a WatchError (another writer in between) is a RedisError: nothing committed
        self.manifest = manifest

    def _write(self, columns: Columns, name: str) -> dict[str, Any]:
        record: dict[str, Any] = {"path": f"{name}.{secrets.token_hex(4)}", "count": len(columns.slots),
                                  "first": int(columns.slots[0]) if len(columns.slots) else 0}
        if buckets := segment_buckets(columns, self.per_bucket):
            record["buckets"] = buckets
        for suffix, triples in segment_hashes(columns, buckets).items():
            pipe, queued = self.client.pipeline(transaction=False), 0
            for key, fields in bucketed_pairs(triples, record, suffix, self):
                pipe.hset(key, mapping=fields)
                queued += len(fields)
                if queued >= CHUNK:
                    self.call(pipe.execute)
                    queued = 0
            if queued:
                self.call(pipe.execute)
        return record

    @functools.cached_property
    def lookup_script(self) -> Any:
        """The server-side lookup of fields across a segment's buckets (redis_layout.LOOKUP)."""
        return self.client.register_script(LOOKUP)

    def _drop_staged(self, run: str) -> None:
        raw = self.call(lambda: self.client.get(self.key("staged", run)))
        if raw is not None:
            added = json.loads(raw)["segments"].values()
            self._delete_segments(s for a in added for s in (a if isinstance(a, list) else [a]))
            self.call(lambda: self.client.delete(self.key("staged", run)))

    def sweep(self) -> int:
        """Delete the segment keys that neither the manifest nor a staged run names (spills of
        runs killed before staging); how many. Only under the lock: no run is at work."""
        named = {s["path"] for kind in KINDS for s in self.manifest["segments"][kind]}
        for key in self._scan(self.key("staged", "*")):
            raw = self.call(lambda k=key: self.client.get(k))
            for added in json.loads(raw)["segments"].values() if raw else ():
                named.update(s["path"] for s in (added if isinstance(added, list) else [added]))
        segment = re.compile(re.escape(self.key("")) + r"([^:]+):[bxe](?::[0-9a-f]+)?")
        orphans = [key for key in self._scan(self.key("*"))
                   if (found := segment.fullmatch(key.decode("utf-8", "replace"))) and found[1] not in named]
        for start in range(0, len(orphans), 1000):
            self.call(lambda part=orphans[start:start + 1000]: self.client.unlink(*part))
        return len(orphans)

    def _scan(self, pattern: str) -> list[bytes]:
        glob = re.sub(r"([\\*?\[\]])", r"\\\1", self.prefix) + pattern[len(self.prefix):]
        return self.call(lambda: list(self.client.scan_iter(match=glob, count=10_000)))

    def _delete_segments(self, segments: Iterable[dict[str, Any]]) -> None:
        """UNLINK, not DEL: a hash of millions of fields is freed by the server in the
        background, where DEL would block it past the socket timeout."""
        names = [name for s in segments for suffix in "bxe" for name in hash_names(self, s, suffix)]
        for start in range(0, len(names), 10_000):
            self.call(lambda part=names[start:start + 10_000]: self.client.unlink(*part))

    # -- maintenance --------------------------------------------------------------------

    def compact(self, drop: tuple[str, ...] = ()) -> None:
        from cleaner.dedup.redis_compact import compact

        compact(self, drop)

    def forget(self, run: str) -> None:
        self._check_run(run)
        self.compact(drop=(run,))

    def size(self) -> int:
        names = [name for kind in KINDS for s in self.manifest["segments"][kind] for suffix in "bxe"
                 for name in hash_names(self, s, suffix)]
        return sum(v or 0 for replies in self.per_key(names, lambda pipe, n: pipe.memory_usage(n, samples=0))
                   for v in replies)
