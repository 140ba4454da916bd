"""Helpers of the report tests: real runs through the CLI, and report.html read back.

The page is read with html.parser (what a browser's DOM holds, not regexes over markup):
each number shown with its `data-key`, each side-by-side row with its reason and texts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
import json
from pathlib import Path

from click.testing import CliRunner

from cleaner.cli import main
from tests.helpers import write_tree

SCRIPT = '<script>alert("pwned")</script> This paragraph is repeated in two files of the test corpus.'
NEAR_A = ("The harbour board voted on Monday to extend the pier by forty metres, "
          "after a survey found the old timber supports had rotted through in places.")
NEAR_B = NEAR_A.replace("forty", "fifty")


def clean(src: Path, dst: Path, *options: str) -> Path:
    """Run `cleaner clean SRC DST`; return DST's state folder."""
    result = CliRunner().invoke(main, ["clean", str(src), str(dst), "-q", *options], catch_exceptions=False)
    assert result.exit_code in (0, 1), result.output  # 1: some inputs were rejected
    assert (dst / ".cleaner" / "_SUCCESS").is_file() or "--log-dir" in options
    return dst / ".cleaner"


def script_corpus(root: Path) -> Path:
    """Text files with a `<script>` paragraph in two of them (so one copy is removed), a near
    copy, a byline repeated across documents, and two inputs that are rejected."""
    byline = "Reporting by the harbour desk; editing by the night staff of the Coastal Gazette."
    return write_tree(root, {
        "news/a.txt": f"Pier extension approved\n\n{NEAR_A}\n\n{SCRIPT}\n\n{byline}\n",
        "news/b.txt": f"Council debates the pier\n\n{NEAR_B}\n\nResidents queued to speak for an hour.\n\n{byline}\n",
        "weather/c.txt": f"Storm warning for the coast tonight\n\n{SCRIPT}\n\n{byline}\n",
        "weather/empty.txt": "",
        "weather/blob.txt": b"\x00\x01\x02\x03 not text at all \x00\x00",
    })


@dataclass
class Row:
    reason: str
    band: str = ""
    removed: str = ""
    kept: str = ""
    notes: list[str] = field(default_factory=list)


class Page(HTMLParser):
    """The numbers (data-key -> data-value), removal rows and embedded JSON of a report."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.values: dict[str, str] = {}
        self.rows: list[Row] = []
        self.borderline: list[Row] = []
        self.data: dict | None = None
        self._stack: list[tuple[str, str]] = []  # (tag, class) of open elements
        self._section = ""
        self._json = ""
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "section":
            self._section = a.get("id") or ""
        if "data-key" in a:
            self.values[a["data-key"] or ""] = a.get("data-value") or ""
        if tag == "tr" and a.get("class") == "removal":
            row = Row(a.get("data-reason") or "", a.get("data-band") or "")
            (self.rows if self._section == "removals" else self.borderline).append(row)
        if tag not in ("br", "meta", "input", "line", "rect"):
            self._stack.append((tag, a.get("class") or a.get("id") or ""))

    def handle_endtag(self, tag: str) -> None:
        while self._stack:
            if self._stack.pop()[0] == tag:
                break
        if tag == "script" and self._json:
            self.data, self._json = json.loads(self._json), ""

    def handle_data(self, data: str) -> None:
        classes = [cls for _, cls in self._stack]
        if "report-data" in classes:
            self._json += data
            return
        rows = self.rows if self._section == "removals" else self.borderline
        if not rows or ("text" not in classes and "note" not in classes):
            return
        row = rows[-1]
        if "note" in classes:
            row.notes.append(data)
        elif "removed-side" in " ".join(classes):
            row.removed += data
        elif "kept-side" in " ".join(classes):
            row.kept += data


def read_page(state: Path) -> Page:
    return Page((state / "report.html").read_text(encoding="utf-8"))


def report_counts(report: dict) -> dict[str, int]:
    """The counts of report.json under the data-keys the page shows them with."""
    counts = {}
    for group in ("documents", "paragraphs", "bytes", "removed_by_reason", "rejected_by_reason",
                  "decoded_as", "fixes", "replacement_chars"):
        for name, value in report.get(group, {}).items():
            counts[f"{group}.{name}"] = value
    if not report["documents"].get("emptied"):
        counts.pop("documents.emptied", None)
    return counts
