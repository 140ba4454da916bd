"""Paragraph -> sentences, by a rule set: the unit sentence windows (issue 18) compare.

A sentence ends at a full stop of its script and the closing quotes or brackets after it:
- `。！？` (and their fullwidth and halfwidth forms) end a Chinese or Japanese sentence
  with no space after them; so do `।॥` (Devanagari), `။` (Burmese), `។` (Khmer), `؟`
  and `۔` (Arabic, Urdu), `։` (Armenian), `።` (Ethiopic).
- `.`, `!`, `?`, `…` end a sentence only before whitespace and a next sentence that does
  not start in lower case; `.` not after an abbreviation ("Mr.", "e.g.", "Jan."), a
  single capital ("J. K. Rowling") or inside a number ("1.5"), which need no rule.

Line breaks count as spaces (hard-wrapped text splits as unwrapped). Thai and Lao mark
sentences with a space, as they mark clauses: not split here. Spans are character
offsets into the text, so a removal can be logged against the paragraph as it is.
"""

from __future__ import annotations

import re

# Lower-cased, without the final period. Titles, Latin forms, months and days, company
# and address words: the abbreviations that end in "." mid-sentence in news text.
ABBREVIATIONS = frozenset("""
mr mrs ms dr prof rev sr jr st mt gen col lt capt cmdr sgt maj adm gov sen rep pres supt insp det
hon esq messrs mme mlle vs v etc e.g i.e cf al approx ca c no nos vol fig pp p ed eds est dept univ
jan feb mar apr jun jul aug sep sept oct nov dec mon tue tues wed thu thur thurs fri sat sun
inc ltd co corp plc bros llc dist ave rd blvd u.s u.k u.n e.u a.m p.m
""".split())
_CLOSING = "\"'”’»)]}」』）】〕〉》"
_UNSPACED_STOPS = "。！？｡︒﹒！？।॥။។؟۔։።"
_CLOSE = f"[{re.escape(_CLOSING)}]*"
_STOP = re.compile(f"[{re.escape(_UNSPACED_STOPS)}]+{_CLOSE}|(?:[.!?]+|…){_CLOSE}(?=\\s)")
_WORD_BEFORE = re.compile(r"([\w.]+)\.$")
_NEXT = re.compile(r"\s*(\S)")
_WORD_CHAR = re.compile(r"[\w.]")
_LONGEST = 16  # characters looked back for an abbreviation: longer than any of them


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of `text`, whitespace around them left out."""
    spans, start = [], 0
    for stop in _STOP.finditer(text):
        if stop.group()[0] in ".!?…" and not _ends_sentence(text, stop):
            continue
        spans.append(_trimmed(text, start, stop.end()))
        start = stop.end()
    spans.append(_trimmed(text, start, len(text)))
    return [(a, b) for a, b in spans if a < b]


def split_sentences(text: str) -> list[str]:
    """The sentences of `text`, as `sentence_spans` finds them."""
    return [text[a:b] for a, b in sentence_spans(text)]


def _ends_sentence(text: str, stop: re.Match[str]) -> bool:
    """Whether a Latin full stop, followed by whitespace, ends the sentence."""
    following = _NEXT.match(text, stop.end())
    if following is None:
        return True
    if following.group(1).islower():
        return False
    if stop.group()[0] != "." or stop.group().startswith(".."):
        return True
    low = max(0, stop.start() - _LONGEST)  # not from 0: that made a paragraph quadratic
    before = _WORD_BEFORE.search(text, low, stop.start() + 1)
    if before is None or (before.start() == low > 0 and _WORD_CHAR.match(text, low - 1)):
        return True  # no word, or one longer than any abbreviation
    word = before.group(1)
    if len(word) == 1 and word.isupper():  # an initial
        return False
    return word.lower() not in ABBREVIATIONS


def _trimmed(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end
