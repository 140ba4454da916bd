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
from dataclasses import dataclass, field
import heapq
import json
from json.decoder import scanstring
from pathlib import Path
from typing import Any

import xxhash

from cleaner.errors import UsageError

SAMPLE_CAP = 2000  # side-by-side rows on the page
BORDER_CAP = 200  # borderline rows on the page
BORDER_MARGIN = 0.05  # a near copy this close above its threshold is borderline
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
        heap = self.heap
        if len(heap) >= self.k and -key < heap[0][0]:
            return  # the common case once full: not among the smallest
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
    """What one stream over removed.jsonl leaves: exact counters and bounded selections."""

    threshold: float
    doc_threshold: float
    cap: int = SAMPLE_CAP
    lines: int = 0
    by_reason: Counter = field(default_factory=Counter)
    by_group: Counter = field(default_factory=Counter)
    bins: dict[str, Counter] = field(default_factory=lambda: {"paragraph": Counter(), "document": Counter()})
    strata: dict[tuple[str, str], BottomK] = field(default_factory=dict)
    borderline: BottomK = field(default_factory=lambda: BottomK(BORDER_CAP))
    texts: HeavyHitters = field(default_factory=HeavyHitters)
    sources: HeavyHitters = field(default_factory=HeavyHitters)
    lost: dict[str, list[int]] = field(default_factory=dict)  # source -> [lines, paragraphs, whole], while exact

    def add(self, number: int, offset: int, entry: dict[str, Any], raw_hash: int, group: str) -> None:
        reason, similarity, text = str(entry.get("reason")), entry.get("similarity"), entry.get("text")
        self.lines += 1
        self.by_reason[reason] += 1
        self.by_group[group] += 1
        stratum = (reason, band(similarity))
        heap = self.strata.get(stratum) or self.strata.setdefault(stratum, BottomK(self.cap))
        heap.add(raw_hash, 0, (offset, number))
        if text is not None:
            self.texts.add(text_key(text), offset)
        self._count_source(str(entry.get("source")), entry, offset)
        if (similarity != 1.0 or reason.startswith("near_")) and is_near(entry):  # cheap test first
            kind = level(entry)
            self.bins[kind][min(int(similarity * 100 + 1e-9), 100)] += 1
            limit = self.threshold if kind == "paragraph" else self.doc_threshold
            if round(similarity - limit, 4) <= BORDER_MARGIN:
                self.borderline.add(similarity, raw_hash, (offset, number))

    def _count_source(self, source: str, entry: dict[str, Any], offset: int) -> None:
        self.sources.add(source, offset)
        if not self.sources.exact:
            self.lost.clear()
            return
        counts = self.lost.get(source) or self.lost.setdefault(source, [0, 0, 0])
        counts[0] += 1
        counts[1] += _paragraphs(entry)
        counts[2] += "paragraph" not in entry

    def sample(self) -> list[tuple[int, int]]:
        """(offset, line number) of the rows shown, stratified and capped."""
        share = stratified({s: heap.seen for s, heap in self.strata.items()}, self.cap)
        return [row for s in sorted(self.strata) for row in self.strata[s].smallest(share[s])]


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


@dataclass
class Exact:
    """The second stream over removed.jsonl: exact counts of the first pass's candidates,
    and the removed paragraph numbers of the documents whose kept copies are shown."""

    texts: Counter = field(default_factory=Counter)
    sources: dict[str, list[int]] = field(default_factory=dict)  # source -> [lines, paragraphs, whole]
    removed_in: dict[Any, list[int]] = field(default_factory=dict)  # document key -> paragraphs


def second_pass(log: Path, first: Pass, kept: set[Any]) -> Exact:
    """Count the candidates exactly, reading as little of each line as it can: the source
    (always first) and the text are scanned out of the line; a line is parsed whole only
    when its source is one asked about. `kept` names documents by source (folder runs) or
    by (source, id) (record runs)."""
    texts = set() if first.texts.exact else first.texts.keys()
    kept_sources = {key if isinstance(key, str) else key[0] for key in kept}
    exact = Exact(Counter(first.texts.counts) if first.texts.exact else Counter(),
                  {s: list(c) for s, c in first.lost.items()}, {s: [] for s in kept})
    recount = set() if first.sources.exact else first.sources.keys()
    exact.sources.update({s: [0, 0, 0] for s in recount})
    if not (texts or recount or kept_sources):
        return exact
    with log.open("rb") as lines:
        for raw in lines:
            line = raw.decode("utf-8", "surrogateescape")
            source, text = _scan(line)
            entry = _decode(line) if source is None or source in recount or source in kept_sources else None
            if entry is not None:
                source, text = str(entry.get("source")), entry.get("text")
                _recount(exact, source, entry, source in recount)
            if texts and text is not None and (key := text_key(text)) in texts:
                exact.texts[key] += 1
    return exact


def _scan(line: str) -> tuple[str | None, str | None]:
    """(source, text) of a removal-log line as cleaner.io.logs writes it, or (None, None)
    when it is not laid out so (then it is parsed whole)."""
    if not line.startswith('{"source": "'):
        return None, None
    source, end = scanstring(line, 12)
    at = line.find('"text": "', end)
    return source, (scanstring(line, at + 9)[0] if at != -1 else None)


def _recount(exact: Exact, source: str, entry: dict[str, Any], count: bool) -> None:
    if count:
        counts = exact.sources[source]
        counts[0] += 1
        counts[1] += _paragraphs(entry)
        counts[2] += "paragraph" not in entry
    if isinstance(entry.get("paragraph"), int):
        for key in (source, (source, str(entry.get("id")))):
            if key in exact.removed_in:
                exact.removed_in[key].append(entry["paragraph"])
