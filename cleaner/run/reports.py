"""The reports a run writes at its commit, from its committed state folder (report.json and
the logs): a new report is one module with a function of (state_dir, output_dir) that
returns the path it wrote, and one line in REPORTS."""

from __future__ import annotations

from importlib import import_module
from pathlib import Path

# name -> "module:function(state_dir, output_dir)"
REPORTS = {
    "html": "cleaner.run.report_html:write_report_html",
}


def write_reports(state_dir: Path, output_dir: Path | None) -> list[Path]:
    """Every registered report of a committed state folder; the paths written."""
    written = []
    for target in REPORTS.values():
        module, name = target.split(":")
        written.append(getattr(import_module(module), name)(state_dir, output_dir))
    return written
