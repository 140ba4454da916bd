"""The decide stage followed by the sentence windows, as one ordered stage (`--unit sentence`).

A document the windows empty (every sentence a copy of kept text) is not a kept copy:
a later duplicate of it at the document level is opened again and goes through the
windows itself, so its removals name text that was written, as every removal must.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import xxhash

from cleaner.config import Config
from cleaner.dedup.windows import SentenceWindows
from cleaner.record import Document, Ref


def _key(source: str, doc_id: str) -> int:
    return xxhash.xxh64_intdigest(f"{source}\0{doc_id}".encode("utf-8", "surrogatepass"))


class Windowed:
    """The decide stage, then SentenceWindows, checkpointed as one (the job's "dedup")."""

    def __init__(self, decide: Any, windows: SentenceWindows) -> None:
        self.decide, self.windows = decide, windows
        self.emptied: set[int] = set()  # documents the windows emptied, by source and id

    def __call__(self, docs: Iterable[Document]) -> Iterator[Document]:
        for doc in self.decide(docs):
            if self._copies_emptied(doc):
                doc.removal = None  # its paragraphs were never judged: the windows judge them
            if doc.alive:
                self.windows.decide(doc)
                if not doc.kept_paragraphs:
                    self.emptied.add(_key(doc.source, doc.id))
            yield doc

    def _copies_emptied(self, doc: Document) -> bool:
        removal = doc.removal
        ref: Ref | None = removal.duplicate_of if removal is not None else None
        return removal is not None and removal.reason == "duplicate_document" and ref is not None \
            and _key(ref.source, ref.id) in self.emptied

    def snapshot(self) -> dict[str, Any]:
        return {**self.decide.snapshot(), "windows": self.windows.snapshot(), "emptied": sorted(self.emptied)}

    def restore(self, state: dict[str, Any]) -> None:
        self.decide.restore(state)
        self.windows.restore(state["windows"])
        self.emptied = set(state.get("emptied", ()))

    def __getattr__(self, name: str) -> Any:  # the decide stage's attributes (e.g. `boilerplate`)
        if name == "decide":  # not set yet (copy, unpickling): no recursion
            raise AttributeError(name)
        return getattr(self.decide, name)


def windowed(decide: Any, config: Config) -> Any:
    """`decide` with the sentence windows after it when `config.unit == "sentence"` (once)."""
    if config.unit != "sentence" or isinstance(decide, Windowed):
        return decide
    return Windowed(decide, SentenceWindows(config))


__all__ = ["Windowed", "windowed"]
