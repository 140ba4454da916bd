"""`make bench`'s "Persistent index" section of bench/RESULTS.md (issue 12): peak RSS of a
whole run as the generated corpus grows (the run's index spills to disk past its budget,
so memory stays flat), and the lookup + verify figures against a large committed index
(bench/index_bench.py). The section is replaced in place; the rest of the file is kept.

    python bench/index_report.py [--sizes 20MB,200MB] [--paragraphs 10000000] [--redis]
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
import shutil
import subprocess
import sys

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate import parse_size
from measure import run

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
TITLE = "## Persistent index: memory and lookups"


def rss_rows(sizes: list[int], seed: int) -> list[dict]:
    """`cleaner clean --workers 1` of the generated corpus at each size: CPU s, peak RSS."""
    from scale import corpus_for

    rows = []
    for size in sizes:
        source, out = corpus_for(size, seed), BENCH / "work" / "index-rss-out"
        shutil.rmtree(out, ignore_errors=True)
        measured = run([str(ROOT / ".venv" / "bin" / "cleaner"), "clean", "-q", "--workers", "1", str(source),
                        str(out)])
        rows.append({"mb": size // 10**6, "cpu": round(measured.cpu_seconds, 1), "wall": round(measured.seconds, 1),
                     "peak": round(measured.peak_mb), "rss": round(measured.max_rss_mb),
                     "returncode": measured.returncode})
        shutil.rmtree(out, ignore_errors=True)
    return rows


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
    args = parser.parse_args()
    text = main_section(args.sizes, args.paragraphs, args.redis_url, args.seed)
    put_section(args.output, text)
    print(text)


def main_section(sizes: str, paragraphs: int, redis_url: str | None, seed: int = 17) -> str:
    """Measure (the RSS table at `sizes`, the lookups against `paragraphs`) and render the section."""
    rows = rss_rows([parse_size(s) for s in sizes.split(",") if s], seed)
    figures = lookup_figures(paragraphs, redis_url) if paragraphs else None
    from cleaner.dedup.store import SPILL_BYTES

    note = ("`bench/index_report.py` (in `make bench`; `BENCH_ARGS=\"--index-sizes 200MB,1GB\"`): the generated corpus "
            f"(bench/generate.py --seed {seed}), cleaner --workers 1 without --index, so with its temporary "
            f"on-disk index ({SPILL_BYTES >> 20} MiB of each kind in memory, the rest spilled). "
            "CPU s: the process tree; peak PSS sampled every 50 ms; max RSS from wait4.")
    return section(rows, figures, note)


if __name__ == "__main__":
    main()
