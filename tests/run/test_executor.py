"""cleaner.run.executor: every executor gives the same output; a new one is one module and
one registry line."""

import hashlib
from pathlib import Path

from click.testing import CliRunner
import pytest

from cleaner import Config, RunOptions, clean
from cleaner.cli import main
from cleaner.errors import ConfigError
from cleaner.run import executor
from tests.helpers import FIXTURES

TIMED = ("report.json", "report.html", "_SUCCESS")  # hold the run's timing or config digest


def digest(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and p.name not in TIMED}


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """The demo articles many times over under other names: many chunks, many repeats."""
    src = tmp_path / "src"
    for n in range(40):
        for path in sorted((FIXTURES / "demo").rglob("*.txt")):
            target = src / f"copy{n:02d}" / path.relative_to(FIXTURES / "demo")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes().replace(b"council", f"council {n}".encode()))
    return src


def test_every_registered_executor_and_a_new_one_give_the_same_bytes(corpus: Path, tmp_path: Path, monkeypatch):
    monkeypatch.setitem(executor.EXECUTORS, "threads", "tests.run.threads_executor:Threads")  # the one line
    outputs = {}
    for name, workers in (("inprocess", 1), ("processes", 2), ("threads", 3)):
        report = clean(corpus, tmp_path / name, Config(), RunOptions(executor=name, workers=workers))
        outputs[name] = digest(tmp_path / name)
        assert report.documents_in == 200 and report.documents_removed > 100  # near copies of the demo
    assert outputs["processes"] == outputs["inprocess"] == outputs["threads"]


def test_an_unknown_executor_is_one_line_and_exit_2(tmp_path: Path):
    with pytest.raises(ConfigError, match="executor must be one of inprocess, processes, ray"):
        executor.make_executor("spark")
    result = CliRunner().invoke(main, ["clean", "--executor", "spark", str(FIXTURES / "demo"), str(tmp_path / "out")])
    assert result.exit_code == 2
    expected = "Error: executor must be one of inprocess, processes, ray, got 'spark'"
    assert result.output.strip().splitlines() == [expected]
