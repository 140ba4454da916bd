"""The numbers report.html shows, gathered from a run's state folder: report.json, the
removal log (parsed once, counted twice, see cleaner.run.report_stream), files.jsonl and rejects.jsonl."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
import gc
import json
from pathlib import Path
import re
from typing import Any

import pyarrow.parquet as pq

from cleaner.errors import UsageError
from cleaner.io.record_reader import file_format, open_jsonl
from cleaner.run.report_columns import Exact, second_pass
from cleaner.run.report_stream import SAMPLE_CAP, BottomK, Pass, read_at, read_json_lines

TOP = 20  # top repeated texts
TOP_SOURCES = 10  # sources that lost the most
LISTED = 200  # rejects and audited files listed by name


@dataclass
class Gathered:
    """Everything the page shows, exact counts and bounded lists (see the module docstring)."""

    report: dict[str, Any]
    folders: bool
    first: Pass
    sample: list[dict[str, Any]]
    borderline: list[dict[str, Any]]
    top_texts: list[dict[str, Any]]
    top_sources: list[dict[str, Any]]
    removed_in: dict[Any, list[int]]
    files: FilesAudit
    rejects: RejectsAudit
    kept_ids: set[str] = field(default_factory=set)  # record runs: the ids of the kept copies shown


@dataclass
class FilesAudit:
    """files.jsonl of a folder run: statuses, decode fallbacks, files that needed repair."""

    files: int = 0
    status: Counter = field(default_factory=Counter)
    fallback: Counter = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)  # encoding -> a few files
    repaired: int = 0
    listed: BottomK = field(default_factory=lambda: BottomK(LISTED))

    def add(self, entry: dict[str, Any]) -> None:
        self.files += 1
        self.status[str(entry.get("status"))] += 1
        source = str(entry.get("source"))
        if entry.get("fallback"):
            self.fallback[str(entry["fallback"])] += 1
        if entry.get("decoded_as"):
            names = self.examples.setdefault(str(entry["decoded_as"]), [])
            if len(names) < 5:
                names.append(source)
        replaced, fixes = entry.get("replacement_chars") or 0, entry.get("fixes") or []
        if replaced or fixes or entry.get("fallback"):
            self.repaired += 1
            self.listed.add(-(replaced * 1000 + min(len(fixes), 999)), self.files, entry)


@dataclass
class RejectsAudit:
    """rejects.jsonl: exact counts by reason and the first rejects by name."""

    count: int = 0
    by_reason: Counter = field(default_factory=Counter)
    listed: list[dict[str, Any]] = field(default_factory=list)

    def add(self, entry: dict[str, Any]) -> None:
        self.count += 1
        self.by_reason[str(entry.get("reason"))] += 1
        if len(self.listed) < LISTED:
            self.listed.append(entry)


def load_report(state_dir: Path) -> dict[str, Any]:
    path = state_dir / "report.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise UsageError(f"{path}: no readable report.json ({err}): is this a committed run's state folder?") from None


def gather(state_dir: Path, cap: int = SAMPLE_CAP) -> Gathered:
    """Read a state folder's report.json and logs; removed.jsonl is parsed once, counted
    again from the keys its first pass kept."""
    report = load_report(state_dir)
    config = report.get("config", {})
    folders = (state_dir / "files.jsonl").is_file()
    first = Pass(float(config.get("threshold", 1.0)), float(config.get("doc_threshold", 1.0)), cap, folders)
    log = state_dir / "removed.jsonl"
    try:
        _first_pass(log, first)
        sample = _fetch(log, first.sample())
        borderline = _fetch(log, first.borderline.smallest())
        refs = [e["duplicate_of"] for e in sample + borderline if isinstance(e.get("duplicate_of"), dict)]
        kept = {_document_key(ref, folders) for ref in refs if isinstance(ref.get("paragraph"), int)}
        exact = _exact(log, first, kept)
    finally:
        first.columns.close()
    kept_ids = set() if folders else {str(ref.get("id")) for ref in refs}
    return Gathered(report, folders, first, sample, borderline, _top_texts(log, first, exact),
                    _top_sources(exact), exact.removed_in, _files(state_dir), _rejects(state_dir), kept_ids)


def _first_pass(log: Path, first: Pass) -> None:
    """Every line of the removal log into `first`; the cyclic garbage collector is paused
    meanwhile (the lines' dicts hold no cycles, and it would scan them for nothing)."""
    if not log.is_file():
        return
    enabled = gc.isenabled()
    gc.disable()
    try:
        first.stream(log)
    finally:
        if enabled:
            gc.enable()


def _exact(log: Path, first: Pass, kept: set[Any]) -> Exact:
    """The second pass: candidates counted from the columns, the kept documents' removed
    paragraph numbers from their own lines, read again."""
    texts = None if first.texts.exact else first.texts.keys()
    exact, offsets = second_pass(first.columns, texts, first.sources.keys(), kept)
    if first.texts.exact:
        exact.texts = Counter(first.texts.counts)
    for entry in read_at(log, offsets).values() if offsets else ():
        source = str(entry.get("source"))
        if isinstance(entry.get("paragraph"), int):
            for key in (source, (source, str(entry.get("id")))):
                if key in exact.removed_in:
                    exact.removed_in[key].append(entry["paragraph"])
    return exact


def _document_key(ref: dict[str, Any], folders: bool) -> Any:
    """What names one document in the removal log: its file in a folder run; in a record
    run, where every record of a file shares the source, the source and the id."""
    return str(ref.get("source")) if folders else (str(ref.get("source")), str(ref.get("id")))


def kept_records(output_dir: Path, ids: set[str], config: dict[str, Any]) -> dict[str, str | None]:
    """The written text of the output records with these ids, read from the output shards
    (None for an id written more than once: which copy is meant cannot be told). A JSONL
    line is parsed only when one of the ids occurs in it; a Parquet shard reads two columns."""
    text_field, id_field = config.get("text_field", "text"), config.get("id_field", "id")
    found: dict[str, str | None] = {}
    if not ids:
        return found
    wanted = re.compile("|".join(re.escape(ident) for ident in sorted(ids, key=len, reverse=True)).encode())
    for shard in sorted(output_dir.glob("part-*")):
        if file_format(shard.name) == "parquet":
            rows = pq.read_table(shard, columns=[id_field, text_field]).to_pylist()
        elif file_format(shard.name) == "jsonl":
            with open_jsonl(shard) as lines:
                rows = [json.loads(line) for line in lines if wanted.search(line)]
        else:
            continue
        for row in rows:
            ident, text = row.get(id_field), row.get(text_field)
            if ident is not None and str(ident) in ids and isinstance(text, str):
                found[str(ident)] = None if str(ident) in found else text
    return found


def _fetch(log: Path, rows: list[tuple[int, int]]) -> list[dict[str, Any]]:
    """The log entries at these (offset, line number)s, each with its `_line` added."""
    entries = read_at(log, [offset for offset, _ in rows]) if rows else {}
    return [{**entries[offset], "_line": number} for offset, number in rows]


def _top_texts(log: Path, first: Pass, exact: Exact) -> list[dict[str, Any]]:
    ranked = sorted(exact.texts.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP]
    entries = read_at(log, [first.texts.first[key] for key, _ in ranked]) if ranked else {}
    return [{"text": entries[first.texts.first[key]]["text"], "count": count,
             "reason": entries[first.texts.first[key]].get("reason"),
             "documents": entries[first.texts.first[key]].get("documents")}
            for key, count in ranked if count > 1]


def _top_sources(exact: Exact) -> list[dict[str, Any]]:
    ranked = sorted(exact.sources.items(), key=lambda kv: (-kv[1][1], -kv[1][0], kv[0]))[:TOP_SOURCES]
    return [{"source": s, "lines": c[0], "paragraphs": c[1], "whole": bool(c[2])} for s, c in ranked if c[0]]


def _files(state_dir: Path) -> FilesAudit:
    audit = FilesAudit()
    for _, _, _, entry in read_json_lines(state_dir / "files.jsonl"):
        audit.add(entry)
    return audit


def _rejects(state_dir: Path) -> RejectsAudit:
    audit = RejectsAudit()
    for _, _, _, entry in read_json_lines(state_dir / "rejects.jsonl"):
        audit.add(entry)
    return audit
