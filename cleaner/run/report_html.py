"""report.html: what a run removed and why, for a person to read, in one self-contained file.

`write_report_html` reads a committed run's state folder (report.json and the logs, see
cleaner.run.report_data), finds the kept copy of each shown removal in the output folder,
highlights the words that differ, and renders cleaner/templates/report.html.j2 with Jinja2
(autoescaped: corpus text is always shown as text). No timestamp, no randomness: two renders
of one run are byte-identical.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from markupsafe import Markup, escape

from cleaner.io.atomic import write_atomic
from cleaner.run.report_data import Gathered, gather, kept_records
from cleaner.run.report_stream import BORDER_MARGIN, SAMPLE_CAP, band, level
from cleaner.run.report_svg import bar_list, similarity_histogram

STATE_DIR = ".cleaner"
MAX_WORDS = 400  # words of each side shown in a side-by-side row
TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def write_report_html(state_dir: Path, output_dir: Path | None = None, cap: int = SAMPLE_CAP) -> Path:
    """Render `state_dir/report.html` atomically from the run's report.json and logs.

    `output_dir` is the cleaned output, where kept copies are read from and linked to; it
    defaults to the parent of a `.cleaner` state folder (None for a --log-dir: kept copies
    are then "not available"). `cap` bounds the side-by-side rows. Returns the path written.
    """
    state_dir = Path(state_dir)
    if output_dir is None and state_dir.name == STATE_DIR:
        output_dir = state_dir.parent
    data = gather(state_dir, cap)
    kept = KeptCopies(output_dir, state_dir, data)
    html = _environment().get_template("report.html.j2").render(**context(data, kept, output_dir))
    path = state_dir / "report.html"
    write_atomic(path, html.encode("utf-8", "backslashreplace"))  # a non-UTF-8 file name shows as \udcxx
    return path


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                             keep_trailing_newline=True)
    env.filters["n"] = lambda value: f"{value:,}" if isinstance(value, int) else value
    env.filters["size"] = _size
    env.filters["pct"] = lambda part, whole: f"{100 * part / whole:.1f}%" if whole else "–"
    return env


def _size(count: int) -> str:
    """A byte count for people: 5.0 MB."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return f"{count} bytes"


class KeptCopies:
    """The kept paragraphs of output files, found by their number in the input.

    The output holds only kept paragraphs, so input paragraph p of a document is output
    paragraph p minus the number of that document's paragraphs removed before p (the
    removal log names them). Files are read once each, only for the rows shown."""

    def __init__(self, output_dir: Path | None, state_dir: Path, data: Gathered) -> None:
        self.output_dir = output_dir if data.folders else None
        self.records_dir = output_dir if not data.folders else None
        self.state_dir = state_dir
        self.removed_in = data.removed_in
        self.config = data.report.get("config", {})
        self.separator = "\n" if self.config.get("paragraphs") == "line" else "\n\n"
        self.kept_ids = data.kept_ids
        self._cache: dict[str, list[str] | None] = {}
        self._records: dict[str, str | None] | None = None

    def paragraphs(self, source: str, ident: str | None = None) -> list[str] | None:
        """The kept paragraphs of an output file (or, in a record run, of the output record
        `ident`), or None when they cannot be read."""
        if self.records_dir is not None:
            return self._record(ident)
        if source not in self._cache:
            self._cache[source] = None
            path = self.path(source)
            if path is not None:
                text = path.read_text(encoding="utf-8", errors="surrogateescape").rstrip("\n")
                self._cache[source] = text.split(self.separator) if text else []
        return self._cache[source]

    def _record(self, ident: str | None) -> list[str] | None:
        if self._records is None:
            self._records = kept_records(self.records_dir, self.kept_ids, self.config) if self.records_dir else {}
        text = self._records.get(str(ident))
        return None if text is None else text.rstrip("\n").split(self.separator)

    def paragraph(self, source: str, index: int, ident: str | None = None) -> str | None:
        kept = self.paragraphs(source, ident)
        if kept is None:
            return None
        key = source if self.records_dir is None else (source, str(ident))
        position = index - sum(1 for removed in self.removed_in.get(key, ()) if removed < index)
        return kept[position] if 0 <= position < len(kept) else None

    def path(self, source: str) -> Path | None:
        """The output file of `source` if there is one (and it stays inside the output)."""
        if self.output_dir is None or source.startswith("/") or ".." in Path(source).parts:
            return None
        path = self.output_dir / source
        return path if path.is_file() else None

    def href(self, source: str) -> str | None:
        """A link relative to report.html, so the folder can be moved or zipped whole; a
        file name that is not UTF-8 is linked by its bytes."""
        path = self.path(source)
        return None if path is None else quote(os.fsencode(os.path.relpath(path, self.state_dir)))


def word_diff(removed: str, kept: str) -> tuple[list[tuple[str, bool]], list[tuple[str, bool]]]:
    """Both texts as (words, differs) runs: difflib on words, what changed marked."""
    a, b = removed.split()[:MAX_WORDS], kept.split()[:MAX_WORDS]
    left: list[tuple[str, bool]] = []
    right: list[tuple[str, bool]] = []
    # The same words (an exact copy): difflib's one "equal" block, without difflib.
    opcodes = [("equal", 0, len(a), 0, len(b))] if a == b and a else [] if a == b else \
        difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
    for tag, i1, i2, j1, j2 in opcodes:
        if i2 > i1:
            left.append((" ".join(a[i1:i2]), tag != "equal"))
        if j2 > j1:
            right.append((" ".join(b[j1:j2]), tag != "equal"))
    if len(removed.split()) > MAX_WORDS:
        left.append(("…", False))
    if len(kept.split()) > MAX_WORDS:
        right.append(("…", False))
    return left, right


def runs_html(parts: list[tuple[str, bool]], cls: str) -> Markup:
    """A side's runs as the page shows them, escaped as the template would, the changed ones
    marked: made here, not by a template loop, as a page holds thousands of rows."""
    return Markup(" ".join(f'<mark class="{cls}">{escape(text)}</mark>' if differs else str(escape(text))
                           for text, differs in parts))


def row(entry: dict[str, Any], kept: KeptCopies) -> dict[str, Any]:
    """One side-by-side row: the removal, the kept copy it duplicated, what differs."""
    source, ref = str(entry.get("source")), entry.get("duplicate_of") or {}
    kept_source = str(ref.get("source")) if ref else None
    kept_text = None
    if kept_source is not None and isinstance(ref.get("paragraph"), int):
        kept_text = kept.paragraph(kept_source, ref["paragraph"], ref.get("id"))
    elif kept_source is not None:
        paragraphs = kept.paragraphs(kept_source, ref.get("id"))
        kept_text = None if paragraphs is None else _excerpt(paragraphs)
    text = entry.get("text")
    if text is not None and kept_text is not None:
        removed_runs, kept_runs = word_diff(text, kept_text)
    else:
        removed_runs = [(text, False)] if text is not None else []
        kept_runs = [(kept_text, False)] if kept_text is not None else []
    return {
        "reason": entry.get("reason"), "similarity": entry.get("similarity"),
        "estimated": entry.get("estimated_similarity"), "band": band(entry.get("similarity")),
        "line": entry.get("_line"), "level": level(entry), "source": source, "id": entry.get("id"),
        "where": _where(entry), "href": kept.href(source), "paragraphs": entry.get("paragraphs"),
        "documents": entry.get("documents"), "removed": removed_runs, "kept": kept_runs,
        "removed_html": runs_html(removed_runs, "del"), "kept_html": runs_html(kept_runs, "ins"),
        "kept_where": _where(ref) if ref else None, "kept_href": kept.href(kept_source) if kept_source else None,
    }


def _excerpt(paragraphs: list[str], limit: int = 1200) -> str:
    """The start of a kept document, its paragraph breaks kept, about `limit` characters."""
    text = "\n\n".join(paragraphs)
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + " …"


def _where(ref: dict[str, Any]) -> str:
    """source (or id for records and stdin), and the paragraph or line when known."""
    name = ref.get("source") if ref.get("source") not in (None, "<stdin>") else ref.get("id")
    if ref.get("source") not in (None, "<stdin>") and ref.get("id") not in (None, ref.get("source")):
        name = f"{name} · {ref.get('id')}"
    if isinstance(ref.get("paragraph"), int):
        return f"{name} ¶{ref['paragraph']}"
    return f"{name} line {ref['line']}" if isinstance(ref.get("line"), int) else str(name)


def context(data: Gathered, kept: KeptCopies, output_dir: Path | None) -> dict[str, Any]:
    """Everything the template needs, numbers exact, lists bounded (see report_data)."""
    report, first = with_defaults(data.report), data.first
    config = report.get("config", {})
    rows = sorted((row(e, kept) for e in data.sample), key=_order)
    near = {lvl: sum(bins.values()) for lvl, bins in first.bins.items()}
    groups = sorted(first.by_group.items(), key=lambda kv: (-kv[1], kv[0]))
    shown_groups = groups[:15] + ([("(other)", sum(n for _, n in groups[15:]))] if len(groups) > 15 else [])
    title = "run"  # not the output folder's name: the same run renders the same bytes wherever it was written
    return {
        "title": title, "report": report, "config": config,
        "folders": data.folders, "first": first, "reasons": sorted(first.by_reason.items(), key=lambda kv: -kv[1]),
        "rows": rows, "row_reasons": sorted({r["reason"] for r in rows}), "cap": first.cap,
        "borderline": [row(e, kept) for e in data.borderline], "margin": BORDER_MARGIN,
        "borderline_count": first.borderline.seen, "near": near,
        "histograms": {
            "paragraph": similarity_histogram(first.bins["paragraph"], float(config.get("threshold", 1.0)),
                                              "near-duplicate paragraphs") if near["paragraph"] else None,
            "document": similarity_histogram(first.bins["document"], float(config.get("doc_threshold", 1.0)),
                                             "near-duplicate documents") if near["document"] else None,
        },
        "groups": bar_list(shown_groups, first.lines, "Removals per source") if groups else None,
        "group_count": len(groups), "top_sources": data.top_sources, "top_texts": data.top_texts,
        "files": data.files, "files_listed": data.files.listed.smallest(), "rejects": data.rejects,
        "summary_json": _summary(title, report, first),
    }


REASON_ORDER = ("near_duplicate", "near_repeat", "duplicate_document", "exact_duplicate", "exact_repeat", "boilerplate")


COUNTED = {"documents": ("in", "out", "removed", "rejected", "emptied"),
           "paragraphs": ("in", "out", "removed", "in_removed_documents"), "bytes": ("in", "out"),
           "replacement_chars": ("count", "documents")}


def with_defaults(report: dict[str, Any]) -> dict[str, Any]:
    """report.json with every count the page shows present (0 when a run did not count it),
    so a report from an older or partial run still renders."""
    filled = {key: report.get(key) or {} for key in ("removed_by_reason", "rejected_by_reason", "fixes",
                                                     "decoded_as", "decode_fallback", "config")}
    for group, names in COUNTED.items():
        filled[group] = {**{name: 0 for name in names}, **(report.get(group) or {})}
    return {**report, **filled}


def _order(r: dict[str, Any]) -> tuple:
    """Near copies first (what a reviewer checks), then exact ones; least similar first."""
    reason = str(r["reason"])
    rank = REASON_ORDER.index(reason) if reason in REASON_ORDER else len(REASON_ORDER)
    similarity = r["similarity"] if isinstance(r["similarity"], (int, float)) else 2.0
    return (rank, reason, similarity, r["where"], r["line"] or 0)


def _summary(title: str, report: dict[str, Any], first: Any) -> dict[str, Any]:
    """Machine-readable numbers embedded in the page (JSON, escaped by Jinja's tojson)."""
    return {"output": title, "documents": report.get("documents", {}), "paragraphs": report.get("paragraphs", {}),
            "removed_by_reason": dict(sorted(first.by_reason.items())),
            "rejected_by_reason": report.get("rejected_by_reason", {}), "removal_lines": first.lines}

