"""The two streams over removed.jsonl behind report.html, in bounded memory.

`removed.jsonl` may hold millions of lines, so it is streamed, never loaded: the first pass
counts everything exactly (by reason, by folder, the similarity histogram) and keeps only
byte offsets of a sample, of the borderline removals and of candidate top texts and sources
(Misra-Gries heavy hitters); the second pass counts those candidates exactly and collects
the removed paragraph numbers of the documents whose kept copies the sample shows. The
sample is stratified by reason and similarity band and chosen by a hash of each log line,
so the same logs always give the same rows (and a reordered log the same sample).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
import contextlib
from dataclasses import dataclass, field
import heapq
import json
from pathlib import Path
from typing import Any

import xxhash

from cleaner.errors import UsageError
from cleaner.run.report_columns import BLOCK, HAS_TEXT, KEYS, MASK, NUMBERED, WHOLE, Columns, document_key, source_key

try:
    from orjson import loads as _fast
except ImportError:  # the json module alone reads the same, slower
    _fast = None

SAMPLE_CAP = 2000  # side-by-side rows on the page
BORDER_CAP = 200  # borderline rows on the page
BORDER_MARGIN = 0.05  # a near copy this close above its threshold is borderline
CANDIDATES = 2000  # Misra-Gries counters: any item in more than 1/2001 of the lines is found


_decode = json.JSONDecoder().decode


def _as_json(entry: dict[str, Any]) -> bool:
    """Whether orjson read the fields the report uses as json does: it reads an integer
    past 64 bits as a float, json as an int (a similarity that large is read again too)."""
    get, similarity = entry.get, entry.get("similarity")
    if similarity.__class__ is float and not -1e18 < similarity < 1e18:
        return False
    return float not in (get("source").__class__, get("reason").__class__, get("paragraph").__class__,
                         get("paragraphs").__class__, get("id").__class__)


def parse_line(raw: bytes, path: Path, number: int) -> dict[str, Any]:
    """One line of the removal log as the json module reads it: by orjson where that is
    the same (valid UTF-8, no NaN, no integer past 64 bits in a field read), else by json."""
    if _fast is not None:
        try:
            entry = _fast(raw)
        except ValueError:
            pass
        else:
            if entry.__class__ is dict and _as_json(entry):
                return entry
    try:
        return _decode(raw.decode("utf-8", "surrogateescape"))
    except ValueError:
        raise UsageError(f"{path}:{number}: not a JSON line") from None


def read_json_lines(path: Path) -> Iterator[tuple[int, int, bytes, dict[str, Any]]]:
    """(line number, byte offset, raw line, entry) for each line of a JSONL log; nothing if absent."""
    if not path.is_file():
        return
    offset = 0
    with path.open("rb") as lines:
        for number, raw in enumerate(lines, 1):
            try:
                entry = _decode(raw.decode("utf-8", "surrogateescape"))
            except ValueError:
                raise UsageError(f"{path}:{number}: not a JSON line") from None
            yield number, offset, raw, entry
            offset += len(raw)


def read_at(path: Path, offsets: list[int]) -> dict[int, dict[str, Any]]:
    """The entries of a JSONL log starting at these byte offsets."""
    found = {}
    with path.open("rb") as log:
        for offset in sorted(set(offsets)):
            log.seek(offset)
            found[offset] = _decode(log.readline().decode("utf-8", "surrogateescape"))
    return found


BANDS = [f"{i / 20:.2f}" for i in range(21)]


def band(similarity: Any) -> str:
    """The similarity band a removal is sampled in: "1.00", "0.95", "0.90"... (lower bounds)."""
    if not isinstance(similarity, (int, float)):
        return "n/a"
    return BANDS[max(0, min(int(similarity * 20), 20))]


def is_near(entry: dict[str, Any]) -> bool:
    """A near copy: a removal whose verified similarity matters (not exact, not boilerplate)."""
    reason, similarity = str(entry.get("reason")), entry.get("similarity")
    if not isinstance(similarity, (int, float)) or reason in ("boilerplate", "emptied"):
        return False
    return reason.startswith("near_") or similarity < 1.0


def level(entry: dict[str, Any]) -> str:
    """"paragraph" for a line naming one paragraph, else "document"."""
    return "paragraph" if "paragraph" in entry else "document"


class HeavyHitters:
    """Misra-Gries: at most `size` counters; every key seen in more than n/(size+1) of n
    additions keeps one. Counts are exact while no counter was ever dropped (`exact`),
    else lower bounds, made exact by a second pass."""

    def __init__(self, size: int = CANDIDATES) -> None:
        self.size = size
        self.counts: dict[Any, int] = {}
        self.first: dict[Any, int] = {}  # key -> byte offset of a line holding it
        self.exact = True

    def add(self, key: Any, offset: int) -> None:
        counts = self.counts
        if key in counts:
            counts[key] += 1
        elif len(counts) < self.size:
            counts[key] = 1
            self.first.setdefault(key, offset)
        else:
            self.exact = False
            for other in list(counts):
                self.counts[other] -= 1
                if not self.counts[other]:
                    del self.counts[other]
                    self.first.pop(other, None)

    def keys(self) -> set[Any]:
        return set(self.counts)


class BottomK:
    """The `k` items with the smallest keys seen, in bounded memory (a max-heap)."""

    def __init__(self, k: int) -> None:
        self.k = k
        self.heap: list[tuple] = []
        self.seen = 0

    def add(self, key: float, tiebreak: int, value: Any) -> None:
        """Offer `value` under the key (key, tiebreak)."""
        self.seen += 1
        if len(self.heap) < self.k or -key >= self.heap[0][0]:  # else, once full: not among the smallest
            self.offer(key, tiebreak, value)

    def offer(self, key: float, tiebreak: int, value: Any) -> None:
        """`add` without counting it (the caller did)."""
        heap = self.heap
        item = (-key, -tiebreak, value)
        if len(heap) < self.k:
            heapq.heappush(heap, item)
        elif item > heap[0]:
            heapq.heapreplace(heap, item)

    def smallest(self, n: int | None = None) -> list[Any]:
        ordered = sorted(self.heap, reverse=True)
        return [item[2] for item in ordered[:n]]


def allocate(sizes: dict[Any, int], cap: int) -> dict[Any, int]:
    """Split `cap` rows fairly among strata of these sizes (water-filling): small strata
    are shown whole, the rest share what is left equally (rounded up, first come first)."""
    share, left, todo = {}, cap, sorted(sizes, key=lambda s: (sizes[s], str(s)))
    while todo:
        name = todo.pop(0)
        share[name] = min(sizes[name], -(-left // (len(todo) + 1)))
        left -= share[name]
    return share


def stratified(sizes: dict[tuple[str, str], int], cap: int) -> dict[tuple[str, str], int]:
    """Rows per (reason, band): shared among reasons first, so every reason is shown when
    `cap` allows, then among a reason's similarity bands."""
    reasons: dict[str, dict[tuple[str, str], int]] = {}
    for stratum, size in sizes.items():
        reasons.setdefault(stratum[0], {})[stratum] = size
    per_reason = allocate({r: sum(bands.values()) for r, bands in reasons.items()}, cap)
    return {s: n for r, bands in reasons.items() for s, n in allocate(bands, per_reason[r]).items()}


def text_key(text: str) -> int:
    return xxhash.xxh64_intdigest(text.encode("utf-8", "surrogatepass"))


@dataclass
class Pass:
    """What one stream over removed.jsonl leaves: exact counters and bounded selections,
    and the per-line keys the second pass counts from (`columns`)."""

    threshold: float
    doc_threshold: float
    cap: int = SAMPLE_CAP
    folders: bool = False
    lines: int = 0
    by_reason: Counter = field(default_factory=Counter)
    by_group: Counter = field(default_factory=Counter)
    bins: dict[str, Counter] = field(default_factory=lambda: {"paragraph": Counter(), "document": Counter()})
    strata: dict[tuple[str, str], BottomK] = field(default_factory=dict)
    borderline: BottomK = field(default_factory=lambda: BottomK(BORDER_CAP))
    texts: HeavyHitters = field(default_factory=HeavyHitters)
    sources: HeavyHitters = field(default_factory=HeavyHitters)
    columns: Columns = field(default_factory=Columns)
    _heaps: dict[tuple[str, Any], BottomK] = field(default_factory=dict)  # (reason, similarity) -> stratum

    def stream(self, path: Path) -> None:
        """Every line of the removal log at `path`, parsed once (the loop keeps what it
        touches per line in locals: this is the report's one pass over every removal)."""
        by_reason, by_group, heaps = self.by_reason, self.by_group, self._heaps
        texts, sources = self.texts, self.sources
        tcounts, scounts = texts.counts, sources.counts
        rows, limit, digest, offset, number = self.columns.rows, BLOCK * len(KEYS), xxhash.xxh64_intdigest, 0, 0
        last, group, skey = None, "", 0
        with path.open("rb") as lines:
            for number, raw in enumerate(lines, 1):
                entry = parse_line(raw, path, number)
                get = entry.get
                reason, similarity, text = str(get("reason")), get("similarity"), get("text")
                source = str(get("source"))
                if source != last:
                    last, group, skey = source, group_of(source, self.folders), source_key(source)
                by_reason[reason] += 1
                by_group[group] += 1
                raw_hash = digest(raw)
                try:
                    heap = heaps[(reason, similarity)]
                except (KeyError, TypeError):
                    heap = self._stratum(reason, similarity)
                heap.seen += 1
                if len(heap.heap) < heap.k or -raw_hash >= heap.heap[0][0]:
                    heap.offer(raw_hash, 0, (offset, number))
                key = 0 if text is None else digest(text.encode("utf-8", "surrogatepass"))
                if text is not None:
                    if key in tcounts:
                        tcounts[key] += 1
                    else:
                        texts.add(key, offset)
                if source in scounts:
                    scounts[source] += 1
                else:
                    sources.add(source, offset)
                if (similarity != 1.0 or reason.startswith("near_")) and is_near(entry):  # cheap test first
                    self._near(number, offset, entry, similarity, raw_hash)
                rows.extend(self._row(entry, key, text is not None, source, skey, offset))
                if len(rows) >= limit:
                    self.columns.flush()
                    rows = self.columns.rows
                offset += len(raw)
        self.lines = number

    def _stratum(self, reason: str, similarity: Any) -> BottomK:
        """The sample heap of (reason, band of similarity), remembered for the next lines."""
        stratum = (reason, band(similarity))
        heap = self.strata.get(stratum) or self.strata.setdefault(stratum, BottomK(self.cap))
        if len(self._heaps) < MEMO:
            with contextlib.suppress(TypeError):  # an unhashable similarity is not remembered
                self._heaps[(reason, similarity)] = heap
        return heap

    def _near(self, number: int, offset: int, entry: dict[str, Any], similarity: float, raw_hash: int) -> None:
        kind = level(entry)
        self.bins[kind][min(int(similarity * 100 + 1e-9), 100)] += 1
        limit = self.threshold if kind == "paragraph" else self.doc_threshold
        if round(similarity - limit, 4) <= BORDER_MARGIN:
            self.borderline.add(similarity, raw_hash, (offset, number))

    def _row(self, entry: dict[str, Any], key: int, has_text: bool, source: str, skey: int,
             offset: int) -> tuple[int, int, int, int, int, int]:
        """The line's keys for the second pass, in the order of report_columns.KEYS."""
        paragraph = entry.get("paragraph", _ABSENT)
        if paragraph is _ABSENT:
            count = entry.get("paragraphs")
            flags, count = WHOLE, count if isinstance(count, int) else 0
        else:
            flags, count = 0, 1
        document = 0
        if isinstance(paragraph, int):
            flags |= NUMBERED
            document = skey if self.folders else document_key((source, str(entry.get("id"))))
        return key, skey, document, offset, count & MASK, flags | (HAS_TEXT if has_text else 0)

    def sample(self) -> list[tuple[int, int]]:
        """(offset, line number) of the rows shown, stratified and capped."""
        share = stratified({s: heap.seen for s, heap in self.strata.items()}, self.cap)
        return [row for s in sorted(self.strata) for row in self.strata[s].smallest(share[s])]


_ABSENT = object()
MEMO = 1 << 14  # (reason, similarity) pairs whose stratum is remembered


def _count(hitters: HeavyHitters, key: Any, offset: int) -> None:
    """HeavyHitters.add, the common case (a key already counted) without the call."""
    counts = hitters.counts
    if key in counts:
        counts[key] += 1
    else:
        hitters.add(key, offset)


def _paragraphs(entry: dict[str, Any]) -> int:
    """Paragraphs a removal-log line takes out: one, or a whole document's."""
    if "paragraph" in entry:
        return 1
    count = entry.get("paragraphs")
    return count if isinstance(count, int) else 0


def group_of(source: str, folders: bool) -> str:
    """The source folder of a text file (folder runs), else the input file itself."""
    if folders:
        return source.rsplit("/", 1)[0] if "/" in source else "(top level)"
    return source
