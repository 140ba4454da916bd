"""bench/index_report.py: a run replaces only the sub-section it measured in bench/RESULTS.md."""

from __future__ import annotations

from pathlib import Path
import sys

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

from index_report import LOOKUP_BLOCK, RSS_BLOCK, TITLE, kept, merged, put_section

OLD = f"""{TITLE}

An old introduction.

{RSS_BLOCK}

| MB in | CPU s |
| 200 | 57.1 |

{LOOKUP_BLOCK}

| index | paragraphs/s |
| on disk | 54,700 |

### Before: 256 MiB of each kind

| 200 | 64.8 |
"""


def test_an_rss_run_keeps_the_lookups_and_the_history():
    section = merged(OLD, {RSS_BLOCK: f"{RSS_BLOCK}\n\n| 200 | 49.0 |\n"})
    assert "| 200 | 49.0 |" in section and "| 200 | 57.1 |" not in section
    assert "| on disk | 54,700 |" in section
    assert section.index(RSS_BLOCK) < section.index(LOOKUP_BLOCK) < section.index("### Before: 256 MiB")
    assert "| 200 | 64.8 |" in section


def test_a_lookup_run_keeps_the_rss_table():
    section = merged(OLD, {LOOKUP_BLOCK: f"{LOOKUP_BLOCK}\n\n| on disk | 500,000 |\n"})
    assert "| 200 | 57.1 |" in section and "500,000" in section and "54,700" not in section


def test_the_first_run_into_a_file_without_the_section(tmp_path: Path):
    results = tmp_path / "RESULTS.md"
    results.write_text("# Benchmark results\n\n## Speed\n\nfast\n\n## At scale\n\nbig\n", encoding="utf-8")
    put_section(results, merged("", {RSS_BLOCK: f"{RSS_BLOCK}\n\n| 20 | 3.0 |\n"}))
    text = results.read_text(encoding="utf-8")
    assert text.index("## Speed") < text.index(TITLE) < text.index("## At scale")
    assert LOOKUP_BLOCK not in text
    again = merged(kept(results), {LOOKUP_BLOCK: f"{LOOKUP_BLOCK}\n\n| on disk | 1 |\n"})
    put_section(results, again)
    text = results.read_text(encoding="utf-8")
    assert "| 20 | 3.0 |" in text and "| on disk | 1 |" in text and text.count(TITLE) == 1
    assert text.endswith("## At scale\n\nbig\n")


def test_the_checked_in_results_have_both_latest_blocks():
    results = Path(__file__).resolve().parent.parent / "bench" / "RESULTS.md"
    section = kept(results)
    assert RSS_BLOCK in section and LOOKUP_BLOCK in section
    assert merged(section, {}) == section.rstrip("\n") + "\n"  # nothing measured: nothing changes
