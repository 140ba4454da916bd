"""`make bench`'s "Persistent index" section of bench/RESULTS.md (issue 12): peak RSS of a
whole run as the generated corpus grows (the run's index spills to disk past its budget,
so memory stays flat), and the lookup + verify figures against a large committed index
(bench/index_bench.py). The section is replaced in place; the rest of the file is kept.

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


def section(rows: list[dict], figures: dict | None, note: str) -> str:
    if any("runs" in row for row in rows):  # medians of repeated runs
        lines = [TITLE, "", note, "", "| MB in | CPU s | wall s | peak PSS MB | max RSS MB | max RSS min-max | runs "
                 "| vs the smallest | exit |", "|---|---|---|---|---|---|---|---|---|"]
        for row in rows:
            lines.append(f"| {row['mb']} | {row['cpu']} | {row['wall']} | {row['peak']} | {row['rss']} | "
                         f"{row.get('rss_min', row['rss'])}-{row.get('rss_max', row['rss'])} | {row.get('runs', 1)} | "
                         f"{row['rss'] / rows[0]['rss']:.2f}x | {row['returncode']} |")
        each = "; ".join(f"{row['mb']} MB: {', '.join(map(str, row.get('each', [row['rss']])))}" for row in rows)
        lines += ["", f"Max RSS MB of each run, in round order: {each}."]
    else:
        lines = [TITLE, "", note, "", "| MB in | CPU s | wall s | peak PSS MB | max RSS MB | vs the smallest | exit |",
                 "|---|---|---|---|---|---|---|"]
        for row in rows:
            lines.append(f"| {row['mb']} | {row['cpu']} | {row['wall']} | {row['peak']} | {row['rss']} | "
                         f"{row['rss'] / rows[0]['rss']:.2f}x | {row['returncode']} |")
    if figures:
        disk = figures["disk"]
        lines += ["", f"Lookup + verify against {disk['paragraphs']:,} committed paragraphs "
                  f"({figures['queries']:,} real BBC + Reuters paragraphs as queries, half of them in the index; "
                  "CPU of one process, batches of 1024):", "",
                  "| index | paragraphs | paragraphs/s (passes) | bytes per paragraph |", "|---|---|---|---|",
                  f"| on disk | {disk['paragraphs']:,} | {', '.join(f'{r:,}' for r, _ in disk['passes'])} | "
                  f"{disk['bytes_per_paragraph']} |"]
        if "redis" in figures:
            redis = figures["redis"]
            lines.append(f"| Redis | {redis['paragraphs']:,} | {', '.join(f'{r:,}' for r, _ in redis['passes'])} | "
                         f"{redis['bytes_per_paragraph']} |")
        memory = figures["memory"]
        lines.append(f"| in memory (the loop alone) | {memory['paragraphs']:,} | {memory['rate']:,} | n/a |")
        files = ", ".join(f"{k} {v:,}" for k, v in disk["files"].items())
        lines += ["", f"Files of the on-disk segment (bytes): {files}"]
    return "\n".join(lines) + "\n"


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
    text = main_section(args.sizes, args.paragraphs, args.redis_url, args.seed, args.repeat)
    put_section(args.output, text)
    print(text)


def main_section(sizes: str, paragraphs: int, redis_url: str | None, seed: int = 17, repeat: int = 1) -> str:
    """Measure (the RSS table at `sizes`, `repeat` runs each; the lookups against
    `paragraphs`) and render the section."""
    rows = rss_rows([parse_size(s) for s in sizes.split(",") if s], seed, repeat)
    figures = lookup_figures(paragraphs, redis_url) if paragraphs else None
    from cleaner.dedup.store import SPILL_BYTES

    note = ("`bench/index_report.py` (in `make bench`; `BENCH_ARGS=\"--index-sizes 200MB,1GB\"`): the generated corpus "
            f"(bench/generate.py --seed {seed}), cleaner --workers 1 without --index, so with its temporary "
            f"on-disk index ({SPILL_BYTES >> 20} MiB of each kind in memory, the rest spilled). "
            "CPU s: the process tree; peak PSS sampled every 50 ms; max RSS from wait4.")
    if repeat > 1:
        note += (f" Each size run {repeat} times, interleaved by round (every size once, then again); a row gives "
                 "the median of its runs, max RSS min-max over them, and vs the smallest compares the medians.")
    return section(rows, figures, note)


if __name__ == "__main__":
    main()
