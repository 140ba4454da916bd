import json
from pathlib import Path
import subprocess
import sys

from click.testing import CliRunner

from cleaner.cli import main
from tests.helpers import FIXTURES, write_tree


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_clean_demo_fixtures_exits_zero_and_summarises(tmp_path: Path):
    result = invoke("clean", str(FIXTURES / "demo"), str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    assert "paragraphs in" in result.output
    assert (tmp_path / "out" / ".cleaner" / "_SUCCESS").exists()


def test_quiet_prints_nothing(tmp_path: Path):
    result = invoke("clean", "--quiet", str(FIXTURES / "demo"), str(tmp_path / "out"))
    assert result.exit_code == 0 and result.output == ""


def test_missing_source_is_one_line_exit_2(tmp_path: Path):
    result = invoke("clean", str(tmp_path / "missing"), str(tmp_path / "out"))
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [f"Error: {tmp_path / 'missing'}: no such file or folder"]
    assert not (tmp_path / "out").exists()


def test_bad_option_value_is_one_line_exit_2(tmp_path: Path):
    result = invoke("clean", "--threshold", "1.5", str(FIXTURES / "demo"), str(tmp_path / "out"))
    assert result.exit_code == 2
    assert result.output.strip() == "Error: threshold must be in (0.0, 1.0], got 1.5"


def test_rejected_input_exits_1_and_names_the_file(tmp_path: Path):
    src = write_tree(tmp_path / "src", {"bad.txt": b"\xff\xfe\xfa", "good.txt": "fine"})
    result = invoke("clean", str(src), str(tmp_path / "out"))
    assert result.exit_code == 1
    assert "rejects.jsonl" in result.output
    [line] = (tmp_path / "out/.cleaner/rejects.jsonl").read_text().splitlines()
    assert json.loads(line)["source"] == "bad.txt"


def test_every_option_has_help_and_an_example():
    result = invoke("clean", "--help")
    assert "Examples:" in result.output
    for option in ["--glob", "--scope", "--threshold", "--ngram", "--num-perm", "--min-words",
                   "--repair", "--overwrite", "--quiet"]:
        assert option in result.output


def test_console_script_runs_as_a_real_process(tmp_path: Path):
    proc = subprocess.run([sys.executable, "-m", "cleaner", "clean", str(FIXTURES / "demo"),
                           str(tmp_path / "out")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "removed" in proc.stderr and proc.stdout == ""
