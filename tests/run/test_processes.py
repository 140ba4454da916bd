"""--workers: the same output byte for byte, bounded work in flight, no process left behind."""

import gzip
import json
import multiprocessing
import os
from pathlib import Path
import pickle
import random
import signal
import subprocess
import sys
import time

from click.testing import CliRunner
import numpy as np
import pytest

from cleaner import Config, clean_folder
from cleaner.api import clean_records
from cleaner.cli import main
from cleaner.errors import Interrupted
from cleaner.io import units
from cleaner.io.layout import CHECKPOINT, STATE_DIR
from cleaner.io.sources import FolderSource
from cleaner.record import Document, batches
from cleaner.run import processes as parallel
from cleaner.run.chain import document_steps, prepare
from cleaner.run.checkpoint import load_checkpoint
from cleaner.run.processes import prepare_in_parallel
from cleaner.run.transport import pack, unpack
from tests.helpers import FIXTURES, write_tree

SYLLABLES = "ba ko ri tem sul van dor mi pe lu gra ste non fi ca".split()
VOCABULARY = [a + b + c for a in SYLLABLES for b in SYLLABLES for c in ("", "n", "s", "ter")]


def synthetic_corpus(root: Path, documents: int, seed: int = 5) -> Path:
    """Our own generated news-like text: shared paragraphs across files (exact and with one
    word changed), repeats inside a file, a non-UTF-8 file and an empty one."""
    rng = random.Random(seed)

    def paragraph() -> str:
        return " ".join(rng.choice(VOCABULARY) for _ in range(rng.randint(6, 40))).capitalize() + "."

    boilerplate = [paragraph() for _ in range(6)]
    files: dict[str, str | bytes] = {}
    for n in range(documents):
        paragraphs = [paragraph() for _ in range(rng.randint(2, 8))]
        if rng.random() < 0.5:
            paragraphs.append(rng.choice(boilerplate))
        if rng.random() < 0.3:
            words = rng.choice(boilerplate).split()
            words[len(words) // 2] = "changed"
            paragraphs.insert(1, " ".join(words))
        if rng.random() < 0.2:
            paragraphs.append(paragraphs[0])
        files[f"topic{n % 3}/story{n:04d}.txt"] = "\n\n".join(paragraphs) + "\n"
    files["topic0/latin1.txt"] = "Price: \xa3 5 for the council budget plan.".encode("latin-1")
    files["topic1/empty.txt"] = ""
    return write_tree(root, files)


def output_files(dst: Path) -> dict[str, bytes]:
    """Every file a run wrote, except the two that hold timings."""
    return {str(p.relative_to(dst)): p.read_bytes() for p in sorted(dst.rglob("*"))
            if p.is_file() and p.name not in ("report.json", "report.html", "_SUCCESS")}


def test_workers_give_the_same_output_byte_for_byte(tmp_path: Path, monkeypatch):
    src = synthetic_corpus(tmp_path / "src", 60)
    monkeypatch.setattr(parallel, "CHUNK_DOCS", 4)  # many chunks, so the pool really runs
    monkeypatch.setattr(units, "UNIT_BYTES", 2000)  # and many work units read by the workers
    one = clean_folder(src, tmp_path / "one", Config(), workers=1)
    two = clean_folder(src, tmp_path / "two", Config(), workers=2)
    assert output_files(tmp_path / "one") == output_files(tmp_path / "two")
    assert one.as_dict() | {"seconds": 0} == two.as_dict() | {"seconds": 0}
    assert one.paragraphs_removed > 10 and one.documents_rejected >= 1  # the corpus exercises dedup


def test_the_boilerplate_first_pass_in_workers_gives_the_same_output(tmp_path: Path, monkeypatch):
    """--boilerplate-min-docs reads the input twice; with workers, both reads are theirs."""
    src = synthetic_corpus(tmp_path / "src", 60)
    monkeypatch.setattr(units, "UNIT_BYTES", 2000)
    config = Config(boilerplate_min_docs=4)
    one = clean_folder(src, tmp_path / "one", config, workers=1)
    clean_folder(src, tmp_path / "two", config, workers=2)
    assert output_files(tmp_path / "one") == output_files(tmp_path / "two")
    assert one.removed["boilerplate"] > 10


def test_records_keep_their_other_fields_through_workers(tmp_path: Path, monkeypatch):
    """Workers never see a record's other fields (they stay in the main process): the
    output is still the input line with only "text" replaced, the same as in-process."""
    corpus = synthetic_corpus(tmp_path / "src", 40)
    lines = [json.dumps({"id": f"r{n}", "meta": {"path": p.name, "n": [n, None, 1.5]},
                         "text": p.read_bytes().decode("latin-1"), "lang": "xx"}, ensure_ascii=n % 2 == 0)
             for n, p in enumerate(sorted(corpus.rglob("*.txt")))]
    src = tmp_path / "records.jsonl"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    monkeypatch.setattr(parallel, "CHUNK_DOCS", 4)
    monkeypatch.setattr(units, "UNIT_BYTES", 3000)
    clean_records(src, tmp_path / "one", Config(), workers=1)
    clean_records(src, tmp_path / "two", Config(), workers=2)
    assert output_files(tmp_path / "one") == output_files(tmp_path / "two")
    gz = tmp_path / "records.jsonl.gz"  # cannot be cut unread: read here, parsed by the workers
    gz.write_bytes(gzip.compress(src.read_bytes()))
    clean_records(gz, tmp_path / "gz1", Config(), workers=1)
    clean_records(gz, tmp_path / "gz2", Config(), workers=2)
    assert output_files(tmp_path / "gz1") == output_files(tmp_path / "gz2")
    written = [json.loads(line) for f in sorted((tmp_path / "two").glob("*.jsonl"))
               for line in f.read_text(encoding="utf-8").splitlines()]
    assert len(written) > 30 and all(set(r) == {"id", "meta", "text", "lang"} for r in written)
    originals = {r["id"]: r for r in map(json.loads, lines)}
    assert all(r["meta"] == originals[r["id"]]["meta"] for r in written)


def test_workers_read_their_own_units_and_give_the_documents_in_order(tmp_path: Path, monkeypatch):
    """Each worker reads a unit (a run of files) itself: the documents come back from other
    processes, in input order, equal to those read and prepared here."""
    src = synthetic_corpus(tmp_path / "src", 50)
    monkeypatch.setattr(units, "UNIT_BYTES", 1500)
    config = Config()
    source = FolderSource(src, config)
    steps = [*document_steps(config), tag_with_pid]
    here = list(prepare([*document_steps(config)])(source.documents()))
    there = [doc for _, docs in parallel.ProcessPool(2).map_units(steps, config, source.units()) for doc in docs]
    assert len(list(source.units())) > 5
    assert {d.audit.pop("pid") for d in there} - {os.getpid()} and len(there) == len(here) == 52
    assert [describe(d) for d in there] == [describe(d) for d in here]
    assert multiprocessing.active_children() == []


@pytest.mark.parametrize("stops", [(7, 61), (1, 2, 3)])
def test_a_resume_starts_at_the_unit_of_its_checkpoint_and_gives_the_same_bytes(tmp_path: Path, monkeypatch, stops):
    """Stopped after k documents (a checkpoint there), resumed with workers reading units:
    the checkpoint names the unit to start from, and the output is that of one run."""
    src = synthetic_corpus(tmp_path / "src", 90)
    monkeypatch.setattr(units, "UNIT_BYTES", 1200)
    clean_folder(src, tmp_path / "one", Config(), workers=1)
    dst, starts = tmp_path / "two", []
    for k in stops:
        with pytest.raises(Interrupted):
            clean_folder(src, dst, Config(), workers=2, resume=bool(starts), **stop_after(k))
        starts.append(load_checkpoint(dst / STATE_DIR / CHECKPOINT).state["units"])
    clean_folder(src, dst, Config(), workers=2, resume=True)
    assert output_files(tmp_path / "one") == output_files(dst)
    assert starts[-1][0] > 0 or sum(stops) < 10  # past the first unit: the units before it are not read again
    assert [unit for unit, *_ in starts] == sorted(unit for unit, *_ in starts)


def stop_after(k: int) -> dict:
    """Run options that stop a run (SIGTERM) after `k` documents."""
    done: list[str] = []
    return {"on_document": lambda doc: done.append(doc.id), "stop": lambda: signal.SIGTERM if len(done) == k else 0}


def tag_with_pid(doc: Document) -> Document:
    doc.audit["pid"] = os.getpid()
    return doc


class FailOn:
    """A step that raises on one document (picklable, so it can travel to a worker)."""

    def __init__(self, source: str) -> None:
        self.source = source

    def __call__(self, doc: Document) -> Document:
        if doc.source == self.source:
            raise ValueError(f"cannot handle {doc.source}")
        return doc


def documents(count: int) -> list[Document]:
    return [Document(id=str(n), source=f"doc{n:03d}", text=f"text {n}", bytes_in=6) for n in range(count)]


def test_documents_come_back_in_input_order_from_other_processes(monkeypatch):
    monkeypatch.setattr(parallel, "CHUNK_DOCS", 3)
    given = documents(40)
    docs = list(prepare_in_parallel([tag_with_pid], workers=2)(given))
    assert [d.source for d in docs] == [f"doc{n:03d}" for n in range(40)]
    assert all(out is doc for out, doc in zip(docs, given, strict=True))  # the same objects, updated
    pids = {d.audit["pid"] for d in docs}
    assert os.getpid() not in pids and len(pids) >= 1
    assert multiprocessing.active_children() == []


def test_small_input_and_one_worker_stay_in_this_process(monkeypatch):
    monkeypatch.setattr(parallel, "CHUNK_DOCS", 3)
    few = list(prepare_in_parallel([tag_with_pid], workers=2)(documents(3)))
    one = list(prepare_in_parallel([tag_with_pid], workers=1)(documents(10)))
    assert {d.audit["pid"] for d in few + one} == {os.getpid()}
    assert [d.source for d in one] == [f"doc{n:03d}" for n in range(10)]


def test_a_failing_step_raises_its_error_here_and_stops_every_worker(monkeypatch):
    monkeypatch.setattr(parallel, "CHUNK_DOCS", 2)
    stage = prepare_in_parallel([FailOn("doc017")], workers=2)
    seen = []
    with pytest.raises(ValueError, match="cannot handle doc017"):
        seen.extend(d.source for d in stage(documents(50)))
    assert seen == [f"doc{n:03d}" for n in range(16)]  # everything before the failing chunk
    assert multiprocessing.active_children() == []


def test_a_consumer_that_stops_early_stops_every_worker(monkeypatch):
    monkeypatch.setattr(parallel, "CHUNK_DOCS", 2)
    pulled = []

    def source():
        for doc in documents(1000):
            pulled.append(doc.source)
            yield doc

    stream = prepare_in_parallel([tag_with_pid], workers=2)(source())
    assert next(stream).source == "doc000"
    assert len(pulled) <= 2 * parallel.IN_FLIGHT * 2 + 2  # bounded: not the whole input
    stream.close()
    assert multiprocessing.active_children() == []


def test_chunks_keep_order_and_respect_both_limits():
    docs = [Document(id=str(n), source=str(n), bytes_in=size) for n, size in enumerate([5, 5, 20, 1, 1, 1, 1])]
    chunks = list(batches(docs, max_docs=3, max_bytes=12))
    assert [[d.source for d in c] for c in chunks] == [["0", "1"], ["2"], ["3", "4", "5"], ["6"]]


def test_packed_documents_come_back_equal_field_for_field():
    config = Config()
    docs = list(prepare(document_steps(config))(FolderSource(FIXTURES / "demo", config).documents()))
    docs.append(Document(id="x", source="x", reject=None, text=None))  # no paragraphs at all
    # The main process still holds what it sent (id, source, origin, input size) and gets the rest back.
    held = [Document(id=d.id, source=d.source, origin=d.origin, bytes_in=d.bytes_in) for d in docs]
    again = unpack(pickle.loads(pickle.dumps(pack(docs))), held)
    assert len(again) == len(docs)
    for before, after in zip(docs, again, strict=True):
        assert describe(before) == describe(after)
    assert sum(p.fingerprint.signature is not None for d in again for p in d.paragraphs) >= 10


def describe(value):
    """A comparable form of a record: dataclasses as dicts, arrays as (dtype, list)."""
    if isinstance(value, np.ndarray):
        return str(value.dtype), value.tolist()
    if hasattr(value, "__dataclass_fields__"):
        return {name: describe(getattr(value, name)) for name in value.__dataclass_fields__}
    if isinstance(value, list):
        return [describe(v) for v in value]
    return value


def test_workers_option_is_validated_and_left_out_of_the_digest(tmp_path: Path):
    result = CliRunner().invoke(main, ["clean", "--workers", "-1", str(FIXTURES / "demo"), str(tmp_path / "out")])
    assert result.exit_code == 2 and "workers must be at least 0" in result.output
    assert not (tmp_path / "out").exists()
    assert "workers" not in Config().as_dict()  # how a run goes is RunOptions, not the config


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs Linux /proc")
def test_ctrl_c_exits_130_and_leaves_no_process_behind(tmp_path: Path):
    src = synthetic_corpus(tmp_path / "src", 800)
    dst = tmp_path / "interrupted-output"
    run = start_two_worker_run(src, dst, subprocess.PIPE)
    try:
        wait_while_running(run, lambda: not any(dst.glob("topic*/*.txt")))
        os.killpg(run.pid, signal.SIGINT)  # what a terminal sends the whole foreground group
        _, err = run.communicate(timeout=60)
    finally:
        if run.poll() is None:  # hung: fail, but leave nothing running
            os.killpg(run.pid, signal.SIGKILL)
    assert run.returncode == 130, err.decode()
    assert b"interrupted" in err and b"Traceback" not in err
    assert not (dst / ".cleaner" / "_SUCCESS").exists()
    time.sleep(0.2)
    assert processes_mentioning(str(dst)) == []


def start_two_worker_run(src: Path, dst: Path, output: int) -> subprocess.Popen:
    """`cleaner clean --workers 2` as a real process in its own session (a process group)."""
    return subprocess.Popen([sys.executable, "-m", "cleaner", "clean", "--workers", "2", str(src), str(dst)],
                            stdout=output, stderr=output, start_new_session=True)


def wait_while_running(run: subprocess.Popen, waiting, seconds: float = 60) -> None:
    """Poll until `waiting()` turns false, the run ends, or `seconds` pass."""
    deadline = time.monotonic() + seconds
    while waiting() and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)


def processes_mentioning(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if text.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs Linux /proc")
def test_workers_exit_when_the_main_process_is_killed_outright(tmp_path: Path):
    src = synthetic_corpus(tmp_path / "src", 800)
    dst = tmp_path / "killed-output"
    run = start_two_worker_run(src, dst, subprocess.DEVNULL)
    try:
        wait_while_running(run, lambda: len(processes_mentioning(str(dst))) < 3)
        assert run.poll() is None, "finished before its workers could be seen"
        run.kill()  # SIGKILL: no handler, no cleanup in the main process
        run.wait(timeout=10)
        # At once, as a user or a supervisor would: the workers held copies of the output
        # folder's lock, and must not keep it past their parent's death.
        resumed = subprocess.run([sys.executable, "-m", "cleaner", "clean", "--resume", "--workers", "2",
                                  str(src), str(dst)], capture_output=True, text=True, timeout=120)
        assert resumed.returncode == 1, resumed.stderr  # 1: the corpus's empty file is rejected
        assert (dst / ".cleaner" / "_SUCCESS").is_file()
        deadline = time.monotonic() + 10
        while processes_mentioning(str(dst)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert processes_mentioning(str(dst)) == []
    finally:
        for pid in processes_mentioning(str(dst)):
            os.kill(pid, signal.SIGKILL)
