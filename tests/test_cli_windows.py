"""`cleaner clean --unit sentence` end to end: spans cut from the files written, one log
line each with both copies' offsets, the options in report.json, `show`, and --resume."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
import pytest

from cleaner import Config, clean_folder
from cleaner.cli import main
from tests.dedup.test_windows import BBC, TEXTS, build, flat, paragraphs
from tests.helpers import needs_shared, write_tree
from tests.run.test_checkpoint import Stop, snapshot, stop_after


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def corpus(root: Path) -> Path:
    """Per language, a source and a host holding three of its sentences (one phrase
    changed) between its own, wrapped at other widths."""
    files = {}
    for lang, (join, source, (old, new), other) in TEXTS.items():
        copy = [s.replace(old, new) for s in source[:3]]
        files[f"{lang}/1-source.txt"] = paragraphs(join, source, 33) + "\n"
        files[f"{lang}/2-host.txt"] = paragraphs(join, [other[0], *copy, *other[1:]], 21) + "\n"
    return write_tree(root, files)


def test_unit_sentence_cuts_the_copied_runs_and_logs_each_span(tmp_path: Path):
    src, out = corpus(tmp_path / "src"), tmp_path / "out"
    result = invoke("clean", "-q", "--unit", "sentence", str(src), str(out))
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in (out / ".cleaner/removed.jsonl").open(encoding="utf-8")]
    assert {line["reason"] for line in lines} == {"sentence_copy"}
    for lang, (join, source, _, other) in TEXTS.items():
        assert flat((out / lang / "1-source.txt").read_text(encoding="utf-8")) == flat(join.join(source))
        host = (out / lang / "2-host.txt").read_text(encoding="utf-8")
        assert flat(host) == flat(join.join(other)), lang
        written = (src / lang / "2-host.txt").read_text(encoding="utf-8").split("\n\n")
        for line in (line for line in lines if line["source"] == f"{lang}/2-host.txt" and "start" in line):
            assert written[line["paragraph"]][line["start"]:line["end"]] == line["text"]
            kept = line["duplicate_of"]
            assert kept["source"] == f"{lang}/1-source.txt" and {"start", "end", "end_paragraph"} <= kept.keys()
    report = json.loads((out / ".cleaner/report.json").read_text())
    assert (report["config"]["unit"], report["config"]["window"]) == ("sentence", 3)
    assert (out / ".cleaner/_SUCCESS").exists() and (out / ".cleaner/report.html").exists()
    shown = invoke("show", str(out)).output.splitlines()
    assert len(shown) == len(lines) and all(s.startswith("sentence_copy: ") for s in shown)


def test_the_default_and_unit_paragraph_write_the_same_bytes(tmp_path: Path):
    src = corpus(tmp_path / "src")
    invoke("clean", "-q", str(src), str(tmp_path / "default"))
    invoke("clean", "-q", "--unit", "paragraph", "--window", "5", str(src), str(tmp_path / "paragraph"))
    default, explicit = snapshot(tmp_path / "default"), snapshot(tmp_path / "paragraph")
    report = json.loads(explicit.pop(".cleaner/report.json"))
    assert report["config"].pop("window") == 5
    assert json.loads(default.pop(".cleaner/report.json"))["config"] == {**report["config"], "window": 3}
    for name in (".cleaner/_SUCCESS", ".cleaner/report.html"):  # they show the config (its digest)
        explicit.pop(name), default.pop(name)
    assert default == explicit


def test_a_bad_window_is_one_line_exit_2(tmp_path: Path):
    result = invoke("clean", "--unit", "sentence", "--window", "1", str(corpus(tmp_path / "src")), str(tmp_path / "o"))
    assert result.exit_code == 2 and "window must be in [2, 32]" in result.output


@needs_shared(BBC)
@pytest.mark.parametrize("k", [7, 23])
def test_resume_of_a_sentence_run_equals_an_uninterrupted_one(tmp_path: Path, k: int):
    built = build(BBC, 30)
    src = write_tree(tmp_path / "src", {f"{name}.txt": text + "\n" for name, text in built.texts.items()})
    config = Config(unit="sentence")
    clean_folder(src, tmp_path / "reference", config)
    want = snapshot(tmp_path / "reference")
    assert b"sentence_copy" in want[".cleaner/removed.jsonl"]
    with pytest.raises(Stop):
        clean_folder(src, tmp_path / "out", config, on_document=stop_after(k), checkpoint_seconds=0.0)
    clean_folder(src, tmp_path / "out", config, resume=True)
    assert snapshot(tmp_path / "out") == want
