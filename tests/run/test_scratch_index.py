"""A run without --index: its own temporary on-disk index (cleaner.dedup.scratch), spilled
past `index_memory`, deleted at the commit; the output bytes do not depend on the budget,
and an interrupted run resumes from its spilled segments to the same bytes."""

from __future__ import annotations

import pytest

from cleaner.api import clean
from cleaner.config import Config
from cleaner.errors import Interrupted
from cleaner.options import RunOptions
from tests.helpers import stop_after
from tests.incremental import corpus, tree_digest, write_docs


def options(**more) -> RunOptions:
    return RunOptions(workers=1, executor="inprocess", **more)


def test_the_budget_changes_no_byte_and_the_index_is_deleted(tmp_path):
    write_docs(tmp_path / "src", "a", corpus(21, 120) + corpus(22, 60))
    clean(tmp_path / "src", tmp_path / "big", Config(), options())
    clean(tmp_path / "src", tmp_path / "tiny", Config(), options(index_memory=2000))
    assert tree_digest(tmp_path / "tiny") == tree_digest(tmp_path / "big")
    assert not (tmp_path / "tiny" / ".cleaner" / "index.tmp").exists()


def test_an_interrupted_spilled_run_resumes_to_the_same_bytes(tmp_path):
    write_docs(tmp_path / "src", "a", corpus(23, 150))
    clean(tmp_path / "src", tmp_path / "whole", Config(), options())
    with pytest.raises(Interrupted):
        clean(tmp_path / "src", tmp_path / "cut", Config(), options(index_memory=2000, stop=stop_after(90),
                                                                     checkpoint_seconds=0))
    spilled = list((tmp_path / "cut" / ".cleaner" / "index.tmp" / "spill").glob("*/*"))
    assert spilled  # the interrupted run had spilled, and its segments wait for the resume
    clean(tmp_path / "src", tmp_path / "cut", Config(), options(index_memory=2000, resume=True))
    assert tree_digest(tmp_path / "cut") == tree_digest(tmp_path / "whole")


def test_cli_index_memory_and_checkpoint_spills_change_no_byte(tmp_path, monkeypatch):
    """`--index-memory` reaches the run; a checkpoint that spills its head (here at every
    document) changes no byte either."""
    from click.testing import CliRunner

    from cleaner.cli import main
    from cleaner.dedup import layered

    write_docs(tmp_path / "src", "a", corpus(24, 120))
    clean(tmp_path / "src", tmp_path / "plain", Config(), options())
    monkeypatch.setattr(layered, "CHECKPOINT_HEAD_BYTES", 1)
    spills = []
    spill = layered.LayeredIndex.spill
    monkeypatch.setattr(layered.LayeredIndex, "spill", lambda self: spills.append(len(self.head)) or spill(self))
    result = CliRunner().invoke(main, ["clean", "-q", "--workers", "1", "--index-memory", "1", "--checkpoint-every",
                                       "0", str(tmp_path / "src"), str(tmp_path / "spilled")])
    assert result.exit_code == 0, result.output
    assert len([n for n in spills if n]) > 10  # spilled at checkpoints, far below the budget
    assert tree_digest(tmp_path / "spilled") == tree_digest(tmp_path / "plain")
    refused = CliRunner().invoke(main, ["clean", "--index-memory", "0", str(tmp_path / "src"), str(tmp_path / "x")])
    assert refused.exit_code == 2 and "index-memory" in refused.output
