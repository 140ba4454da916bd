"""The run report: what report.json and _SUCCESS hold comes back whole."""

from __future__ import annotations

import json
from pathlib import Path

from cleaner.api import clean
from cleaner.config import Config
from cleaner.options import RunOptions
from cleaner.run.report import Report

ROOT = Path(__file__).resolve().parents[2]


def _untimed(report: Report) -> dict:
    return {k: v for k, v in report.as_dict().items() if k != "seconds"}


def test_a_report_rebuilt_from_its_counts_is_the_same_report(tmp_path: Path) -> None:
    report = clean(ROOT / "fixtures" / "demo", tmp_path / "out", Config(), RunOptions())
    counts = report.as_dict()
    assert counts["bytes"]["in"] > 0 and counts["decoded_as"] and counts["removed_by_reason"]
    assert _untimed(Report.from_counts(counts)) == _untimed(report)


def test_resuming_a_complete_run_reports_what_the_run_reported(tmp_path: Path) -> None:
    first = clean(ROOT / "fixtures" / "demo", tmp_path / "out", Config(), RunOptions())
    again = clean(ROOT / "fixtures" / "demo", tmp_path / "out", Config(), RunOptions(resume=True))
    assert _untimed(again) == _untimed(first)
    assert again.summary().splitlines()[:2] == first.summary().splitlines()[:2]


def test_sentence_runs_cut_from_kept_paragraphs_are_counted_and_kept_on_resume(tmp_path: Path) -> None:
    """--unit sentence: the spans cut from paragraphs that stay are counted (paragraphs
    removed whole count as removed paragraphs), and survive a rebuild from _SUCCESS."""
    from tests.dedup.test_windows import copied
    from tests.helpers import write_tree

    join, source, copy, other = copied("en")
    src = write_tree(tmp_path / "src", {"a.txt": join.join(source), "b.txt": join.join([other[0], *copy, *other[1:]])})
    report = clean(src, tmp_path / "out", Config(unit="sentence"), RunOptions())
    log = [json.loads(line) for line in (tmp_path / "out/.cleaner/removed.jsonl").open()]
    cut = [e for e in log if e["reason"] == "sentence_copy" and "spans" not in e]
    assert cut and report.spans_cut == len(cut)
    assert report.characters_cut == sum(e["end"] - e["start"] for e in cut)
    assert report.as_dict()["spans_cut"] == {"count": len(cut), "characters": report.characters_cut}
    assert _untimed(Report.from_counts(report.as_dict())) == _untimed(report)
    assert "copied sentence runs cut" in report.summary()
    assert "spans_cut" not in clean(src, tmp_path / "default", Config(), RunOptions()).as_dict()


def test_show_quotes_the_start_of_a_removal_written_without_spaces(tmp_path: Path) -> None:
    """textwrap.shorten cuts at spaces: a Chinese paragraph would show as "[...]" alone."""
    from cleaner.run.report import describe_removals

    text = "国家统计局周二公布的数据显示，今年第三季度国内生产总值同比增长百分之四点九，略低于市场此前的普遍预期。" * 2
    log = tmp_path / "removed.jsonl"
    log.write_text(json.dumps({"source": "b.txt", "id": "b.txt", "paragraph": 0, "reason": "exact_duplicate",
                               "duplicate_of": {"source": "a.txt", "id": "a.txt", "paragraph": 0},
                               "similarity": 1.0, "text": text}, ensure_ascii=False) + "\n", encoding="utf-8")
    [line] = describe_removals(log, width=40)
    assert text[:20] in line and line.endswith("[...]") and len(line) < 120
    [whole] = describe_removals(log, width=1000)
    assert text in whole
