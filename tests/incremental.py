"""Helpers of the persistent-index tests: corpora made of real words, split runs A then B
against one index, and the same corpora cleaned as one run, to compare what B loses."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
import random
from typing import Any

from cleaner.api import clean
from cleaner.config import Config
from cleaner.options import RunOptions
from tests.helpers import without_timing

WORDS = ("the of and to in a is that for it as was with be by on not he this are or his from at which but have "
         "an they you were her she there been one all we their has would when if so no will more about can out "
         "said other some them what up its time only new could these two may first then do any like my now "
         "over such our man me even most made after also did many before must through back years where much "
         "your way well down should because each just those people how too little state good very make world "
         "still own see men work long get here between both life being under never day same another know while "
         "last might us great old year off come since against go came right used take three market bank shares "
         "profit minister government election party company sales growth record film music award match team "
         "season player court police report week month price oil dollar talks plan deal rate budget tax").split()


def paragraph(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def corpus(seed: int, documents: int, pool: int = 12) -> list[list[str]]:
    """Documents of 1-4 paragraphs; paragraphs often drawn again from a small pool, some
    with a word changed (near copies), some new, so exact, near and document copies occur."""
    rng = random.Random(seed)
    shared = [paragraph(rng, rng.randint(5, 30)) for _ in range(pool)]
    docs = []
    for _ in range(documents):
        paras = []
        for _ in range(rng.randint(1, 4)):
            roll = rng.random()
            if roll < 0.4:
                paras.append(rng.choice(shared))
            elif roll < 0.55:
                words = rng.choice(shared).split()
                words[rng.randrange(len(words))] = rng.choice(WORDS)
                paras.append(" ".join(words))
            else:
                paras.append(paragraph(rng, rng.randint(3, 30)))
        docs.append(paras)
    if docs and rng.random() < 0.5:
        docs.append(list(rng.choice(docs)))  # a whole document again
    return docs


def write_docs(root: Path, folder: str, docs: list[list[str]]) -> None:
    (root / folder).mkdir(parents=True, exist_ok=True)
    for i, paras in enumerate(docs):
        (root / folder / f"{i:04d}.txt").write_text("\n\n".join(paras) + "\n", encoding="utf-8")


def removed(dst: Path) -> list[dict[str, Any]]:
    with (dst / ".cleaner" / "removed.jsonl").open(encoding="utf-8") as log:
        return [json.loads(line) for line in log]


def options(index: str | None, run: str | None = None, **more: Any) -> RunOptions:
    return RunOptions(index=index, run_id=run, workers=1, executor="inprocess", **more)


def split_and_whole(tmp: Path, a: list[list[str]], b: list[list[str]], index: str,
                    config: Config | None = None) -> tuple[list[dict], list[dict], Path, Path]:
    """Clean A then B against `index`, and A+B as one corpus: (B's removals, A+B's removals
    of B's documents, B's output, A+B's output). Sources are a/NNNN.txt and b/NNNN.txt in both."""
    config = config or Config()
    write_docs(tmp / "A", "a", a)
    write_docs(tmp / "B", "b", b)
    write_docs(tmp / "AB", "a", a)
    write_docs(tmp / "AB", "b", b)
    clean(tmp / "A", tmp / "outA", config, options(index, "A"))
    clean(tmp / "B", tmp / "outB", config, options(index, "B"))
    clean(tmp / "AB", tmp / "outAB", config, options(None))
    whole = [r for r in removed(tmp / "outAB") if r["source"].startswith("b/")]
    return removed(tmp / "outB"), whole, tmp / "outB", tmp / "outAB"


def without_runs(entries: list[dict[str, Any]], run: str) -> list[dict[str, Any]]:
    """The removals with `duplicate_of.run` taken out, after checking it names `run` exactly
    for copies kept by A (sources a/...) and is absent for copies kept by B itself."""
    out = []
    for entry in entries:
        entry = json.loads(json.dumps(entry))
        target = entry.get("duplicate_of")
        if target is not None:
            assert target.pop("run", None) == (run if target["source"].startswith("a/") else None), entry
        out.append(entry)
    return out


def tree_digest(root: Path, skip: tuple[str, ...] = ()) -> dict[str, str]:
    """sha256 of every file under `root`, the reports without the time taken."""
    return {str(p.relative_to(root)): hashlib.sha256(without_timing(p.name, p.read_bytes())).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and p.name not in skip}
