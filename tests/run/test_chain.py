import json
from pathlib import Path

import pytest

from cleaner import Config, clean_folder
from cleaner.errors import UsageError
from tests.helpers import FIXTURES, SAMPLE_ARTICLE, needs_shared, write_tree

REPEATED = ("Following the storm, crews worked through the night to restore power to more than "
            "forty thousand homes across the valley, the utility said.")


def read_log(dst: Path, name: str) -> list[dict]:
    return [json.loads(line) for line in (dst / ".cleaner" / name).open(encoding="utf-8")]


@needs_shared(SAMPLE_ARTICLE)
def test_sample_article_keeps_twenty_paragraphs_and_logs_the_repeat(tmp_path: Path):
    src = write_tree(tmp_path / "src", {"article.txt": SAMPLE_ARTICLE.read_bytes()})
    report = clean_folder(src, tmp_path / "out", Config())
    text = (tmp_path / "out" / "article.txt").read_text(encoding="utf-8")
    paragraphs = text.split("\n\n")
    assert len(paragraphs) == 20 and report.paragraphs_out == 20
    assert sum(p.startswith("Following the multi-front attack") for p in paragraphs) == 1
    assert not text.startswith(" ") and text.endswith("\n") and not text.endswith("\n\n")
    [entry] = read_log(tmp_path / "out", "removed.jsonl")
    assert entry["paragraph"] == 11 and entry["reason"] == "exact_repeat"
    assert entry["duplicate_of"] == {"source": "article.txt", "id": "article.txt", "paragraph": 10}
    assert (SAMPLE_ARTICLE.read_bytes() == (src / "article.txt").read_bytes())


def test_output_mirrors_layout_and_logs_every_removal(tmp_path: Path):
    src = write_tree(tmp_path / "src", {
        "a/one.txt": f"Title one\n\n{REPEATED}\n\n{REPEATED}\n",
        "b/two.txt": f"Title two\n\n{REPEATED}",
    })
    report = clean_folder(src, tmp_path / "out", Config())
    assert (tmp_path / "out/a/one.txt").read_text() == f"Title one\n\n{REPEATED}\n"
    assert (tmp_path / "out/b/two.txt").read_text() == "Title two\n"
    reasons = [(e["source"], e["paragraph"], e["reason"]) for e in read_log(tmp_path / "out", "removed.jsonl")]
    assert reasons == [("a/one.txt", 2, "exact_repeat"), ("b/two.txt", 1, "exact_duplicate")]
    assert report.paragraphs_in == report.paragraphs_out + report.paragraphs_removed == 5
    assert (tmp_path / "out/.cleaner/_SUCCESS").exists()


def test_report_json_counts_match_the_logs(tmp_path: Path):
    dst = tmp_path / "out"
    clean_folder(FIXTURES / "demo", dst, Config())
    report = json.loads((dst / ".cleaner/report.json").read_text())
    removed = read_log(dst, "removed.jsonl")
    assert report["paragraphs"]["removed"] == len(removed)
    assert report["paragraphs"]["in"] == report["paragraphs"]["out"] + len(removed)
    assert sum(report["removed_by_reason"].values()) == len(removed)
    assert len(read_log(dst, "files.jsonl")) == report["documents"]["in"]


def test_binary_file_is_rejected_and_the_rest_still_cleaned(tmp_path: Path):
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00"
    src = write_tree(tmp_path / "src", {"bad.txt": png, "good.txt": "fine"})
    report = clean_folder(src, tmp_path / "out", Config())
    [reject] = read_log(tmp_path / "out", "rejects.jsonl")
    assert reject["source"] == "bad.txt" and reject["reason"] == "binary" and "PNG" in reject["message"]
    assert report.documents_rejected == 1 and (tmp_path / "out/good.txt").exists()


@pytest.mark.parametrize("inside", [".", "sub"])
def test_destination_inside_source_is_refused_before_writing(tmp_path: Path, inside: str):
    src = write_tree(tmp_path / "src", {"a.txt": "text"})
    with pytest.raises(UsageError, match="must not be the input folder or inside it"):
        clean_folder(src, src / inside, Config())
    assert sorted(p.name for p in src.iterdir()) == ["a.txt"]


def test_non_empty_destination_needs_overwrite(tmp_path: Path):
    src = write_tree(tmp_path / "src", {"a.txt": "text"})
    dst = write_tree(tmp_path / "out", {"old.txt": "old"})
    with pytest.raises(UsageError, match="not empty"):
        clean_folder(src, dst, Config())
    clean_folder(src, dst, Config(), overwrite=True)
    assert (dst / "a.txt").read_text() == "text\n"


def test_a_crash_leaves_no_completion_marker(tmp_path: Path):
    src = write_tree(tmp_path / "src", {"a.txt": "one", "b.txt": "two"})

    def crash(doc):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        clean_folder(src, tmp_path / "out", Config(), on_document=crash)
    state = tmp_path / "out" / ".cleaner"
    assert not (state / "_SUCCESS").exists() and not (state / "removed.jsonl").exists()
