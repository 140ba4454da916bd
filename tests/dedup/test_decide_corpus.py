"""Dedup end to end: the golden fixture corpus, the BBC acceptance run, and properties."""

from collections import Counter, defaultdict
from collections.abc import Iterator
import hashlib
import json
import os
from pathlib import Path
import random
import tempfile

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
import pytest

from cleaner import Config, clean_documents, clean_folder
from cleaner.cli import main
from cleaner.dedup.documents import DocumentDeduplicator
from cleaner.dedup.fingerprint import Fingerprinter, exact_key, jaccard, shingle_hashes, words
from cleaner.io.sources import FolderSource
from cleaner.record import Document, Ref
from cleaner.run.chain import compose, document_steps, find_boilerplate, prepare
from tests.helpers import FIXTURES, SHARED, needs_shared, write_tree

CORPUS = FIXTURES / "dedup" / "corpus"
BBC = SHARED / "data" / "bbc"


def read_log(dst: Path, name: str) -> list[dict]:
    return [json.loads(line) for line in (dst / ".cleaner" / name).open(encoding="utf-8")]


def test_golden_corpus_removes_what_belongs_and_nothing_else(tmp_path: Path):
    config = Config(**json.loads((FIXTURES / "dedup" / "config.json").read_text()))
    clean_folder(CORPUS, tmp_path / "out", config)
    expected = [json.loads(line) for line in (FIXTURES / "dedup" / "expected.jsonl").open(encoding="utf-8")]
    removed = read_log(tmp_path / "out", "removed.jsonl")

    def slim(entry: dict) -> tuple:
        ref = entry["duplicate_of"]
        return (entry["source"], entry.get("paragraph"), entry["reason"],
                ref and (ref["source"], ref.get("paragraph")))

    assert sorted(map(slim, removed), key=repr) == sorted(map(slim, expected), key=repr)
    for entry in removed:
        floor = config.doc_threshold if entry["reason"] == "duplicate_document" else config.threshold
        assert floor <= entry["similarity"] <= 1.0 and 0.0 < entry["estimated_similarity"] <= 1.0
    report = json.loads((tmp_path / "out/.cleaner/report.json").read_text())["paragraphs"]
    assert report["in"] == report["out"] + report["removed"] + report["in_removed_documents"]
    statuses = {e["source"]: e["status"] for e in read_log(tmp_path / "out", "files.jsonl")}
    for entry in expected:  # a dropped document has no output file; the rest do
        dropped = entry["reason"] == "duplicate_document"
        assert (tmp_path / "out" / entry["source"]).exists() != dropped
        assert (statuses[entry["source"]] == "removed") == dropped


def bbc_copies() -> dict[str, str]:
    """Later copy -> first copy, for every group of byte-identical BBC files."""
    groups = defaultdict(list)
    for path in sorted(BBC.rglob("*.txt")):
        groups[hashlib.sha256(path.read_bytes()).digest()].append(path.relative_to(BBC).as_posix())
    assert len([g for g in groups.values() if len(g) > 1]) == 98
    return {later: group[0] for group in groups.values() if len(group) > 1 for later in group[1:]}


@pytest.mark.shared
@needs_shared(BBC)
def test_bbc_byte_identical_copies_are_removed_as_duplicate_documents_of_the_first():
    """Every step but the paragraph fingerprints, then the document stage only (no repair,
    no paragraph dedup), to stay fast: ~2 s."""
    config = Config(repair="off")
    fingerprinter = Fingerprinter(config)

    def fingerprinted() -> Iterator[Document]:
        for doc in compose(FolderSource(BBC, config).documents(), prepare(document_steps(config)[:-1])):
            if doc.alive:
                doc.fingerprint = fingerprinter.document_fingerprint([words(p.text) for p in doc.paragraphs])
            yield doc

    dropped = {d.source: d.removal for d in DocumentDeduplicator(config)(fingerprinted()) if d.removal}
    for later, first in bbc_copies().items():
        assert dropped[later].duplicate_of == Ref(first, first)
        assert dropped[later].similarity == dropped[later].estimated_similarity == 1.0
    assert all(removal.similarity >= config.doc_threshold for removal in dropped.values())


@pytest.mark.shared
@needs_shared(BBC)
@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("CLEANER_SLOW"), reason="slow (~6 s): make test-slow")
def test_bbc_full_run_writes_no_file_for_a_dropped_copy_and_logs_it(tmp_path: Path):
    clean_folder(BBC, tmp_path / "out", Config())
    dropped = {e["source"]: e for e in read_log(tmp_path / "out", "removed.jsonl")
               if e["reason"] == "duplicate_document"}
    for later, first in bbc_copies().items():
        assert dropped[later]["duplicate_of"] == {"source": first, "id": first}
        assert not (tmp_path / "out" / later).exists() and (tmp_path / "out" / first).exists()
    statuses = {e["source"]: e["status"] for e in read_log(tmp_path / "out", "files.jsonl")}
    assert {s for s, status in statuses.items() if status == "removed"} == set(dropped)


# A corpus with many near repeats: paragraphs drawn from a small pool, then lightly edited.
VOCABULARY = ("river council budget storm power homes valley utility crews night said week "
              "bridge traffic engineers school pupils teachers report minister plan vote").split()
BASE = st.lists(st.sampled_from(VOCABULARY), min_size=3, max_size=25).map(" ".join)
EDIT = st.tuples(st.integers(0, 30), st.sampled_from([*VOCABULARY, "extra", ""]))


@st.composite
def corpora(draw) -> list[list[str]]:
    pool = draw(st.lists(BASE, min_size=1, max_size=6))
    documents = []
    for _ in range(draw(st.integers(1, 5))):
        paragraphs = []
        for _ in range(draw(st.integers(1, 6))):
            tokens = draw(st.sampled_from(pool)).split()
            for at, word in draw(st.lists(EDIT, max_size=2)):
                tokens[at % len(tokens)] = word or tokens[at % len(tokens)].upper()
            paragraphs.append(" ".join(t for t in tokens if t) or "x")
        documents.append(paragraphs)
    return documents


PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(corpora(), st.sampled_from([0.5, 0.7, 0.9]), st.sampled_from([0, 2]))
def test_every_removal_points_at_kept_text_at_or_above_the_threshold(documents, threshold, boilerplate_docs):
    config = Config(threshold=threshold, min_words=3, doc_threshold=0.8, boilerplate_min_docs=boilerplate_docs)

    def fresh() -> list[Document]:
        return [Document(id=f"{i}.txt", source=f"{i}.txt", raw="\n\n".join(d).encode())
                for i, d in enumerate(documents)]

    boilerplate = find_boilerplate(fresh(), config) if boilerplate_docs else None
    out = {d.source: d for d in clean_documents(fresh(), config, boilerplate)}
    for doc in out.values():
        if doc.removal is not None:
            kept = out[doc.removal.duplicate_of.source]
            assert kept.alive and kept.kept_paragraphs and kept.source < doc.source
            assert doc.removal.similarity >= config.doc_threshold
            continue
        for paragraph in doc.paragraphs:
            removal = paragraph.removal
            if removal is None:
                continue
            if removal.reason == "boilerplate":
                assert removal.duplicate_of is None and removal.documents >= boilerplate_docs
                continue
            ref = removal.duplicate_of
            target = out[ref.source]
            assert target.alive and target.paragraphs[ref.paragraph].removal is None
            here, there = words(paragraph.text), words(target.paragraphs[ref.paragraph].text)
            if removal.reason.startswith("exact"):
                assert exact_key(here) == exact_key(there) and removal.similarity == 1.0
            else:
                true = jaccard(shingle_hashes(here, config.ngram), shingle_hashes(there, config.ngram))
                assert removal.similarity == round(true, 4) >= config.threshold
                assert 0.0 <= removal.estimated_similarity <= 1.0
            if removal.reason.endswith("duplicate"):
                assert len(here) >= config.min_words and ref.source < doc.source


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(corpora(), st.randoms(use_true_random=False))
def test_output_is_the_same_whatever_order_the_files_were_created_in(documents, rng: random.Random):
    files = {f"d{i % 2}/{i:02}.txt": "\n\n".join(d) for i, d in enumerate(documents)}
    shuffled = list(files.items())
    rng.shuffle(shuffled)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        outputs = []
        for name, order in [("a", files.items()), ("b", shuffled)]:
            src = write_tree(root / f"src-{name}", dict(order))
            clean_folder(src, root / f"out-{name}", Config(min_words=3, boilerplate_min_docs=2))
            outputs.append({p.relative_to(root / f"out-{name}").as_posix(): p.read_bytes()
                            for p in sorted((root / f"out-{name}").rglob("*"))
                            if p.is_file() and p.name not in ("report.json", "report.html", "_SUCCESS")})
        assert outputs[0] == outputs[1]


def test_cli_options_reach_the_run_and_bad_values_are_one_line_usage_errors(tmp_path: Path):
    runner = CliRunner()
    result = runner.invoke(main, ["clean", "--boilerplate-min-docs", "1", str(CORPUS), str(tmp_path / "x")])
    assert result.exit_code == 2 and not (tmp_path / "x").exists()
    assert result.output.strip() == "Error: boilerplate_min_docs must be 0 (off) or at least 2, got 1"
    result = runner.invoke(main, ["clean", "-q", "--doc-threshold", "0", "--boilerplate-min-docs", "4",
                                  str(CORPUS), str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    reasons = Counter(e["reason"] for e in read_log(tmp_path / "out", "removed.jsonl"))
    assert reasons["duplicate_document"] == 0 and reasons["boilerplate"] == 6  # the footer, in 6 documents


def test_boilerplate_on_records_reads_a_file_twice_and_refuses_standard_input(tmp_path: Path):
    footer = "Sign up for our morning newsletter to get the best local stories."
    lines = [json.dumps({"id": f"r{i}", "text": f"Story number {i} is about something else entirely.\n\n{footer}"})
             for i in range(3)]
    src = write_tree(tmp_path, {"in.jsonl": "\n".join(lines) + "\n"}) / "in.jsonl"
    runner = CliRunner()
    result = runner.invoke(main, ["clean", "-q", "--boilerplate-min-docs", "3", str(src), str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    removed = read_log(tmp_path / "out", "removed.jsonl")
    assert [(e["id"], e["reason"], e["documents"]) for e in removed] == [(f"r{i}", "boilerplate", 3) for i in range(3)]
    result = runner.invoke(main, ["clean", "--boilerplate-min-docs", "3", "-", str(tmp_path / "out2")],
                           input="\n".join(lines) + "\n")
    assert result.exit_code == 2 and not (tmp_path / "out2").exists()
    assert "cannot read standard input" in result.output
