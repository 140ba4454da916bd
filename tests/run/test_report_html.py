"""report.html from real runs: the numbers equal report.json, the kept copies are the right
paragraphs, corpus text is escaped, renders are byte-identical, and a million removals
give a bounded page with exact counts."""

from __future__ import annotations

from collections import Counter
import gzip
import json
import os
from pathlib import Path
import re
import shutil
from urllib.parse import unquote

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cleaner.run.report_html import word_diff, write_report_html
from cleaner.run.report_stream import BORDER_MARGIN, SAMPLE_CAP
from tests.helpers import FIXTURES, SHARED, needs_shared
from tests.run.report_logs import write_million_run
from tests.run.report_pages import NEAR_A, NEAR_B, SCRIPT, clean, read_page, report_counts, script_corpus

BBC = SHARED / "data" / "bbc"
EXACT = ("exact_duplicate", "exact_repeat")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    state = clean(FIXTURES / "demo", tmp_path_factory.mktemp("demo") / "out")
    write_report_html(state)
    return state


@pytest.fixture(scope="module")
def scripted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("scripted")
    state = clean(script_corpus(root / "src"), root / "out")
    write_report_html(state)
    return state


def shown_equals_report(state: Path) -> None:
    page, report = read_page(state), json.loads((state / "report.json").read_text())
    expected = report_counts(report)
    assert {key: int(page.values[key]) for key in expected} == expected
    assert page.data is not None and page.data["removed_by_reason"] == report["removed_by_reason"]


def test_demo_counts_equal_report_json(demo: Path):
    shown_equals_report(demo)


def test_demo_exact_removals_sit_beside_the_same_text(demo: Path):
    """The kept copy is found by paragraph number in the output, which holds only kept
    paragraphs: council-budget.txt lost three paragraphs before the kept newsletter line."""
    rows = read_page(demo).rows
    exact = [r for r in rows if r.reason in EXACT]
    assert len(exact) == 4
    assert all(r.kept == r.removed and r.removed for r in exact)
    near = [r for r in rows if r.reason == "near_duplicate"]
    assert near and all(r.kept and r.kept != r.removed for r in near)


def test_script_paragraph_is_shown_as_text(scripted: Path):
    html = (scripted / "report.html").read_text()
    page = read_page(scripted)
    assert "<script>alert" not in html and "&lt;script&gt;alert(&#34;pwned&#34;)&lt;/script&gt;" in html
    assert [r.removed for r in page.rows if r.removed == SCRIPT] == [SCRIPT]
    assert html.count("<script") == 2  # the page's own: its JSON and its filter code


def test_script_run_counts_rejects_and_near_copy(scripted: Path):
    shown_equals_report(scripted)
    page = read_page(scripted)
    assert page.values["rejected_by_reason.binary"] == "1" and page.values["rejected_by_reason.empty"] == "1"
    near = [r for r in page.rows if r.reason == "near_duplicate"]
    assert [(r.removed, r.kept) for r in near] == [(NEAR_B, NEAR_A)]
    assert "weather/blob.txt" in (scripted / "report.html").read_text()


def test_source_names_with_a_script_tag_are_shown_as_text(tmp_path: Path):
    """File names are corpus data too: a folder named `x</script><script>alert(1)</script>`
    (three folders deep, as "/" splits it) shows as text, never as markup."""
    src = tmp_path / "src"
    shutil.copytree(FIXTURES / "demo", src / "x</script><script>alert(1)</script>")
    shutil.copytree(FIXTURES / "demo", src / "plain")
    state = clean(src, tmp_path / "out")
    html = write_report_html(state).read_text()
    assert "<script>alert(1)" not in html and "x&lt;/script&gt;&lt;script&gt;alert(1)&lt;" in html
    assert read_page(state).data is not None


def test_two_renders_are_byte_identical_and_need_no_clock(scripted: Path, tmp_path: Path):
    first = (scripted / "report.html").read_bytes()
    copy = tmp_path / "out"
    shutil.copytree(scripted.parent, copy)
    assert write_report_html(copy / ".cleaner").read_bytes() == first


def test_word_diff_marks_only_changed_words():
    removed, kept = word_diff("the old timber supports had rotted", "the new timber supports rotted")
    assert removed == [("the", False), ("old", True), ("timber supports", False), ("had", True), ("rotted", False)]
    assert kept == [("the", False), ("new", True), ("timber supports", False), ("rotted", False)]


def test_log_dir_run_says_kept_copy_not_available(tmp_path: Path):
    """A record run to stdout has no output folder to read kept copies from."""
    logs = tmp_path / "logs"
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"id": f"r{i}", "text": f"{NEAR_A}\n\nline {i} is unique enough here ok"}) + "\n"
                           for i in range(3)))
    clean(src, Path("-"), "--log-dir", str(logs))
    write_report_html(logs)
    page = read_page(logs)
    assert page.rows and all("kept copy text not available" in r.notes for r in page.rows)
    shown_equals_report(logs)


RECORD_BYLINE = "Reporting by the harbour desk; editing by the night staff of the Coastal Gazette today."


@pytest.mark.parametrize("name", ["in.jsonl", "in.jsonl.gz", "in.parquet"])
def test_record_run_shows_each_kept_copy_from_the_output_records(tmp_path: Path, name: str):
    """Records share one source: the kept copy is found by its id in the output shards, and
    by its paragraph number among that record's kept paragraphs (r1 loses its byline before
    the kept near copy)."""
    records = [
        {"id": "r0", "text": f"The first record opens with its own line about the weather.\n\n{RECORD_BYLINE}"},
        {"id": "r1", "text": f"A second record starts on the pier vote.\n\n{RECORD_BYLINE}\n\n{NEAR_A}"},
        {"id": "r2", "text": f"The third record leads with the queue of residents.\n\n{NEAR_B}"},
    ]
    src = tmp_path / name
    if name.endswith(".parquet"):
        pq.write_table(pa.Table.from_pylist(records), src)
    else:
        lines = "".join(json.dumps(r) + "\n" for r in records).encode()
        src.write_bytes(gzip.compress(lines) if name.endswith(".gz") else lines)
    state = clean(src, tmp_path / "out")
    write_report_html(state)
    paragraphs = {r["id"]: r["text"].split("\n\n") for r in records}
    log = [json.loads(line) for line in (state / "removed.jsonl").open()]
    assert {e["reason"] for e in log} == {"exact_duplicate", "near_duplicate"}
    rows = {r.removed: r for r in read_page(state).rows}
    for entry in log:
        ref = entry["duplicate_of"]
        assert rows[entry["text"]].kept == paragraphs[ref["id"]][ref["paragraph"]]
        assert "kept copy text not available" not in rows[entry["text"]].notes


def words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


@needs_shared(BBC)
def test_bbc_report(tmp_path: Path):
    state = clean(BBC, tmp_path / "out")
    write_report_html(state)
    shown_equals_report(state)
    page, config = read_page(state), json.loads((state / "report.json").read_text())["config"]
    paragraphs = [r for r in page.rows if r.removed]
    assert paragraphs and all(r.kept for r in paragraphs), "every kept paragraph found in the output"
    exact = [r for r in paragraphs if r.reason in EXACT]
    assert exact and all(words(r.kept) == words(r.removed) for r in exact), "exact: equal but for case and marks"
    lines = [json.loads(x) for x in (state / "removed.jsonl").read_text().splitlines()]
    near = [x for x in lines if x["reason"] == "near_duplicate"]
    border = [x for x in near if round(x["similarity"] - config["threshold"], 4) <= BORDER_MARGIN]
    border += [x for x in lines if x["reason"] == "duplicate_document"
               and x["similarity"] < 1 and round(x["similarity"] - config["doc_threshold"], 4) <= BORDER_MARGIN]
    assert int(page.values["borderline"]) == len(page.borderline) == len(border) > 0
    assert int(page.values["sample.shown"]) == int(page.values["sample.total"]) == len(lines)


def test_cap_samples_every_reason_and_states_it(demo: Path, tmp_path: Path):
    copy = tmp_path / "out"
    shutil.copytree(demo.parent, copy)
    html = write_report_html(copy / ".cleaner", cap=3).read_text()
    page = read_page(copy / ".cleaner")
    assert len(page.rows) == 3
    assert {r.reason for r in page.rows} == {"near_duplicate", "exact_duplicate", "exact_repeat"}
    assert "sampled by reason and similarity" in html
    assert page.values["sample.total"] == "6"


def many_removals(state: Path, removals: int) -> None:
    """The page of a generated run: bounded rows, every reason sampled, exact counts
    (the top texts' too: 20,000 distinct texts overflow the heavy-hitter counters)."""
    counts, boilerplate = write_million_run(state, removals)
    path = write_report_html(state)
    page = read_page(state)
    assert path.stat().st_size < 20_000_000
    assert len(page.rows) == SAMPLE_CAP and page.values["sample.total"] == str(removals)
    assert {r: int(page.values[f"removed_by_reason.{r}"]) for r in counts} == dict(counts)
    assert {r.reason for r in page.rows} == set(counts), "every reason sampled"
    near_bands = Counter(r.band for r in page.rows if r.reason == "near_duplicate")
    assert set(near_bands) == {"0.70", "0.75", "0.80", "0.85", "0.90", "0.95"}, "and every similarity band"
    assert max(near_bands.values()) - min(near_bands.values()) <= 1, "shared fairly"
    text, count = boilerplate.most_common(1)[0]
    assert int(page.values["top_texts.0"]) == count and text in path.read_text()
    assert write_report_html(state).read_bytes() == path.read_bytes()


def test_thirty_thousand_removals(tmp_path: Path):
    many_removals(tmp_path / "state", 30_000)


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("CLEANER_SLOW"), reason="slow (~30 s of CPU): make test-slow")
def test_million_removals_bounded_page_exact_counts(tmp_path: Path):
    many_removals(tmp_path / "state", 1_000_000)


def test_run_without_removals_renders(tmp_path: Path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "only.txt").write_text(f"{NEAR_A}\n\n{SCRIPT}\n")
    state = clean(src, tmp_path / "out")
    html = write_report_html(state).read_text()
    shown_equals_report(state)
    assert "Nothing was removed." in html and read_page(state).rows == []


def test_sparse_report_json_still_renders(tmp_path: Path):
    """A report.json from an older run, without the newer counts: absent counts show as 0."""
    (tmp_path / "report.json").write_text(json.dumps({"documents": {"in": 3, "out": 3}, "config": {}}))
    write_report_html(tmp_path)
    page = read_page(tmp_path)
    assert page.values["documents.in"] == "3" and page.values["documents.rejected"] == "0"


def test_file_name_that_is_not_utf8_is_shown_and_linked(tmp_path: Path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_text(f"{SCRIPT}\n\n{NEAR_A}\n")
    (Path(os.fsdecode(bytes(src) + b"/caf\xe9.txt"))).write_text(f"Another story of the day\n\n{SCRIPT}\n")
    state = clean(src, tmp_path / "out")
    html = write_report_html(state).read_bytes().decode("utf-8")  # valid UTF-8
    assert 'href="../caf%E9.txt"' in html and "caf\\udce9.txt" in html


def test_links_reach_the_output_files(demo: Path):
    """Every file link is relative to report.html and reaches a file of the output folder;
    the kept copy's link is there for each paragraph row."""
    html = (demo / "report.html").read_text()
    links = {unquote(h) for h in re.findall(r'href="([^"#][^"]*)"', html)}
    assert links and all((demo / link).resolve().is_file() for link in links)
    assert all((demo / link).resolve().parent.parent == demo.parent.resolve() for link in links)
    assert "../city/council-budget.txt" in links and "../science/comet.txt" in links
