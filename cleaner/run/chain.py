"""The default chain of stages, and the runs built from it.

    read -> decode -> normalise -> segment -> fingerprint -> decide -> write -> report

The first five work on one document at a time and are pure, so they can be mapped over
documents in any order or in other processes; `decide` keeps the index and must see the
documents in input order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import partial
from pathlib import Path

from cleaner.config import Config
from cleaner.dedup.decide import Deduplicator, DocumentDeduplicator, count_boilerplate
from cleaner.dedup.fingerprint import Fingerprinter
from cleaner.errors import InputError
from cleaner.io.folder_reader import read_folder
from cleaner.io.folder_writer import FolderWriter
from cleaner.record import Document
from cleaner.run.accounts import Accounts
from cleaner.run.checkpoint import FolderRun
from cleaner.run.processes import prepare_here, prepare_in_parallel
from cleaner.run.report import Report
from cleaner.text.decode import decode_document
from cleaner.text.limits import check_limits
from cleaner.text.normalize import Normalizer
from cleaner.text.segment import segment_document

Stage = Callable[[Iterable[Document]], Iterator[Document]]
Step = Callable[[Document], Document]


def compose(records: Iterable[Document], *stages: Stage) -> Iterator[Document]:
    """Chain `stages`, each taking the previous one's iterator."""
    stream: Iterable[Document] = records
    for stage in stages:
        stream = stage(stream)
    return iter(stream)


def document_steps(config: Config, keys_only: bool = False) -> list[Step]:
    """The per-document steps, in order: decode, the limits of guards.check_limits,
    normalise, segment, fingerprint (paragraph keys only, for a boilerplate first pass)."""
    return [
        partial(decode_document, config=config),
        partial(check_limits, config=config),
        Normalizer(config),
        partial(segment_document, config=config),
        Fingerprinter(config, keys_only=keys_only),
    ]


def prepare(steps: list[Step]) -> Stage:
    """One stage applying every per-document step to the documents in this process, a
    chunk at a time (as a worker does: see cleaner.parallel)."""
    return prepare_here(steps)


def reject_policy(config: Config) -> Stage:
    """With `on_error="fail"`, a stage that stops the run at the first rejected input,
    naming its file and line; with `skip`, rejected inputs pass on to be logged."""

    def stop_at_reject(docs: Iterable[Document]) -> Iterator[Document]:
        for doc in docs:
            if doc.reject is not None:
                raise InputError(doc.source, doc.reject.message, doc.reject.line)
            yield doc

    return stop_at_reject if config.on_error == "fail" else (lambda docs: iter(docs))


def clean_documents(
    docs: Iterable[Document], config: Config, boilerplate: Mapping[int, int] | None = None
) -> Iterator[Document]:
    """Decode, repair, segment and deduplicate documents; every one comes out, decided.

    With `config.boilerplate_min_docs`, pass `boilerplate=find_boilerplate(same_docs)`:
    the counts need a first pass over the same input.
    """
    return compose(docs, prepare(document_steps(config)), Deduplicator(config, boilerplate))


def find_boilerplate(docs: Iterable[Document], config: Config) -> dict[int, int]:
    """The first pass of --boilerplate-min-docs: paragraph keys found in enough documents.

    Prepares and document-deduplicates `docs` as the second pass will (paragraph keys
    only); reads the whole input once more, so it needs an input that can be read twice.
    """
    steps = document_steps(config, keys_only=True)
    return count_boilerplate(compose(docs, prepare(steps), reject_policy(config), DocumentDeduplicator(config)), config)


def clean_text(text: str, config: Config | None = None) -> str:
    """Clean one document's text: repair, normalise, drop repeated paragraphs.

    Returns the text as `clean` would write it (paragraphs one blank line apart, final
    newline), or "" when nothing is left.
    """
    doc = Document(id="text", source="<text>", text=text)
    [doc] = clean_documents([doc], config or Config(scope="document"))
    return doc.cleaned_text() if doc.alive else ""


def _boilerplate(src: Path, config: Config) -> dict[int, int] | None:
    """The first pass's boilerplate counts, when asked for (a resumed run has them in its checkpoint)."""
    return find_boilerplate(read_folder(src, config), config) if config.boilerplate_min_docs else None


def clean_folder(
    src: Path,
    dst: Path,
    config: Config,
    overwrite: bool = False,
    on_document: Callable[[Document], None] | None = None,
    resume: bool = False,
    stop: Callable[[], int] | None = None,
    checkpoint_seconds: float = 30.0,
) -> Report:
    """Clean every matching file under `src` into `dst`; return the finished report.

    `dst` only looks complete (holds `.cleaner/_SUCCESS`) once every file and log is in
    place and the accounts add up; a run that stops early leaves it without the marker,
    and `resume=True` finishes it (see cleaner.commit). `stop()` is asked after each
    document and returns a signal number to stop at that consistent point (Interrupted).
    """
    job = FolderRun(src, dst, config, overwrite, resume, checkpoint_seconds)
    try:
        if job.complete:
            return job.finished_report()
        writer = FolderWriter(dst, job.prepare_state())
        state = job.restore(dedup=lambda: Deduplicator(config, _boilerplate(src, config)), report=Report,
                            accounts=Accounts)
        dedup, report, accounts = state["dedup"], state["report"], state["accounts"]
        job.start(writer, state)
        try:
            for doc in compose(job.skip_done(read_folder(src, config)), accounts.read,
                           prepare_in_parallel(document_steps(config), config.workers),
                           reject_policy(config), accounts.segmented, dedup, writer, report, accounts.settled):
                if on_document is not None:
                    on_document(doc)
                job.after_document(stop)
        except BaseException:
            writer.close()
            raise
        report.finish()
        job.commit(accounts, {"config": config.as_dict(), **report.as_dict()}, report.as_dict())
        return report
    finally:
        job.close()
