"""bench/generate.py: same seed, same bytes; every injected copy in the truth file is what it says."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
import sys

import pytest
import zstandard

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

from generate import generate, parse_size, sidecars
from truth import copy_units, recall

NAMES = ["Alder", "Birch", "Cedar", "Dunmore", "Elwood", "Fenwick", "Garrow", "Halden"]


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A stand-in for ../shared/data: one folder of made-up articles, no Reuters."""
    root = tmp_path_factory.mktemp("data")
    folder = root / "bbc" / "made"
    folder.mkdir(parents=True)
    for n in range(12):
        sentences = [f"The council of {NAMES[(n + i) % 8]} said on day {n * 7 + i} that {i + 3} bridges "
                     f"and {n + 11} roads would close for repairs number {i}." for i in range(6)]
        (folder / f"{n}.txt").write_text(f"Headline {n}\n\n" + " ".join(sentences) + "\n", encoding="utf-8")
    return root


def records(path: Path) -> dict[str, list[str]]:
    with zstandard.ZstdDecompressor().stream_reader(path.open("rb")) as raw:
        lines = io.TextIOWrapper(raw, encoding="utf-8")
        return {r["id"]: r["text"].split("\n\n") for r in map(json.loads, lines)}


def test_same_seed_same_bytes(data: Path, tmp_path: Path) -> None:
    digests = []
    for name in ("a", "b", "c"):
        out = tmp_path / f"{name}.jsonl.zst"
        generate(out, 300_000, seed=5 if name != "c" else 6, data=data)
        digests.append(hashlib.sha256(out.read_bytes() + sidecars(out)[0].read_bytes()).hexdigest())
    assert digests[0] == digests[1] != digests[2]


def test_truth_matches_the_text(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "c.jsonl.zst"
    meta = generate(out, 600_000, seed=3, data=data, txt=tmp_path / "txt")
    docs = records(out)
    assert len(docs) == meta["documents"] == len(list((tmp_path / "txt").rglob("*.txt")))
    truth = [json.loads(line) for line in sidecars(out)[0].read_text().splitlines()]
    assert {t["level"] for t in truth} == {"document", "paragraph"}
    for t in truth:
        if t["level"] == "document":
            copy, source = docs[t["id"]], docs[t["of"]]
        else:
            copy, source = [docs[t["id"]][t["paragraph"]]], [docs[t["of"]["id"]][t["of"]["paragraph"]]]
        assert (copy == source) == (t["kind"] == "exact")
        changed = sum(a != b for c, s in zip(copy, source, strict=True)
                      for a, b in zip(c.split(" "), s.split(" "), strict=True))
        assert changed <= max(1, sum(len(c.split(" ")) for c in copy) // (100 if t["level"] == "document" else 30))
    units = copy_units(sidecars(out)[0])
    assert recall(sidecars(out)[0], units)["all"] == 1.0


def test_parse_size() -> None:
    assert parse_size("200MB") == 200_000_000 == parse_size("200")
    assert parse_size("2GB") == 2 * 10**9
    assert parse_size("500kB") == 500_000
