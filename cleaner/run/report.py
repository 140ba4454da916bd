"""Counters over a run, the report.json they become, and the short human summary."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
import json
from pathlib import Path
import textwrap
import time
from typing import Any

from cleaner.errors import UsageError
from cleaner.record import Document


@dataclass
class Report:
    """Stage that counts what passes: documents and paragraphs in and out, and why."""

    documents_in: int = 0
    documents_out: int = 0
    documents_rejected: int = 0
    documents_removed: int = 0
    documents_emptied: int = 0
    paragraphs_in: int = 0
    paragraphs_out: int = 0
    paragraphs_in_removed_documents: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    removed: Counter = field(default_factory=Counter)
    rejected: Counter = field(default_factory=Counter)
    fixes: Counter = field(default_factory=Counter)
    decoded_as: Counter = field(default_factory=Counter)
    fallback: Counter = field(default_factory=Counter)
    replacement_chars: int = 0
    documents_with_replacements: int = 0
    spans_cut: int = 0  # --unit sentence: copied spans cut from paragraphs that stay
    characters_cut: int = 0
    capped_lookups: int = 0  # dedup lookups whose verification budget left candidates out
    started: float = field(default_factory=time.monotonic)
    seconds: float = 0.0

    def __call__(self, docs: Iterable[Document]) -> Iterator[Document]:
        for doc in docs:
            self.count(doc)
            yield doc

    def count(self, doc: Document) -> None:
        self.documents_in += 1
        self.bytes_in += doc.bytes_in
        self.paragraphs_in += len(doc.paragraphs)
        self.fixes.update(doc.audit.get("fixes", ()))
        if "decoded_as" in doc.audit:
            self.decoded_as[doc.audit["decoded_as"]] += 1
        if doc.audit.get("fallback"):
            self.fallback[doc.audit["fallback"]] += 1
        if doc.audit.get("replacement_chars"):
            self.replacement_chars += doc.audit["replacement_chars"]
            self.documents_with_replacements += 1
        self.capped_lookups += doc.audit.get("capped_lookups", 0)
        if doc.reject is not None:
            self.documents_rejected += 1
            self.rejected[doc.reject.reason] += 1
        elif doc.removal is not None:
            self.documents_removed += 1
            self.removed[doc.removal.reason] += 1
            self.paragraphs_in_removed_documents += len(doc.paragraphs)
        else:
            kept = doc.kept_paragraphs  # once: the size below is of these too
            if len(kept) < len(doc.paragraphs):
                self.removed.update(p.removal.reason for p in doc.paragraphs if p.removal)
            self.paragraphs_out += len(kept)
            for paragraph in kept:
                if paragraph.cuts:
                    self.spans_cut += len(paragraph.cuts)
                    self.characters_cut += sum(cut.end - cut.start for cut in paragraph.cuts)
            if kept:
                self.documents_out += 1
                self.bytes_out += doc.cleaned_size(kept)
            else:
                self.documents_emptied += 1

    @property
    def paragraphs_removed(self) -> int:
        return sum(n for reason, n in self.removed.items() if not reason.endswith("document"))

    @classmethod
    def from_counts(cls, counts: dict[str, Any]) -> Report:
        """The report whose `as_dict()` gave `counts` (as `_SUCCESS` holds them), without timing."""
        report = cls()
        docs, paras = counts.get("documents", {}), counts.get("paragraphs", {})
        for name in ("in", "out", "rejected", "removed", "emptied"):
            setattr(report, f"documents_{name}", docs.get(name, 0))
        report.paragraphs_in, report.paragraphs_out = paras.get("in", 0), paras.get("out", 0)
        report.paragraphs_in_removed_documents = paras.get("in_removed_documents", 0)
        sizes, replaced = counts.get("bytes", {}), counts.get("replacement_chars", {})
        report.bytes_in, report.bytes_out = sizes.get("in", 0), sizes.get("out", 0)
        report.replacement_chars = replaced.get("count", 0)
        report.documents_with_replacements = replaced.get("documents", 0)
        report.capped_lookups = counts.get("capped_lookups", 0)
        cut = counts.get("spans_cut", {})
        report.spans_cut, report.characters_cut = cut.get("count", 0), cut.get("characters", 0)
        for field_name, key in (("removed", "removed_by_reason"), ("rejected", "rejected_by_reason"),
                                ("fixes", "fixes"), ("decoded_as", "decoded_as"), ("fallback", "decode_fallback")):
            getattr(report, field_name).update(counts.get(key, {}))
        return report.finish()

    def finish(self) -> Report:
        self.seconds = time.monotonic() - self.started
        return self

    def as_dict(self) -> dict[str, Any]:
        return {
            "documents": {"in": self.documents_in, "out": self.documents_out,
                          "rejected": self.documents_rejected, "removed": self.documents_removed,
                          "emptied": self.documents_emptied},
            "paragraphs": {"in": self.paragraphs_in, "out": self.paragraphs_out,
                           "removed": self.paragraphs_removed,
                           "in_removed_documents": self.paragraphs_in_removed_documents},
            "bytes": {"in": self.bytes_in, "out": self.bytes_out},
            "removed_by_reason": dict(sorted(self.removed.items())),
            "rejected_by_reason": dict(sorted(self.rejected.items())),
            "fixes": dict(sorted(self.fixes.items())),
            "decoded_as": dict(sorted(self.decoded_as.items())),
            "decode_fallback": dict(sorted(self.fallback.items())),
            "replacement_chars": {"count": self.replacement_chars,
                                  "documents": self.documents_with_replacements},
            "capped_lookups": self.capped_lookups,
            **({"spans_cut": {"count": self.spans_cut, "characters": self.characters_cut}} if self.spans_cut else {}),
            "seconds": round(self.seconds, 3),
        }

    def summary(self) -> str:
        """A few lines for a person at the terminal."""
        mb = self.bytes_in / 1e6
        rate = mb / self.seconds if self.seconds else 0.0
        lines = [
            f"{self.documents_in} documents in, {self.documents_out} written, "
            f"{self.documents_removed} removed as duplicates, {self.documents_rejected} rejected"
            + (f", {self.documents_emptied} emptied (every paragraph removed)" if self.documents_emptied else ""),
            f"{self.paragraphs_in} paragraphs in, {self.paragraphs_out} kept, "
            f"{self.paragraphs_removed} removed"
            + (f" (+{self.paragraphs_in_removed_documents} in removed documents)"
               if self.paragraphs_in_removed_documents else ""),
            f"{mb:.2f} MB in {self.seconds:.2f}s ({rate:.2f} MB/s)",
        ]
        if set(self.decoded_as) - {"utf-8"} or self.replacement_chars:
            line = "decoded as: " + ", ".join(f"{k} {v}" for k, v in sorted(self.decoded_as.items()))
            if self.fallback.get("lines"):
                line += f" ({self.fallback['lines']} with stray bytes read line by line)"
            if self.replacement_chars:
                line += f"; {self.replacement_chars} undecodable bytes became U+FFFD"
            lines.append(line)
        if self.spans_cut:
            lines.append(f"{self.spans_cut} copied sentence runs cut from kept paragraphs "
                         f"({self.characters_cut} characters)")
        if self.capped_lookups:
            lines.append(f"{self.capped_lookups} dedup lookups verified only their best candidates "
                         "(see README: Bounded work on templated text)")
        reasons = {**self.removed, **{f"rejected: {k}": v for k, v in self.rejected.items()}}
        if reasons:
            lines.append("by reason: " + ", ".join(f"{k} {v}" for k, v in sorted(reasons.items())))
        return "\n".join(lines)


def describe_removals(log: Path, reason: str | None = None, width: int = 70) -> Iterator[str]:
    """One readable line per entry of a `removed.jsonl`: what went, why, and the kept copy.

    `reason` keeps only entries with that reason; `width` shortens the quoted text.
    Raises UsageError, naming the file and line, for a missing log or a line that is not JSON.
    """
    try:
        lines = log.open(encoding="utf-8")
    except OSError as err:
        raise UsageError(f"{log}: cannot read the removal log ({err.strerror or err})") from None
    with lines:
        for number, line in enumerate(lines, 1):
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                raise UsageError(f"{log}:{number}: not a removal-log line") from None
            if reason is None or entry.get("reason") == reason:
                yield _describe(entry, width)


def _where(entry: dict[str, Any] | None) -> str:
    if not entry:
        return "(no copy kept)"
    name = entry.get("source") if entry.get("source") not in (None, "<stdin>") else entry.get("id")
    return f"{name}#{entry['paragraph']}" if entry.get("paragraph") is not None else f"{name}"


def _describe(entry: dict[str, Any], width: int) -> str:
    similarity = entry.get("similarity")
    score = f" ({similarity:.2f})" if isinstance(similarity, float) and similarity < 1.0 else ""
    target = _where(entry.get("duplicate_of"))
    if entry.get("reason") == "boilerplate":
        target = f"boilerplate in {entry.get('documents')} documents"
    text = entry.get("text")
    quoted = "" if text is None else "  " + _shortened(json.dumps(text, ensure_ascii=False), width)
    return f"{entry.get('reason')}: {_where(entry)} -> {target}{score}{quoted}"


def _shortened(text: str, width: int) -> str:
    """`text` in at most about `width` characters, cut at a space where it has spaces (a
    script written without them, such as Chinese, is cut between characters)."""
    short = textwrap.shorten(text, width)
    if short == "[...]" and len(text) > width:
        return text[:width - 6] + " [...]"
    return short
