"""Per-document step that rejects pathological text (a giant paragraph, a flood of
combining marks) before the costly stages see it."""

from __future__ import annotations

from functools import cache
import re
import unicodedata

from cleaner.config import Config
from cleaner.record import Document, Reject

LAST_COMBINING = 0x1FFFF  # no later code point has a combining class (planes 2-16: CJK, tags, private use)


def _non_starter_ranges() -> list[tuple[int, int]]:
    """The (first, last) code point runs with a non-zero combining class."""
    ranges: list[tuple[int, int]] = []
    start = None
    for point in range(LAST_COMBINING + 2):
        marked = point <= LAST_COMBINING and unicodedata.combining(chr(point))
        if marked and start is None:
            start = point
        elif not marked and start is not None:
            ranges.append((start, point - 1))
            start = None
    return ranges


def _non_starter_class(last: int = LAST_COMBINING) -> str:
    """A regex character class of every code point up to `last` with a non-zero combining class."""
    return "[" + "".join(f"{re.escape(chr(low))}-{re.escape(chr(high))}"
                         for low, high in _RANGES if low <= last) + "]"


_RANGES = _non_starter_ranges()
_NON_STARTER = _non_starter_class()
# The same class cut at the end of the Basic Multilingual Plane, for text with no character
# past it (nearly all text): re matches a BMP-only class with one table lookup, but tries a
# class with astral code points range by range, which made this check 15x slower.
_BMP_NON_STARTER = _non_starter_class(0xFFFF)
_ASTRAL = re.compile("[\U00010000-\U0010FFFF]")
_BREAK = r"(?:\r\n|[\n\r\v\f\x85\u2028])"
_BLANK = f"{_BREAK}[ \\t]*{_BREAK}|\u2029"
# Where a paragraph ends in the raw text, by paragraph mode: at blank lines always; at
# every line break in `line` mode; before an indented line in `indent` mode. `auto` is
# measured as `line`, its finest choice, so it never rejects for a paragraph that its
# chosen mode might split (at the price of letting some giant ones pass).
_PARAGRAPH_BREAKS = {
    "blank": re.compile(_BLANK),
    "indent": re.compile(f"{_BLANK}|{_BREAK}(?=[ \\t])"),
    "line": re.compile(f"{_BREAK}|\u2029"),
    "auto": re.compile(f"{_BREAK}|\u2029"),
}


@cache
def _flood(limit: int, astral: bool = True) -> re.Pattern[str]:
    """More than `limit` non-starters in a row (of the BMP only, unless `astral`)."""
    return re.compile(f"{_NON_STARTER if astral else _BMP_NON_STARTER}{{{limit + 1},}}")


def combining_flood(text: str, limit: int) -> re.Match[str] | None:
    """The first run of more than `limit` combining marks (non-starters) in `text`, if any."""
    if text.isascii():
        return None
    return _flood(limit, _ASTRAL.search(text) is not None).search(text)


def longest_paragraph(text: str, mode: str = "blank") -> tuple[int, int]:
    """(characters, start offset) of the longest paragraph of decoded `text` in paragraph
    `mode` (see _PARAGRAPH_BREAKS), measured before normalisation."""
    best, start = (0, 0), 0
    for match in _PARAGRAPH_BREAKS[mode].finditer(text):
        best = max(best, (match.start() - start, -start))
        start = match.end()
    best = max(best, (len(text) - start, -start))
    return best[0], -best[1]


def check_limits(doc: Document, config: Config) -> Document:
    """Reject decoded text that no later stage should have to handle, with its line in the
    input. Runs right after decoding, so repair and normalisation never see such text.

    - a paragraph longer than `max_paragraph_chars` (no real paragraph is; a missing
      line structure or a dumped blob is the usual cause);
    - more than `max_combining` combining marks in a row (Unicode's Stream-Safe Text
      Format, UAX #15, allows 30): "Zalgo" floods that are not text in any script.
    """
    if not doc.alive or doc.text is None:
        return doc
    text = doc.text
    if len(text) > config.max_paragraph_chars:
        size, start = longest_paragraph(text, config.paragraphs)
        if size > config.max_paragraph_chars:
            line = text.count("\n", 0, start) + 1
            doc.reject = Reject("paragraph_too_long", f"a paragraph of {size:,} characters at line {line} "
                                f"(limit {config.max_paragraph_chars:,})", line)
            return doc
    match = combining_flood(text, config.max_combining)
    if match is not None:
        line = text.count("\n", 0, match.start()) + 1
        doc.reject = Reject("combining_flood", f"{match.end() - match.start():,} combining marks in a row at "
                            f"line {line} (limit {config.max_combining})", line)
    return doc
