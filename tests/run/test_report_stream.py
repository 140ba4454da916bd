"""The report's one pass over removed.jsonl reads every line as the json module would, in any
batching: orjson and json give the same page, and so do tiny read chunks (lines split
across them), on a log with what orjson reads differently (integers past 64 bits, lone
surrogates) and more sources and texts than the Misra-Gries counters hold."""

from __future__ import annotations

from functools import partial
import json
from pathlib import Path
import random

import pytest

from cleaner.io.logs import to_json_line
from cleaner.run import report_batch, report_stream
from cleaner.run.report_data import gather
from cleaner.run.report_html import write_report_html


def odd_log(state: Path, folders: bool, lines: int = 8000) -> None:
    """A state folder whose removal log has every shape the first pass reads specially."""
    rng = random.Random(3)
    names = [f"dir{i % 7}/file-{i}.txt" for i in range(3000)] + ["caf\u00e9/\u00fc.txt", "bad/\udcff.txt", "top.txt"]
    texts = [f"Paragraph {i} of the log, with \"quotes\" and caf\u00e9 \U0001f600." for i in range(6000)]
    state.mkdir(parents=True)
    out = []
    for n in range(lines):
        source = names[min(int(rng.paretovariate(0.7)) - 1, len(names) - 1)] if n % 2 else rng.choice(names)
        ref = {"source": rng.choice(names), "id": f"d{rng.randrange(50)}", "paragraph": rng.randrange(4)}
        entry = {"source": source, "id": f"d{n % 50}" if n % 97 else 10**30, "line": n}
        if n % 5 == 0:
            entry.update(paragraphs=10**25 if n % 85 == 0 else rng.randrange(1, 9), reason="duplicate_document",
                         duplicate_of={"source": ref["source"], "id": ref["id"]}, similarity=rng.choice([1.0, 0.93]))
        else:
            entry.update(paragraph=rng.randrange(6), text=rng.choice(texts[: 40 if n % 2 else None]),
                         reason=rng.choice(["exact_duplicate", "near_duplicate", "boilerplate"]), duplicate_of=ref,
                         similarity=-10**21 if n % 301 == 0 else rng.choice([1.0, 1, 0.71, 0.74, 0.9]))
        entry["estimated_similarity"] = entry["similarity"]
        out.append(to_json_line(entry))
    (state / "removed.jsonl").write_text("".join(out), encoding="utf-8")
    (state / "report.json").write_text(json.dumps({"config": {"threshold": 0.7, "doc_threshold": 0.9}}))
    if folders:
        (state / "files.jsonl").write_text('{"source": "top.txt", "status": "kept"}\n')


@pytest.mark.parametrize("folders", [False, True])
def test_every_reading_gives_the_same_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, folders: bool):
    state = tmp_path / "state"
    odd_log(state, folders)
    first = gather(state).first
    assert not first.sources.exact and not first.texts.exact  # the second pass really counts
    pages = [write_report_html(state).read_bytes()]
    monkeypatch.setattr(report_stream, "batches", partial(report_batch.batches, size=4093))  # lines split across chunks
    pages.append(write_report_html(state).read_bytes())
    monkeypatch.setattr(report_batch, "_fast", None)
    pages.append(write_report_html(state).read_bytes())
    assert pages[1] == pages[0] and pages[2] == pages[0]


def test_huge_paragraph_counts_add_up_exactly(tmp_path: Path):
    state = tmp_path / "state"
    odd_log(state, folders=False)
    expected: dict[str, int] = {}
    for line in (state / "removed.jsonl").read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        count = 1 if "paragraph" in entry else entry["paragraphs"]
        expected[entry["source"]] = expected.get(entry["source"], 0) + count
    top = gather(state).top_sources
    assert top and all(row["paragraphs"] == expected[row["source"]] for row in top)
    assert top[0]["paragraphs"] > 10**25


def test_a_line_that_is_not_an_object_is_named(tmp_path: Path):
    state = tmp_path / "state"
    odd_log(state, folders=False, lines=10)
    with (state / "removed.jsonl").open("a") as log:
        log.write("[1, 2]\n")
    with pytest.raises(Exception, match=r"removed.jsonl:11: not a JSON object"):
        gather(state)
