"""`make bench`'s "Persistent index" section of bench/RESULTS.md (issue 12): peak RSS of a
whole run as the generated corpus grows (the run's index spills to disk past its budget,
so memory stays flat), and the lookup + verify figures against a large committed index
(bench/index_bench.py). Only the sub-section a run measured is replaced (an RSS table with
`--sizes`, the lookups with `--paragraphs`); the section's other sub-sections (older
measurements, kept by hand) and the rest of the file stay as they were.

    python bench/index_report.py [--sizes 20MB,200MB] [--paragraphs 10000000] [--redis] [--repeat N]

`--repeat N` runs every size N times, interleaved by round (each size once, then again), so
a load that changes over time falls on every size alike; a row then gives the medians of its
runs, the range of max RSS and the number of runs, and "vs the smallest" compares medians.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
import shutil
import statistics
import subprocess
import sys

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate import parse_size
from measure import run

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
TITLE = "## Persistent index: memory and lookups"


def rss_rows(sizes: list[int], seed: int, repeat: int = 1) -> list[dict]:
    """`cleaner clean --workers 1` of the generated corpus at each size: CPU s, peak RSS.
    `repeat` rounds, each running every size once in order; one row a size (`summary`)."""
    from scale import corpus_for

    runs: list[list[dict]] = [[] for _ in sizes]
    for round_ in range(repeat):
        for i, size in enumerate(sizes):
            source, out = corpus_for(size, seed), BENCH / "work" / "index-rss-out"
            shutil.rmtree(out, ignore_errors=True)
            measured = run([str(ROOT / ".venv" / "bin" / "cleaner"), "clean", "-q", "--workers", "1", str(source),
                            str(out)])
            row = {"mb": size // 10**6, "cpu": round(measured.cpu_seconds, 1), "wall": round(measured.seconds, 1),
                   "peak": round(measured.peak_mb), "rss": round(measured.max_rss_mb),
                   "returncode": measured.returncode}
            runs[i].append(row)
            shutil.rmtree(out, ignore_errors=True)
            if repeat > 1:  # each run as it ends, so an interrupted series is not lost
                print(json.dumps({"round": round_ + 1, **row}), file=sys.stderr, flush=True)
    return [summary(each) for each in runs]


def summary(runs: list[dict]) -> dict:
    """One size's row: the run itself if one, else the median of each figure over `runs`,
    with the lowest and highest max RSS, the count and each run's max RSS in order."""
    if len(runs) == 1:
        return runs[0]
    median = {key: statistics.median(r[key] for r in runs) for key in ("cpu", "wall", "peak", "rss")}
    codes = sorted({r["returncode"] for r in runs})
    return {"mb": runs[0]["mb"], **{k: round(median[k], 1) for k in ("cpu", "wall")},
            **{k: round(median[k]) for k in ("peak", "rss")},
            "rss_min": min(r["rss"] for r in runs), "rss_max": max(r["rss"] for r in runs), "runs": len(runs),
            "each": [r["rss"] for r in runs], "returncode": codes[0] if len(codes) == 1 else ",".join(map(str, codes))}


def lookup_figures(paragraphs: int, redis_url: str | None) -> dict:
    command = [sys.executable, str(BENCH / "index_bench.py"), "--paragraphs", str(paragraphs), "--skip-runs",
               "--work", str(BENCH / "work")]
    if redis_url:
        command += ["--redis-url", redis_url, "--redis-paragraphs", str(min(paragraphs, 1_000_000))]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    decoder, text, parts = json.JSONDecoder(), done.stdout.strip(), []
    while text:
        value, end = decoder.raw_decode(text)
        parts.append(value)
        text = text[end:].strip()
    out = parts[0]
    if len(parts) > 1:
        out["redis"] = parts[1]
    return out


RSS_BLOCK = "### Peak memory as the corpus grows (latest run)"
LOOKUP_BLOCK = "### Lookups against a large committed index (latest run)"


def rss_block(rows: list[dict], note: str) -> str:
    """The RSS-vs-size sub-section: one row per corpus size."""
    lines = [RSS_BLOCK, "", note, ""]
    if any("runs" in row for row in rows):  # medians of repeated runs
        lines += ["| MB in | CPU s | wall s | peak PSS MB | max RSS MB | max RSS min-max | runs "
                  "| vs the smallest | exit |", "|---|---|---|---|---|---|---|---|---|"]
        for row in rows:
            lines.append(f"| {row['mb']} | {row['cpu']} | {row['wall']} | {row['peak']} | {row['rss']} | "
                         f"{row.get('rss_min', row['rss'])}-{row.get('rss_max', row['rss'])} | {row.get('runs', 1)} | "
                         f"{row['rss'] / rows[0]['rss']:.2f}x | {row['returncode']} |")
        each = "; ".join(f"{row['mb']} MB: {', '.join(map(str, row.get('each', [row['rss']])))}" for row in rows)
        lines += ["", f"Max RSS MB of each run, in round order: {each}."]
    else:
        lines += ["| MB in | CPU s | wall s | peak PSS MB | max RSS MB | vs the smallest | exit |",
                  "|---|---|---|---|---|---|---|"]
        for row in rows:
            lines.append(f"| {row['mb']} | {row['cpu']} | {row['wall']} | {row['peak']} | {row['rss']} | "
                         f"{row['rss'] / rows[0]['rss']:.2f}x | {row['returncode']} |")
    return "\n".join(lines) + "\n"


def lookup_block(figures: dict) -> str:
    """The lookup sub-section: throughput and bytes per paragraph against the committed index."""
    disk = figures["disk"]

    def rates(passes: list) -> str:
        return ", ".join(f"{rate:,}" for rate, _ in passes)

    lines = [LOOKUP_BLOCK, "", f"`bench/index_bench.py --paragraphs {disk['paragraphs']}`: lookup + verify against "
             f"{disk['paragraphs']:,} committed paragraphs ({figures['queries']:,} real BBC + Reuters paragraphs as "
             "queries, half of them in the index; CPU of one process, batches of 1024). Batched: the decide "
             "stage's window (bench/lookup_pass.py --window-only); per row: lookup_many + verify a paragraph at a "
             "time.", "",
             "| index | paragraphs | batched, paragraphs/s (passes) | per row, paragraphs/s (passes) "
             "| bytes per paragraph |", "|---|---|---|---|---|",
             f"| on disk | {disk['paragraphs']:,} | {rates(disk['batched_passes'])} | {rates(disk['passes'])} | "
             f"{disk['bytes_per_paragraph']} |"]
    if "redis" in figures:
        redis = figures["redis"]
        lines.append(f"| Redis | {redis['paragraphs']:,} | {rates(redis['batched_passes'])} | "
                     f"{rates(redis['passes'])} | {redis['bytes_per_paragraph']} |")
    memory = figures["memory"]
    lines.append(f"| in memory (the loop alone) | {memory['paragraphs']:,} | - | {memory['rate']:,} | n/a |")
    files = ", ".join(f"{k} {v:,}" for k, v in disk["files"].items())
    lines += ["", f"Files of the on-disk segment (bytes): {files}"]
    return "\n".join(lines) + "\n"


def blocks(section: str) -> tuple[str, dict[str, str]]:
    """`section` cut at its `### ` headings: the text before the first, and each sub-section
    by its heading (in order)."""
    parts = section.split("\n### ")
    found = {}
    for part in parts[1:]:
        heading = "### " + part.split("\n", 1)[0]
        found[heading] = "### " + part.rstrip("\n") + "\n"
    return parts[0].rstrip("\n") + "\n", found


def merged(previous: str, new: dict[str, str]) -> str:
    """The section with the sub-sections in `new` replaced (or put first), every other
    sub-section of `previous` (older measurements, notes) kept after them as it was."""
    _, old = blocks(previous) if previous else ("", {})
    order = [RSS_BLOCK, LOOKUP_BLOCK]
    latest = [new.get(h) or old.get(h) for h in order]
    rest = [text for heading, text in old.items() if heading not in order]
    intro = (f"{TITLE}\n\nWritten by `bench/index_report.py` (in `make bench`): each run replaces only the "
             "sub-section it measured; the older measurements below the two latest are kept by hand.\n")
    return "\n".join([intro, *[t for t in latest if t], *rest])


def put_section(path: Path, text: str) -> None:
    """Replace the section in `path` (or add it before "## At scale", else at the end)."""
    old = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    if TITLE in old:
        head, rest = old.split(TITLE, 1)
        tail = rest[rest.find("\n## "):] if "\n## " in rest else ""
        path.write_text(head + text + tail, encoding="utf-8")
    elif "\n## At scale" in old:
        head, tail = old.split("\n## At scale", 1)
        path.write_text(head.rstrip("\n") + "\n\n" + text + "\n## At scale" + tail, encoding="utf-8")
    else:
        path.write_text(old.rstrip("\n") + "\n\n" + text, encoding="utf-8")


def kept(path: Path) -> str:
    """The section as `path` has it now ("" if none), for a rewrite of the file to keep."""
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    if TITLE not in old:
        return ""
    rest = old.split(TITLE, 1)[1]
    return TITLE + (rest[:rest.find("\n## ")] + "\n" if "\n## " in rest else rest)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="20MB,200MB", help="generated corpus sizes for the RSS table")
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--paragraphs", type=int, default=10_000_000, help="committed index size (0: skip)")
    parser.add_argument("--redis-url", default=os.environ.get("CLEANER_BENCH_REDIS"))
    parser.add_argument("--output", type=Path, default=BENCH / "RESULTS.md")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs of each size, interleaved by round; a row gives their medians")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    text = main_section(args.sizes, args.paragraphs, args.redis_url, args.seed, args.repeat, kept(args.output))
    put_section(args.output, text)
    print(text)


def main_section(sizes: str, paragraphs: int, redis_url: str | None, seed: int = 17, repeat: int = 1,
                 previous: str = "") -> str:
    """Measure (the RSS table at `sizes`, `repeat` runs each; the lookups against
    `paragraphs`; either skipped when empty or 0) and render the section: `previous` (the
    section as it was) with only the measured sub-sections replaced."""
    new = {}
    size_list = [parse_size(s) for s in sizes.split(",") if s]
    if size_list:
        from cleaner.dedup.store import SPILL_BYTES

        note = ("The generated corpus (bench/generate.py "
                f"--seed {seed}), cleaner --workers 1 without --index, so with its temporary on-disk index "
                f"({SPILL_BYTES >> 20} MiB of each kind in memory, the rest spilled). CPU s: the process tree; peak "
                "PSS sampled every 50 ms; max RSS from wait4.")
        if repeat > 1:
            note += (f" Each size run {repeat} times, interleaved by round (every size once, then again); a row "
                     "gives the median of its runs, max RSS min-max over them, and vs the smallest compares the "
                     "medians.")
        new[RSS_BLOCK] = rss_block(rss_rows(size_list, seed, repeat), note)
    if paragraphs:
        new[LOOKUP_BLOCK] = lookup_block(lookup_figures(paragraphs, redis_url))
    return merged(previous, new)


if __name__ == "__main__":
    main()
