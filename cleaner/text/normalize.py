"""str -> str: repair mojibake with ftfy, then normalise Unicode and whitespace.

Repair runs first, because a mojibake sequence such as "Ã©" must be seen as ftfy sees it
before whitespace or control characters around it change.
"""

from __future__ import annotations

import re
import unicodedata

import ftfy

from cleaner.config import Config
from cleaner.record import Document
from cleaner.text.repair import PROFILES, Known, fixer_config, repair_text, repair_with

__all__ = ["PROFILES", "Normalizer", "normalize_document", "normalize_text", "repair_text"]
_MAX_ROUNDS = 16  # a safety net only: each round either stops or removes something

# Line and paragraph separators other than "\n"; U+2029 separates paragraphs.
_BREAKS = str.maketrans({"\r": "\n", "\v": "\n", "\f": "\n", "\x85": "\n", "\u2028": "\n", "\u2029": "\n\n"})
# Control characters except \t and \n; zero-width space, word joiner, BOM; bidi controls.
# ZWJ and ZWNJ (U+200C/D) stay: emoji sequences and Persian/Indic words need them.
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b\u2060\ufeff\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069]"
)
_ASCII_INVISIBLE = bytes(b for b in range(128) if _INVISIBLE.match(chr(b)))
_BREAK_CHARS = "\r\v\f\x85\u2028\u2029"
_LINE_ENDS = re.compile(r" +(?=\n)")


def normalize_text(text: str, keep_indent: bool = False) -> str:
    """NFC; every line break to "\\n"; drop invisible controls; tidy spaces and tabs.

    Runs of spaces and tabs inside a line become one space, and each line and the whole
    text lose leading and trailing spaces. Correct NFC text without these is unchanged.
    With `keep_indent` a line keeps one leading space where it had any (blank lines become
    empty): indentation is what marks a paragraph in hard-wrapped newswire.
    """
    if any(char in text for char in _BREAK_CHARS):  # `in` is a memchr: faster than a regex
        text = text.replace("\r\n", "\n").translate(_BREAKS)
    if text.isascii():  # NFC leaves ASCII alone; bytes.translate drops its controls in C
        raw = text.encode("ascii")
        kept = raw.translate(None, _ASCII_INVISIBLE)
        if len(kept) != len(raw):
            text = kept.decode("ascii")
    else:
        text = _INVISIBLE.sub("", unicodedata.normalize("NFC", text))
    # str.replace, not re.sub: newswire has a match on every line, and a regex substitution
    # costs a Python-level step per match (4x slower). Tabs become spaces; then each pass
    # halves every run of spaces, so a run of n takes log2(n) passes.
    text = text.replace("\t", " ")
    while "  " in text:
        text = text.replace("  ", " ")
    if keep_indent:
        return _LINE_ENDS.sub("", text).strip("\n").rstrip(" ")
    # With no run left, a line edge holds at most one space on each side.
    return text.replace(" \n", "\n").replace("\n ", "\n").strip(" \n")


def clean_to_fixed_point(text: str, profile: str, keep_indent: bool = False,
                         known: dict[ftfy.TextFixerConfig, Known] | None = None) -> tuple[str, list[str]]:
    """Repair, then normalise, until neither changes the text; return it and ftfy's fixes.

    Normalising can expose a repair (a zero-width space removed from the middle of "Ã©"),
    so the pair runs again while normalising changes something; lines ftfy already saw
    are not given to it twice, so the second round costs little. `keep_indent` is passed
    to `normalize_text`. `known`, per ftfy config, what ftfy made of the pieces it saw,
    may be shared by the documents of a chunk (see `Normalizer`).
    """
    fixes: list[str] = []
    if profile == "off":
        return normalize_text(text, keep_indent), fixes
    # Line ends are never part of a mojibake sequence: settling them first spares most
    # documents a second round (a final "\n" would otherwise change after repair).
    text = text.replace("\r\n", "\n").strip("\n")
    config = fixer_config(profile, text)
    answers = (known if known is not None else {}).setdefault(config, {})
    for _ in range(_MAX_ROUNDS):
        repaired = repair_with(text, config, fixes, answers)
        text = normalize_text(repaired, keep_indent)
        if text == repaired:
            break
    return text, fixes


def normalize_document(doc: Document, config: Config,
                       known: dict[ftfy.TextFixerConfig, Known] | None = None) -> Document:
    """Repair and normalise `doc.text`, recording ftfy's fixes in the audit."""
    if not doc.alive or doc.text is None:
        return doc
    doc.text, doc.audit["fixes"] = clean_to_fixed_point(doc.text, config.repair, config.keeps_indentation, known)
    return doc


class Normalizer:
    """Per-document step (`many` takes a chunk): `normalize_document`, with what ftfy made
    of each piece shared by the chunk's documents, so a line that recurs in many of them
    (a wire footer, a copyright line with an entity) goes to ftfy once. Nothing outlives
    the chunk: memory stays bounded and every chunk is cleaned the same wherever it runs."""

    def __init__(self, config: Config) -> None:
        self.config = config

    def __call__(self, doc: Document) -> Document:
        return self.many([doc])[0]

    def many(self, docs: list[Document]) -> list[Document]:
        known: dict[ftfy.TextFixerConfig, Known] = {}
        for doc in docs:
            normalize_document(doc, self.config, known)
        return docs
