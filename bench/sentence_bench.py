"""`--unit sentence` measured: recall and false removals on known copies, and speed on BBC.

(a) bench/sentence_corpus.py builds `--articles` articles from real BBC sentences, half of
them hosts of copied runs of 3-8 sentences (half with one word changed, all re-wrapped);
`cleaner clean` runs on them with `--unit sentence` and with the default, and the cleaned
files are scored: runs found whole, sentences outside a copied run removed.
(b) `cleaner clean` on the BBC folder, default and `--unit sentence`, best of `--repeat`
by CPU seconds (user + system over the process tree: the machine is shared).

Prints the tables and writes them into bench/RESULTS.md as its "Sentence windows" section
(before "At scale", the other sections kept).

    python bench/sentence_bench.py [--articles 1200] [--repeat 3] [--output bench/RESULTS.md]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
import sys
import tempfile

sys.path.insert(0, str(Path(__file__).resolve().parent))

from measure import Measured, run
from sentence_corpus import build, score

ROOT = Path(__file__).resolve().parent.parent
CLEANER = ROOT / ".venv" / "bin" / "cleaner"
BBC = ROOT.parent / "shared" / "data" / "bbc"
TITLE = "## Sentence windows"
MODES = {"default (paragraphs)": [], "--unit sentence": ["--unit", "sentence"]}


def clean(src: Path, dst: Path, extra: list[str]) -> tuple[Measured, dict]:
    measured = run([str(CLEANER), "clean", "-q", str(src), str(dst), *extra])
    if measured.returncode not in (0, 1):
        raise SystemExit(f"cleaner failed: {measured.stderr.strip()}")
    lines = [json.loads(line) for line in (dst / ".cleaner" / "removed.jsonl").open(encoding="utf-8")]
    # Paragraphs as bench/run.py counts them (a removed document's all), and the spans cut.
    counts = {"paragraphs": sum(1 if "paragraph" in line else line.get("paragraphs", 1)
                                for line in lines if "start" not in line),
              "spans": sum("start" in line for line in lines)}
    return measured, counts


def recall_rows(articles: int, work: Path) -> list[str]:
    built = build(BBC, articles)
    src = work / "generated"
    src.mkdir()
    for name, text in built.texts.items():
        (src / f"{name}.txt").write_text(text + "\n", encoding="utf-8")
    size = sum(len(t.encode()) for t in built.texts.values()) / 1e6
    rows = [f"{len(built.texts)} articles ({size:.1f} MB), {len(built.runs)} copied runs of 3-8 sentences "
            f"({sum(any(c.isalnum() for c in s) for _, r in built.runs for s in r)} sentences, every second one with a "
            f"word changed), "
            f"{len(built.quotes)} copied single sentences or pairs that must stay.", "",
            "| mode | runs found whole | recall | copied sentences removed | sentences that must stay | "
            "false removals | CPU s |", "|---|---|---|---|---|---|---|"]
    for mode, extra in MODES.items():
        dst = work / f"generated-{len(extra)}"
        measured, _ = clean(src, dst, extra)
        cleaned = {name: (dst / f"{name}.txt").read_text(encoding="utf-8") if (dst / f"{name}.txt").exists() else ""
                   for name in built.texts}
        result = score(built, cleaned)
        rows.append(f"| {mode} | {result.found:,} / {result.runs:,} | {result.recall:.3f} | "
                    f"{result.sentences_removed:,} / {result.sentences:,} | {result.kept_expected:,} | "
                    f"{result.false_removals} | {measured.cpu_seconds:.2f} |")
    return rows


def speed_rows(repeat: int, work: Path) -> list[str]:
    size = sum(p.stat().st_size for p in BBC.rglob("*.txt")) / 1e6
    rows = [f"BBC folder, {size:.1f} MB, all cores; best of {repeat} by CPU seconds.", "",
            "| mode | seconds | CPU s | MB per CPU s | paragraphs removed | spans cut from kept paragraphs | "
            "CPU vs default |",
            "|---|---|---|---|---|---|---|"]
    base = None
    for mode, extra in MODES.items():
        best: tuple[Measured, dict] | None = None
        for attempt in range(repeat):
            measured, counts = clean(BBC, work / f"bbc-{len(extra)}-{attempt}", extra)
            if best is None or measured.cpu_seconds < best[0].cpu_seconds:
                best = (measured, counts)
        assert best is not None
        measured, counts = best
        base = base or measured.cpu_seconds
        rows.append(f"| {mode} | {measured.seconds:.2f} | {measured.cpu_seconds:.2f} | "
                    f"{size / measured.cpu_seconds:.2f} | {counts['paragraphs']:,} | {counts['spans']:,} | "
                    f"{measured.cpu_seconds / base:.2f}x |")
    return rows


def write_section(path: Path, section: str) -> None:
    """Put `section` in `path` in place of its old one, else before "## At scale", else last."""
    old = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    if "\n" + TITLE in old:
        head, rest = old.split("\n" + TITLE, 1)
        tail = rest[rest.find("\n## "):] if "\n## " in rest else ""
        new = head.rstrip("\n") + "\n\n" + section + tail
    elif "\n## At scale" in old:
        head, tail = old.split("\n## At scale", 1)
        new = head.rstrip("\n") + "\n\n" + section + "\n## At scale" + tail
    else:
        new = old.rstrip("\n") + "\n\n" + section
    path.write_text(new, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=1200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "RESULTS.md")
    args = parser.parse_args()
    if not BBC.is_dir():
        print(f"sentence bench: skipped, {BBC} is absent", file=sys.stderr)
        return
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        recall, speed = recall_rows(args.articles, work), speed_rows(args.repeat, work)
    command = " ".join(["python", "bench/sentence_bench.py", *sys.argv[1:]])
    section = "\n".join([TITLE, "", f"Written by `{command}`.", "", "### Known copies (bench/sentence_corpus.py)", "",
                         *recall, "", "### Speed on BBC", "", *speed, ""])
    print(section)
    write_section(args.output, section + "\n")


if __name__ == "__main__":
    main()
