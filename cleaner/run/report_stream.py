"""The two passes over removed.jsonl behind report.html, in bounded memory.

`removed.jsonl` may hold millions of lines, so it is streamed, never loaded, and parsed
once: the first pass (a batch of lines at a time, cleaner.run.report_batch) counts
everything exactly (by reason, by folder, the similarity histogram) and keeps only byte
offsets of a sample, of the borderline removals and of candidate top texts and sources
(Misra-Gries heavy hitters), writing a few keys of each line to a temporary file; the
second pass (cleaner.run.report_columns) counts those candidates exactly from the keys and
collects the removed paragraph numbers of the documents whose kept copies the sample
shows, rereading only those documents' lines. The
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
from cleaner.run.report_batch import BORDER_MARGIN, add_batch, batches
from cleaner.run.report_columns import Columns

SAMPLE_CAP = 2000  # side-by-side rows on the page
BORDER_CAP = 200  # borderline rows on the page
CANDIDATES = 2000  # Misra-Gries counters: any item in more than 1/2001 of the lines is found


_decode = json.JSONDecoder().decode


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
            kept = {other: count - 1 for other, count in counts.items() if count > 1}  # in the same order
            for other in counts.keys() - kept.keys():
                self.first.pop(other, None)
            counts.clear()  # in place: callers hold `counts`
            counts.update(kept)

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
    offset: int = 0  # bytes of the log read so far
    heaps: dict[tuple[str, Any], BottomK] = field(default_factory=dict)  # (reason, similarity) -> stratum

    def stream(self, path: Path) -> None:
        """Every line of the removal log at `path`, a batch at a time (report_batch)."""
        for batch in batches(path):
            add_batch(self, batch, path)

    def group(self, source: str) -> str:
        return group_of(source, self.folders)

    def stratum(self, reason: str, similarity: Any) -> BottomK:
        """The sample heap of (reason, band of similarity), remembered for the next lines."""
        try:
            return self.heaps[(reason, similarity)]
        except (KeyError, TypeError):
            pass
        stratum = (reason, band(similarity))
        heap = self.strata.get(stratum) or self.strata.setdefault(stratum, BottomK(self.cap))
        if len(self.heaps) < MEMO:
            with contextlib.suppress(TypeError):  # an unhashable similarity is not remembered
                self.heaps[(reason, similarity)] = heap
        return heap

    def near(self, number: int, offset: int, entry: dict[str, Any], similarity: Any, raw_hash: int) -> None:
        """A near copy's similarity into the histogram, and into the borderline heap when
        close to its threshold; any other line is left."""
        if not is_near(entry):
            return
        kind = level(entry)
        self.bins[kind][min(int(similarity * 100 + 1e-9), 100)] += 1
        limit = self.threshold if kind == "paragraph" else self.doc_threshold
        if round(similarity - limit, 4) <= BORDER_MARGIN:
            self.borderline.add(similarity, raw_hash, (offset, number))

    def sample(self) -> list[tuple[int, int]]:
        """(offset, line number) of the rows shown, stratified and capped."""
        share = stratified({s: heap.seen for s, heap in self.strata.items()}, self.cap)
        return [row for s in sorted(self.strata) for row in self.strata[s].smallest(share[s])]


MEMO = 1 << 14  # (reason, similarity) pairs whose stratum is remembered


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
