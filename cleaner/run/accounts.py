"""Nothing lost, checked: every document and paragraph seen ends kept, removed, rejected or empty.

`Accounts` watches the stream at three points, independently of the report:
- `read`: after the reader, each document counts as seen;
- `segmented`: before the decide stage, how many paragraphs each document has;
- `settled`: after the writer, where each document and paragraph ended.

Per document, the paragraphs counted before `decide` must equal kept + removed + rejected
after it; per run, documents seen must equal kept + removed + rejected + empty, and the
logs must hold one line per rejected document, per removed paragraph or document, per span cut
from a kept paragraph (`--unit sentence`), and per
document seen. Any mismatch raises AccountingError, so such a run is never declared complete.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from cleaner.errors import AccountingError
from cleaner.record import Document

DOCUMENT_FATES = ("kept", "removed", "rejected", "empty")
PARAGRAPH_FATES = ("kept", "removed", "rejected")


class Accounts:
    """Counts of documents and paragraphs by fate; picklable for checkpoints."""

    def __init__(self) -> None:
        self.documents: Counter = Counter()
        self.paragraphs: Counter = Counter()
        self.removal_lines = 0
        self._read = 0
        self._order: dict[int, int] = {}
        self._pending: dict[int, int] = {}

    def __getstate__(self) -> dict[str, Any]:
        # Documents read ahead but not yet settled are redone after a resume: forget them.
        return {**self.__dict__, "_read": self.documents["seen"], "_order": {}, "_pending": {}}

    def read(self, docs: Iterable[Document]) -> Iterator[Document]:
        for doc in docs:
            self._order[id(doc)] = self._read
            self._read += 1
            yield doc

    def segmented(self, docs: Iterable[Document]) -> Iterator[Document]:
        for doc in docs:
            self._pending[id(doc)] = len(doc.paragraphs)
            yield doc

    def settled(self, docs: Iterable[Document]) -> Iterator[Document]:
        for doc in docs:
            self.settle(doc)
            yield doc

    def settle(self, doc: Document) -> None:
        """Count where `doc` and its paragraphs ended; fail if a paragraph went missing."""
        order, seen = self._order.pop(id(doc), None), self._pending.pop(id(doc), None)
        if order != self.documents["seen"] or seen is None:
            raise AccountingError(f"{doc.source}: reached the end out of input order or without being "
                                  f"decided (document {self.documents['seen']} of the input went missing)")
        self.documents["seen"] += 1
        total = len(doc.paragraphs)
        if doc.reject is not None:
            fates = {"rejected": total}
            self.documents["rejected"] += 1
        elif doc.removal is not None:
            fates = {"removed": total}
            self.documents["removed"] += 1
            self.removal_lines += 1
        else:
            kept = sum(p.removal is None for p in doc.paragraphs)
            fates = {"kept": kept, "removed": total - kept}
            self.documents["kept" if kept else "empty"] += 1
            self.removal_lines += total - kept + (not kept)  # an emptied document's own line
            self.removal_lines += sum(len(p.cuts) for p in doc.paragraphs if p.removal is None)  # spans cut
        if seen != sum(fates.values()):
            raise AccountingError(f"{doc.source}: {seen} paragraphs segmented, but {total} decided "
                                  f"({', '.join(f'{k} {v}' for k, v in fates.items())})")
        self.paragraphs["seen"] += seen
        self.paragraphs.update(fates)

    def check(self, logged: Callable[[str], int | None]) -> None:
        """Raise AccountingError unless the totals add up and match the log line counts
        (`logged(name)` is None for a log the run does not write, e.g. files.jsonl of records)."""
        docs, paras = self.documents, self.paragraphs
        problems = []
        if docs["seen"] != sum(docs[f] for f in DOCUMENT_FATES):
            problems.append(f"documents seen {docs['seen']} != "
                            + " + ".join(f"{f} {docs[f]}" for f in DOCUMENT_FATES))
        if paras["seen"] != sum(paras[f] for f in PARAGRAPH_FATES):
            problems.append(f"paragraphs seen {paras['seen']} != "
                            + " + ".join(f"{f} {paras[f]}" for f in PARAGRAPH_FATES))
        for log, expected in (("files.jsonl", docs["seen"]), ("rejects.jsonl", docs["rejected"]),
                              ("removed.jsonl", self.removal_lines)):
            lines = logged(log)
            if lines is not None and lines != expected:
                problems.append(f"{log} holds {lines} lines, expected {expected}")
        if self._read != docs["seen"]:
            problems.append(f"{self._read - docs['seen']} documents read but never written")
        if problems:
            raise AccountingError("accounts do not add up: " + "; ".join(problems))

    def as_dict(self) -> dict[str, dict[str, int]]:
        return {
            "documents": {f: self.documents[f] for f in ("seen", *DOCUMENT_FATES)},
            "paragraphs": {f: self.paragraphs[f] for f in ("seen", *PARAGRAPH_FATES)},
        }
