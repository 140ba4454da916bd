"""The first pass over removed.jsonl a batch of lines at a time.

A million removals make a million turns of a Python loop, so each batch's lines are parsed
in one comprehension, their fields taken out column by column with C-level maps, counted
with Counter.update, sampled with numpy (a line whose hash is above its stratum's largest
kept hash cannot enter it) and written to the second pass's columns in one array. What
must stay sequential (the Misra-Gries counters, the borderline heap) runs in tight loops
over those columns, in file order, so the result is the line-at-a-time result.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import accumulate, repeat
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import xxhash

from cleaner.errors import UsageError
from cleaner.run.report_columns import HAS_TEXT, MIX, NUMBERED, WHOLE, text_hash

if TYPE_CHECKING:
    from cleaner.run.report_stream import Pass

try:
    from orjson import loads as _fast
except ImportError:  # the json module alone reads the same, slower
    _fast = None

LARGE = 1 << 31  # a paragraph count the columns hold (their sums then fit 64 bits)
BORDER_MARGIN = 0.05  # a near copy this close above its threshold is borderline
_decode = json.JSONDecoder().decode
_ABSENT = object()
FIELDS = ("source", "reason", "similarity", "text", "paragraph", "paragraphs", "id")
EXACT = ("source", "reason", "paragraph", "paragraphs", "id")  # fields orjson must not read as floats


def batches(path: Path, size: int = 1 << 22) -> Iterator[list[bytes]]:
    """The log's lines (each with its newline, as iterating the file gives them), read
    `size` bytes at a time."""
    with path.open("rb") as log:
        rest = b""
        while chunk := log.read(size):
            lines = (rest + chunk).split(b"\n")
            rest = lines.pop()
            if lines:
                yield [line + b"\n" for line in lines]
        if rest:
            yield [rest]


def decode(raw: bytes, path: Path, number: int) -> Any:
    """One line as the json module reads it."""
    try:
        return _decode(raw.decode("utf-8", "surrogateescape"))
    except ValueError:
        raise UsageError(f"{path}:{number}: not a JSON line") from None


def _parse(raw: bytes, path: Path, number: int) -> Any:
    """orjson where it reads the line at all (see `_columns` for where it differs), else json."""
    if _fast is not None:
        try:
            return _fast(raw)
        except ValueError:
            pass
    return decode(raw, path, number)


def _columns(raws: list[bytes], path: Path, first: int) -> dict[str, list[Any]]:
    """The batch's entries and their FIELDS as columns. orjson reads an integer past 64 bits
    as a float where json reads an int: lines with a float where the report reads a str or
    an int are read again by json (a similarity that large, in `_near`)."""
    try:
        entries = list(map(_fast, raws)) if _fast is not None else []
    except ValueError:
        entries = []
    if len(entries) != len(raws):  # some line is read by json, or none
        entries = [_parse(raw, path, number) for number, raw in enumerate(raws, first)]
    if set(map(type, entries)) != {dict}:
        bad = next(i for i, entry in enumerate(entries) if not isinstance(entry, dict))
        raise UsageError(f"{path}:{first + bad}: not a JSON object")
    columns = _fields(entries)
    again = {i for name in EXACT if float in set(map(type, columns[name]))
             for i, value in enumerate(columns[name]) if value.__class__ is float}
    if again:
        for i in again:
            entries[i] = decode(raws[i], path, first + i)
        columns = _fields(entries)
    columns["reason"], columns["source"] = list(map(str, columns["reason"])), list(map(str, columns["source"]))
    return columns


def _fields(entries: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """FIELDS as columns: None where absent, but `paragraph` _ABSENT (its presence counts)."""
    columns = {name: list(map(dict.get, entries, repeat(name))) for name in FIELDS if name != "paragraph"}
    columns["paragraph"] = list(map(dict.get, entries, repeat("paragraph"), repeat(_ABSENT)))
    return columns


def add_batch(state: Pass, raws: list[bytes], path: Path) -> None:
    """The lines `raws` (the next ones of the log) into the first pass `state`."""
    first, offsets = state.lines + 1, list(accumulate(map(len, raws), initial=state.offset))
    columns = _columns(raws, path, first)
    reasons, sims, sources = columns["reason"], columns["similarity"], columns["source"]
    hashes = list(map(xxhash.xxh64_intdigest, raws))
    state.by_reason.update(reasons)
    if state.folders:
        groups = {source: state.group(source) for source in dict.fromkeys(sources)}
        state.by_group.update(map(groups.__getitem__, sources))
    else:
        state.by_group.update(sources)
    _sample(state, reasons, sims, hashes, offsets, first)
    texts = [None if text is None else xxhash.xxh64_intdigest(text.encode("utf-8", "surrogatepass"))
             for text in columns["text"]]
    _heavy(state.texts, ((key, offset) for key, offset in zip(texts, offsets, strict=False) if key is not None))
    _heavy(state.sources, zip(sources, offsets, strict=False))
    _near(state, raws, path, columns, hashes, offsets, first)
    state.columns.write(_rows(state, columns, texts, offsets))
    state.lines, state.offset = state.lines + len(raws), offsets[-1]


def _sample(state: Pass, reasons: list[str], sims: list[Any], hashes: list[int], offsets: list[int],
            first: int) -> None:
    """Offer each line to its stratum's heap; only lines that can enter it go to Python."""
    pairs = list(zip(reasons, sims, strict=True))
    try:
        heaps = list(map(state.heaps.get, pairs))
    except TypeError:  # an unhashable similarity
        heaps = [None] * len(pairs)
    heaps = [heap or state.stratum(*pair) for heap, pair in zip(heaps, pairs, strict=True)]
    number = {id(heap): n for n, heap in enumerate(dict.fromkeys(heaps))}
    which = np.fromiter(map(number.__getitem__, map(id, heaps)), np.int64, len(heaps))
    order = np.argsort(which, kind="stable")  # each stratum's lines together, in file order
    keys = np.fromiter(hashes, np.uint64, len(hashes))[order]
    bounds = np.searchsorted(which[order], np.arange(len(number) + 1))
    for n, heap in enumerate(dict.fromkeys(heaps)):
        lines, below = order[bounds[n]:bounds[n + 1]], keys[bounds[n]:bounds[n + 1]]
        heap.seen += len(lines)
        if len(heap.heap) >= heap.k:
            lines = lines[below <= -heap.heap[0][0]]
        for i in lines.tolist():
            heap.offer(hashes[i], 0, (offsets[i], first + i))


def _near(state: Pass, raws: list[bytes], path: Path, columns: dict[str, list[Any]], hashes: list[int],
          offsets: list[int], first: int) -> None:
    """Pass.near for the near copies (see report_stream.is_near) among the batch's lines,
    with the lines' columns. A float similarity too large for orjson to tell from an
    integer is read again by json."""
    reasons, sims, paragraph = columns["reason"], columns["similarity"], columns["paragraph"]
    near = {reason for reason in set(reasons) if reason.startswith("near_")}
    skip = {reason for reason in set(reasons) if reason in ("boilerplate", "emptied")}
    bins, borderline = state.bins, state.borderline
    for i in [i for i, (s, reason) in enumerate(zip(sims, reasons, strict=True)) if s != 1.0 or reason in near]:
        s, reason = sims[i], reasons[i]
        if s.__class__ is float and not -1e18 < s < 1e18:
            entry = decode(raws[i], path, first + i)
            state.near(first + i, offsets[i], entry, entry.get("similarity"), hashes[i])
        elif isinstance(s, (int, float)) and reason not in skip and (s < 1.0 or reason in near):
            kind = "paragraph" if paragraph[i] is not _ABSENT else "document"
            bins[kind][min(int(s * 100 + 1e-9), 100)] += 1
            limit = state.threshold if kind == "paragraph" else state.doc_threshold
            if round(s - limit, 4) <= BORDER_MARGIN:
                borderline.add(s, hashes[i], (offsets[i], first + i))


def _heavy(hitters: Any, items: Iterable[tuple[int, int]]) -> None:
    """HeavyHitters.add for each (key, offset), the common case without the call."""
    counts, add = hitters.counts, hitters.add
    for key, offset in items:
        if key in counts:
            counts[key] += 1
        else:
            add(key, offset)


def _rows(state: Pass, columns: dict[str, list[Any]], texts: list[int | None], offsets: list[int]) -> np.ndarray:
    """The batch's keys for the second pass, in the order of report_columns.KEYS."""
    paragraph, sources = columns["paragraph"], columns["source"]
    whole = np.array([p is _ABSENT for p in paragraph], bool)
    numbered = np.array([isinstance(p, int) for p in paragraph], bool)
    counts = [1 if p is not _ABSENT else c if isinstance(c, int) else 0
              for p, c in zip(paragraph, columns["paragraphs"], strict=True)]
    for i in [i for i, count in enumerate(counts) if not -LARGE < count < LARGE]:
        state.columns.large[sources[i]] += counts[i]  # kept exact in Python, 0 in the column
        counts[i] = 0
    keys = {source: text_hash(source) for source in dict.fromkeys(sources)}
    source_keys = np.fromiter(map(keys.__getitem__, sources), np.uint64, len(sources))
    if state.folders:
        documents = np.where(numbered, source_keys, 0).astype(np.uint64)
    else:
        ids = np.fromiter(map(text_hash, map(str, columns["id"])), np.uint64, len(sources))
        documents = np.where(numbered, source_keys * MIX ^ ids, 0).astype(np.uint64)
    flags = (np.array([t is not None for t in texts]) * HAS_TEXT) | (whole * WHOLE) | (numbered * NUMBERED)
    return np.stack([np.array([t or 0 for t in texts], np.uint64), source_keys, documents,
                     np.array(offsets[:-1], np.uint64), np.array(counts, np.int64).view(np.uint64),
                     flags.astype(np.uint64)], axis=1)
