"""How often the legacy-encoding detector gets real text right, against ftfy.guess_bytes
and plain charset-normalizer: BBC articles re-encoded as cp1252 (curly quotes, dashes) and
Latin-1, and the multilingual golden cases of fixtures/cases/encodings.jsonl.

    .venv/bin/python bench/detect_encodings.py [../shared/data/bbc]
"""

from __future__ import annotations

from collections import Counter
import json
from pathlib import Path
import re
import sys
import time

from charset_normalizer import from_bytes
import ftfy

from cleaner.text.detect import detect_legacy

ROOT = Path(__file__).resolve().parent.parent


def curl(text: str) -> str:
    text = re.sub(r'"([^"\n]*)"', "\u201c\\1\u201d", text)
    return text.replace("'", "\u2019").replace(" - ", " \u2013 ")


def cases(bbc: Path) -> list[tuple[str, str, bytes]]:
    out = []
    for path in sorted(bbc.glob("*/*.txt")):
        text = path.read_bytes().decode("utf-8", "replace").replace("\ufffd", "£")
        if text.isascii():
            continue  # ASCII is valid UTF-8: never reaches a detector
        out.append(("bbc cp1252 curly", curl(text), curl(text).encode("cp1252")))
        out.append(("bbc latin-1", text, text.encode("latin-1")))
    for line in (ROOT / "fixtures" / "cases" / "encodings.jsonl").open(encoding="utf-8"):
        case = json.loads(line)
        for codec in case["encodings"]:
            if not codec.startswith("utf"):
                out.append(("multilingual", case["text"], case["text"].encode(codec)))
    return out


DETECTORS = {
    "cleaner detect_legacy": lambda raw: raw.decode(detect_legacy(raw), "replace"),
    "ftfy.guess_bytes": lambda raw: ftfy.guess_bytes(raw)[0],
    "charset-normalizer best()": lambda raw: str(from_bytes(raw).best()),
}


def main(bbc: Path) -> None:
    data = cases(bbc)
    for name, detect in DETECTORS.items():
        right, total, size = Counter(), Counter(), 0
        started = time.perf_counter()
        for group, text, raw in data:
            total[group] += 1
            right[group] += detect(raw) == text
            size += len(raw)
        seconds = time.perf_counter() - started
        scores = ", ".join(f"{g} {right[g]}/{total[g]}" for g in total)
        print(f"{name:27} {scores}  ({size / 1e6 / seconds:.1f} MB/s)")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "data" / "bbc")
