"""How often decoding gets real text right: cleaner's `decode_bytes` against charset-normalizer
alone and ftfy's `guess_bytes`, scored by the decoded text (a superset codec that gives the
same text, cp932 for Shift_JIS, counts as right).

Cases: the articles of fixtures/articles (real translated sentences, one per language) in
every encoding listed in fixtures/cases/articles.jsonl, plus UTF-8/16/32 without a BOM; the
short texts of fixtures/cases/encodings.jsonl; BBC articles with non-ASCII text re-encoded as
cp1252 (curly quotes, dashes) and Latin-1.

    .venv/bin/python bench/detect_encodings.py [../shared/data/bbc] [--by-encoding]
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
import json
from pathlib import Path
import re
import sys
import time

from charset_normalizer import from_bytes
import ftfy

from cleaner.text.decode import decode_bytes

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
UTF = ("utf-8", "utf-16-le", "utf-16-be", "utf-32-le")
Case = tuple[str, str, str, bytes]  # (group, encoding, text, bytes)


def curl(text: str) -> str:
    text = re.sub(r'"([^"\n]*)"', "\u201c\\1\u201d", text)
    return text.replace("'", "\u2019").replace(" - ", " \u2013 ")


def article_cases() -> list[Case]:
    out = []
    for line in (FIXTURES / "cases" / "articles.jsonl").open(encoding="utf-8"):
        case = json.loads(line)
        text = (FIXTURES / "articles" / case["file"]).read_text(encoding="utf-8")
        out += [(case["script"], codec, text, text.encode(codec)) for codec in case["encodings"]]
        out += [("UTF-8 / UTF-16 / UTF-32", codec, text, text.encode(codec)) for codec in UTF]
    return out


def short_cases() -> list[Case]:
    out = []
    for line in (FIXTURES / "cases" / "encodings.jsonl").open(encoding="utf-8"):
        case = json.loads(line)
        out += [("short texts", c, case["text"], case["text"].encode(c)) for c in case["encodings"]]
    return out


def bbc_cases(bbc: Path) -> list[Case]:
    out = []
    for path in sorted(bbc.glob("*/*.txt")):
        text = path.read_bytes().decode("utf-8", "replace").replace("\ufffd", "£")
        if text.isascii():
            continue  # ASCII is valid UTF-8: never reaches a detector
        out.append(("BBC cp1252", "cp1252", curl(text), curl(text).encode("cp1252")))
        out.append(("BBC Latin-1", "latin_1", text, text.encode("latin-1")))
    return out


def _ftfy(raw: bytes) -> str:
    try:
        return ftfy.guess_bytes(raw)[0]
    except UnicodeError:  # guess_bytes gives up on what is neither UTF nor cp1252
        return ""


DETECTORS: dict[str, Callable[[bytes], str]] = {
    "cleaner": lambda raw: decode_bytes(raw).text,
    "charset-normalizer": lambda raw: str(from_bytes(raw).best()),
    "ftfy.guess_bytes": _ftfy,
}


def score(data: list[Case]) -> dict[str, tuple[Counter, Counter, float]]:
    """Per detector: right answers per (group, encoding), the totals, MB/s."""
    out = {}
    for name, detect in DETECTORS.items():
        right, total = Counter(), Counter()
        started = time.perf_counter()
        for group, codec, text, raw in data:
            total[group, codec] += 1
            right[group, codec] += detect(raw) == text
        seconds = time.perf_counter() - started
        out[name] = (right, total, sum(len(c[3]) for c in data) / 1e6 / seconds)
    return out


def table(scores: dict[str, tuple[Counter, Counter, float]], by_encoding: bool) -> list[str]:
    """A markdown table: one row per group (or group and encoding), one column per detector."""
    names = list(scores)
    lines = ["| cases | n | " + " | ".join(names) + " |", "|---|---|" + "---|" * len(names)]
    total = next(iter(scores.values()))[1]
    keys = list(dict.fromkeys(total)) if by_encoding else list(dict.fromkeys(g for g, _ in total))
    for key in keys:
        def sums(counter: Counter, key: object = key) -> int:
            return sum(v for k, v in counter.items() if (k == key if by_encoding else k[0] == key))
        label = f"{key[0]}: {key[1]}" if by_encoding else key
        lines.append(f"| {label} | {sums(total)} | " + " | ".join(str(sums(scores[n][0])) for n in names) + " |")
    lines.append("| speed, MB/s | | " + " | ".join(f"{scores[n][2]:.1f}" for n in names) + " |")
    return lines


def main(bbc: Path, by_encoding: bool) -> None:
    data = article_cases() + short_cases() + (bbc_cases(bbc) if bbc.exists() else [])
    print("\n".join(table(score(data), by_encoding)))


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    main(Path(args[0]) if args else ROOT.parent / "shared" / "data" / "bbc", "--by-encoding" in sys.argv)
