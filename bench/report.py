"""The benchmark's rows, and bench/RESULTS.md made from them."""

from __future__ import annotations

from dataclasses import dataclass, field
import os
from pathlib import Path

from corpora import Corpus
from measure import Measured
from scale_report import kept_section


@dataclass
class Row:
    corpus: str
    scale: int
    mb: float
    documents: int
    tool: str
    workers: int  # 0: cleaner's default, one per core
    scope: str
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    peak_mb: float = 0.0
    max_rss_mb: float = 0.0
    paragraphs_in: int = 0
    removed: int = 0
    removed_ids: set[str] = field(default_factory=set)
    note: str = ""

    @classmethod
    def of(cls, target: Corpus, tool: str, workers: int, scope: str, measured: Measured) -> Row:
        stats = measured.stats
        return cls(target.name, target.scale, target.mb, target.documents, tool, workers, scope,
                   measured.seconds, measured.cpu_seconds, measured.peak_mb, measured.max_rss_mb,
                   stats.get("paragraphs_in", 0), stats.get("paragraphs_removed", 0), set(stats.get("removed", ())))

    @classmethod
    def skipped(cls, target: Corpus, tool: str, workers: int, scope: str, why: list[str]) -> Row:
        return cls(target.name, target.scale, target.mb, target.documents, tool, workers, scope,
                   note="skipped: " + (" ".join(why) or "failed"))

    @property
    def ok(self) -> bool:
        return not self.note

    @property
    def label(self) -> str:
        if self.tool != "cleaner":
            return self.tool
        workers = f"--workers {self.workers}" if self.workers else f"all cores ({os.cpu_count()})"
        return f"cleaner, {workers}" + (", --scope document" if self.scope == "document" else "")

    def line(self) -> str:
        if not self.ok:
            return f"| {self.corpus} | x{self.scale} | {self.label} | {self.note} |"
        return (f"| {self.corpus} | x{self.scale} | {self.mb:.1f} | {self.label} | {self.seconds:.2f} | "
                f"{self.cpu_seconds:.2f} | {self.mb / self.seconds:.2f} | {self.documents / self.seconds:,.0f} | "
                f"{self.peak_mb:.0f} | "
                f"{self.max_rss_mb:.0f} | {self.paragraphs_in:,} | {self.removed:,} |")


RAY_TOOL = "cleaner, --executor ray (two local nodes x 1 CPU)"


def _find(rows: list[Row], corpus: str, scale: int, tool: str, workers: int = 0, scope: str = "corpus"):
    for row in rows:
        if (row.corpus, row.scale, row.tool, row.workers, row.scope, row.ok) == (corpus, scale, tool, workers,
                                                                                 scope, True):
            return row
    return None


def _ratios(rows: list[Row]) -> list[str]:
    lines = []
    for corpus, scale in dict.fromkeys((r.corpus, r.scale) for r in rows):
        main = _find(rows, corpus, scale, "cleaner")
        if main is None:
            continue
        parts = []
        for tool, workers in (("naive", 0), ("datatrove", 0), ("cleaner", 1), (RAY_TOOL, 0)):
            other = _find(rows, corpus, scale, tool, workers)
            if other is not None:
                name = {"cleaner": "cleaner --workers 1", RAY_TOOL: "--executor ray on two local nodes"}.get(tool, tool)
                parts.append(f"{name}: **{other.seconds / main.seconds:.1f}x** wall, "
                             f"{other.cpu_seconds / main.cpu_seconds:.1f}x CPU")
        if parts:
            lines.append(f"- {corpus} x{scale}, cleaner (all cores) against " + "; ".join(parts))
    return lines


def _dedup(rows: list[Row]) -> list[str]:
    lines = ["| corpus | scale | tool | paragraphs in | removed | also removed by cleaner | "
             "only this tool removed |", "|---|---|---|---|---|---|---|"]
    for row in rows:
        if row.ok and row.scope == "corpus" and row.workers == 0:
            main = _find(rows, row.corpus, row.scale, "cleaner")
            if row.tool == "cleaner":
                both, only = f"{row.removed:,}", "0"
            elif main is None:
                both = only = "n/a (no cleaner run)"
            else:
                shared = len(row.removed_ids & main.removed_ids)
                both, only = f"{shared:,}", f"{row.removed - shared:,}"
            lines.append(f"| {row.corpus} | x{row.scale} | {row.tool} | {row.paragraphs_in:,} | {row.removed:,} | "
                         f"{both} | {only} |")
    return lines


def _memory(rows: list[Row]) -> list[str]:
    lines = ["| corpus | scale | MB in | peak, --scope document (no index) | vs x1 | peak, --scope corpus | "
             "index (corpus - document) |", "|---|---|---|---|---|---|---|"]
    for row in rows:
        if row.ok and row.tool == "cleaner" and row.scope == "document" and row.workers == 0:
            base = _find(rows, row.corpus, 1, "cleaner", 0, "document")
            full = _find(rows, row.corpus, row.scale, "cleaner")
            growth = f"{row.peak_mb / base.peak_mb:.2f}x" if base else "?"
            corpus_peak = f"{full.peak_mb:.0f} MB | {full.peak_mb - row.peak_mb:.0f} MB" if full else "? | ?"
            lines.append(f"| {row.corpus} | x{row.scale} | {row.mb:.1f} | {row.peak_mb:.0f} MB | {growth} | "
                         f"{corpus_peak} |")
    return lines


def write_results(rows: list[Row], info: dict, path: Path) -> str:
    machine = info["machine"]
    versions = lambda found: ", ".join(f"{k} {v}" for k, v in found.items()) or "?"  # noqa: E731
    text = "\n".join([
        "# Benchmark results",
        "",
        f"Written by `{info['command']}` (`make bench`). Machine: {machine['cpu']}, {machine['cores']} cores, "
        f"{machine['os']}, Python {machine['python']}. Load average before: {machine['load']}; after: "
        f"{info['load after']} (other jobs on the machine make every time here noisy).",
        "",
        f"- cleaner venv: {versions(info['cleaner'])}",
        f"- anchor venv: {versions(info['anchors'])}",
        "",
        "MB: input text. peak: largest sum of proportional set size over the tool's process tree, sampled every "
        "50 ms; max RSS: largest resident set of any one of its processes. Seconds are wall time, process start "
        "to exit, including imports. MB/s and docs/s are per wall second.",
        "",
        "## Speed",
        "",
        "| corpus | scale | MB | tool | seconds | CPU s | MB/s | docs/s | peak MB | max RSS MB | paragraphs in "
        "| removed |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
        *(row.line() for row in rows),
        "",
        "## Ratios (the other tool's time / cleaner's)",
        "",
        "Wall time is what the targets are about; CPU time (user + system over the whole process tree) is "
        "what survives other jobs on a shared machine: with more runnable processes than cores, wall time "
        "measures the neighbours as much as the tool.",
        "",
        *(_ratios(rows) or ["- (no pair to compare)"]),
        "",
        "## Dedup results side by side",
        "",
        "Paragraph ids are `source#index` after splitting at blank lines. cleaner verifies every near "
        "duplicate on its real shingle sets and keeps the first copy; the naive script decides on a MinHash "
        "estimate and keeps the first copy; datatrove decides on bucket collisions alone and keeps one member "
        "of each cluster, not always the first, so its removals match cleaner's copy for copy less often even "
        "where both found the same group.",
        "",
        *_dedup(rows),
        "",
        "## Memory as the corpus grows",
        "",
        *_memory(rows),
        "",
    ])
    scale = kept_section(path)  # bench/scale.py's section, rewritten only by bench/scale.py
    path.write_text(text + ("\n" + scale if scale else ""), encoding="utf-8")
    return text
