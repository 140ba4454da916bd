"""The one chain builder: the stages every run, `Cleaner` and `clean_text` go through.

    read -> [executor: decode, limits, normalise, segment, fingerprint] -> reject policy
         -> admit (the sink's early checks) -> decide -> (write, report: the job's)

The per-document steps are pure, so an executor may map them anywhere, in any order, as
long as it yields documents back in input order; `decide` keeps the index and sees the
documents in input order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from functools import partial
from typing import Any

from cleaner.config import Config
from cleaner.dedup.documents import DocumentDeduplicator, count_boilerplate
from cleaner.dedup.fingerprint import Fingerprinter
from cleaner.dedup.windowed import windowed
from cleaner.errors import InputError
from cleaner.record import Document
from cleaner.run.executor import Executor, InProcess, Step
from cleaner.text.decode import decode_document
from cleaner.text.limits import check_limits
from cleaner.text.normalize import Normalizer
from cleaner.text.segment import segment_document

Stage = Callable[[Iterable[Document]], Iterator[Document]]


def compose(records: Iterable[Document], *stages: Stage) -> Iterator[Document]:
    """Chain `stages`, each taking the previous one's iterator."""
    stream: Iterable[Document] = records
    for stage in stages:
        stream = stage(stream)
    return iter(stream)


def document_steps(config: Config, keys_only: bool = False) -> list[Step]:
    """The per-document steps, in order: decode, the limits of text.limits, normalise,
    segment, fingerprint (paragraph keys only, for a boilerplate first pass)."""
    return [
        partial(decode_document, config=config),
        partial(check_limits, config=config),
        Normalizer(config),
        partial(segment_document, config=config),
        Fingerprinter(config, keys_only=keys_only),
    ]


def prepare(steps: list[Step]) -> Stage:
    """One stage applying every per-document step in this process, a chunk at a time."""
    return lambda docs: InProcess().map(steps, docs)


def reject_policy(config: Config) -> Stage:
    """With `on_error="fail"`, a stage that stops the run at the first rejected input,
    naming its file and line; with `skip`, rejected inputs pass on to be logged."""

    def stop_at_reject(docs: Iterable[Document]) -> Iterator[Document]:
        for doc in docs:
            if doc.reject is not None:
                raise InputError(doc.source, doc.reject.message, doc.reject.line)
            yield doc

    return stop_at_reject if config.on_error == "fail" else (lambda docs: iter(docs))


def _each(check: Callable[[Document], None]) -> Stage:
    def stage(docs: Iterable[Document]) -> Iterator[Document]:
        for doc in docs:
            check(doc)
            yield doc

    return stage


class Unwatched:
    """Stand-in for Accounts when nobody checks them: the watch points pass documents on."""

    @staticmethod
    def read(docs: Iterable[Document]) -> Iterator[Document]:
        return iter(docs)

    segmented = read


def build_chain(config: Config, executor: Executor, decide: Stage, accounts: Any = None, admit: Any = None,
                keys_only: bool = False) -> list[Stage]:
    """The stages from read documents to decided ones: the executor maps the steps, then
    the reject policy, the sink's early checks (`admit.admit(doc)`, if it has them), the
    accounts' watch points, and the ordered `decide` stage."""
    watch = accounts or Unwatched()
    steps = document_steps(config, keys_only=keys_only)
    stages: list[Stage] = [watch.read, lambda docs: executor.map(steps, docs), reject_policy(config)]
    if getattr(admit, "admit", None) is not None:
        stages.append(_each(admit.admit))
    return [*stages, watch.segmented, decide if keys_only else windowed(decide, config)]


def find_boilerplate(docs: Iterable[Document], config: Config, executor: Executor | None = None) -> dict[int, int]:
    """The first pass of --boilerplate-min-docs: paragraph keys found in enough documents.

    Prepares and document-deduplicates `docs` as the second pass will (paragraph keys
    only); reads the whole input once more, so it needs an input that can be read twice.
    """
    chain = build_chain(config, executor or InProcess(), DocumentDeduplicator(config), keys_only=True)
    return count_boilerplate(compose(docs, *chain), config)
