"""The benchmark corpora: the real ones in ../shared/data, and N-times-larger copies of them.

Copy i of a corpus has every ASCII letter rotated by i places (ROT-i; copy 0 is the
original). The copies read like text to every tool (same lengths, same layout, same
repeats inside each copy, same ftfy work), but share no shingle with each other: an
N-times corpus has N times the unique paragraphs, so the dedup index really grows N times,
and the right dedup result is exactly N times the original's.
"""

from __future__ import annotations

from dataclasses import dataclass
import gzip
import json
from pathlib import Path
import string

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


@dataclass(frozen=True)
class Corpus:
    name: str
    path: Path
    scale: int
    documents: int
    text_bytes: int

    @property
    def is_folder(self) -> bool:
        return self.path.is_dir()

    @property
    def mb(self) -> float:
        return self.text_bytes / 1e6


def rotation(places: int) -> bytes:
    """A bytes.translate table turning each ASCII letter `places` letters on."""
    lower, upper = string.ascii_lowercase, string.ascii_uppercase
    source = (lower + upper).encode()
    target = (lower[places:] + lower[:places] + upper[places:] + upper[:places]).encode()
    return bytes.maketrans(source, target)


def _folder_stats(root: Path) -> tuple[int, int]:
    sizes = [p.stat().st_size for p in root.rglob("*.txt")]
    return len(sizes), sum(sizes)


def _jsonl_stats(path: Path) -> tuple[int, int]:
    documents = size = 0
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        for line in lines:
            documents += 1
            size += len(json.loads(line)["text"].encode("utf-8"))
    return documents, size


def _scale_folder(src: Path, dst: Path, scale: int) -> None:
    for copy in range(scale):
        table = rotation(copy)
        for path in sorted(src.rglob("*.txt")):
            out = dst / f"copy{copy}" / path.relative_to(src)
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(path.read_bytes().translate(table))


def _scale_jsonl(src: Path, dst: Path, scale: int) -> None:
    with gzip.open(dst, "wt", encoding="utf-8", compresslevel=1) as out:
        for copy in range(scale):
            table = {i: o for i, o in enumerate(rotation(copy)) if i != o}
            with gzip.open(src, "rt", encoding="utf-8") as lines:
                for line in lines:
                    record = json.loads(line)
                    record["text"] = record["text"].translate(table)
                    record["id"] = f"{record.get('id')}-{copy}"
                    out.write(json.dumps(record, ensure_ascii=False) + "\n")


def corpus(name: str, source: Path, scale: int, work: Path) -> Corpus:
    """`source` itself at scale 1, else its `scale`-times copy under `work` (made once)."""
    path = source
    if scale > 1:
        path = work / (f"{name}-x{scale}" + ("" if source.is_dir() else ".jsonl.gz"))
        if not path.exists():
            partial = path.with_name(path.name + ".partial")
            if source.is_dir():
                _scale_folder(source, partial, scale)
            else:
                _scale_jsonl(source, partial, scale)
            partial.rename(path)
    documents, size = _folder_stats(path) if path.is_dir() else _jsonl_stats(path)
    return Corpus(name, path, scale, documents, size)


def available() -> dict[str, Path]:
    """The shared corpora that are present: name -> path."""
    found = {"bbc": DATA / "bbc", "reuters": DATA / "reuters21578.jsonl.gz"}
    return {name: path for name, path in found.items() if path.exists()}
