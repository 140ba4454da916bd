"""The run report: what report.json and _SUCCESS hold comes back whole."""

from __future__ import annotations

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
