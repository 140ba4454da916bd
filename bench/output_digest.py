"""A digest of every output file of the standard runs, to prove a change keeps the bytes.

    python bench/output_digest.py OUT [--cleaner .venv/bin/cleaner] [--compare OTHER_OUT]

Runs the BBC folder, Reuters as a .jsonl.gz file and Reuters through a pipe into OUT/bbc,
OUT/reuters and OUT/pipe (with OUT/pipe-logs), then prints one sha256 a file. report.json is
hashed without `seconds` and `config.workers` (how a run went, not what it wrote), and
_SUCCESS without `manifest` and `accounts` (new for record runs); gzip files
by their content (their framing changed once, for resume). With `--compare`, prints only what
differs from another OUT, and the document-level `emptied`/`empty` lines removed.jsonl gained.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
from pathlib import Path
import shutil
import subprocess
import sys

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
NEW_LINES = ("emptied", "empty")


def run_all(cleaner: str, out: Path) -> None:
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    subprocess.run([cleaner, "clean", "-q", str(SHARED / "bbc"), str(out / "bbc")], check=False)
    subprocess.run([cleaner, "clean", "-q", "--paragraphs", "indent", str(SHARED / "reuters21578.jsonl.gz"),
                    str(out / "reuters")], check=False)
    with open(out / "pipe.jsonl", "wb") as sink:  # the pipe gets the decompressed lines, as from zcat
        subprocess.run([cleaner, "clean", "-q", "-", "-", "--log-dir", str(out / "pipe-logs")], stdout=sink,
                       input=gzip.decompress((SHARED / "reuters21578.jsonl.gz").read_bytes()), check=False)


def content(path: Path, without_new_lines: bool) -> bytes:
    data = path.read_bytes()
    if path.name.endswith(".gz"):
        return gzip.decompress(data)
    if path.name in ("report.json", "_SUCCESS"):
        facts = json.loads(data)
        facts.pop("seconds", None)
        facts.pop("manifest", None)  # record runs' markers had none before the one job
        facts.pop("accounts", None)  # ... nor counted the emptied documents' own log lines
        if isinstance(facts.get("config"), dict):
            facts["config"].pop("workers", None)
        return json.dumps(facts, sort_keys=True).encode()
    if without_new_lines and path.name == "removed.jsonl":
        return b"".join(line for line in data.splitlines(True) if json.loads(line)["reason"] not in NEW_LINES)
    return data


def digests(out: Path, without_new_lines: bool = False) -> dict[str, str]:
    return {p.relative_to(out).as_posix(): hashlib.sha256(content(p, without_new_lines)).hexdigest()
            for p in sorted(out.rglob("*")) if p.is_file()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--cleaner", default=str(Path(sys.executable).with_name("cleaner")))
    parser.add_argument("--compare", type=Path, default=None)
    args = parser.parse_args()
    run_all(args.cleaner, args.out)
    if args.compare is None:
        for name, digest in digests(args.out).items():
            print(digest[:16], name)
        return 0
    mine, theirs = digests(args.out, True), digests(args.compare, True)
    differ = sorted(n for n in set(mine) | set(theirs) if mine.get(n) != theirs.get(n))
    for name in sorted(mine):
        if name.endswith("removed.jsonl"):
            added = sum(json.loads(line)["reason"] in NEW_LINES for line in (args.out / name).open())
            print(f"{name}: {added} emptied/empty lines")
    print(f"{len(mine)} files; {len(differ)} differ" + "".join(f"\n  {name}" for name in differ))
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
