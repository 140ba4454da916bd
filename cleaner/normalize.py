"""str -> str: repair mojibake with ftfy, then normalise Unicode and whitespace.

Repair runs first, because a mojibake sequence such as "Ã©" must be seen as ftfy sees it
before whitespace or control characters around it change.
"""

from __future__ import annotations

import re
import unicodedata

import ftfy

from .config import Config
from .record import Document

_SAFE = ftfy.TextFixerConfig(
    unescape_html="auto",
    fix_latin_ligatures=False,
    fix_character_width=False,
    uncurl_quotes=False,
    fix_line_breaks=False,
    normalization="NFC",
    explain=True,
)
_AGGRESSIVE = _SAFE._replace(
    fix_latin_ligatures=True, fix_character_width=True, uncurl_quotes=True, normalization="NFKC"
)
PROFILES = {"safe": _SAFE, "aggressive": _AGGRESSIVE}

# Line and paragraph separators other than "\n"; U+2029 separates paragraphs.
_BREAKS = str.maketrans({"\r": "\n", "\v": "\n", "\f": "\n", "\x85": "\n", "\u2028": "\n", "\u2029": "\n\n"})
# Control characters except \t and \n; zero-width space, word joiner, BOM; bidi controls.
# ZWJ and ZWNJ (U+200C/D) stay: emoji sequences and Persian/Indic words need them.
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b\u2060\ufeff\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069]"
)
_SPACE_RUN = re.compile(r"[ \t]+")
_LINE_EDGES = re.compile(r"[ \t]*\n[ \t]*")
_LINE_ENDS = re.compile(r"[ \t]+(?=\n)")


def repair_text(text: str, profile: str = "safe") -> tuple[str, list[str]]:
    """Apply ftfy with `profile` until the text stops changing; return it and the fixes used."""
    if profile == "off":
        return text, []
    fixes: list[str] = []
    while True:
        fixed, explanation = ftfy.fix_and_explain(text, PROFILES[profile])
        fixes.extend(step for _, step in explanation or [] if step not in fixes)
        if fixed == text:
            return text, fixes
        text = fixed


def normalize_text(text: str, keep_indent: bool = False) -> str:
    """NFC; every line break to "\\n"; drop invisible controls; tidy spaces and tabs.

    Runs of spaces and tabs inside a line become one space, and each line and the whole
    text lose leading and trailing spaces. Correct NFC text without these is unchanged.
    With `keep_indent` a line keeps one leading space where it had any (blank lines become
    empty): indentation is what marks a paragraph in hard-wrapped newswire.
    """
    text = text.replace("\r\n", "\n").translate(_BREAKS)
    text = _INVISIBLE.sub("", unicodedata.normalize("NFC", text))
    if keep_indent:
        return _LINE_ENDS.sub("", _SPACE_RUN.sub(" ", text)).strip("\n").rstrip(" ")
    text = _LINE_EDGES.sub("\n", _SPACE_RUN.sub(" ", text))
    return text.strip(" \t\n")


def normalize_document(doc: Document, config: Config) -> Document:
    """Repair and normalise `doc.text`, recording ftfy's fixes in the audit."""
    if not doc.alive or doc.text is None:
        return doc
    doc.text, doc.audit["fixes"] = clean_to_fixed_point(doc.text, config.repair, config.keeps_indentation)
    return doc


def clean_to_fixed_point(text: str, profile: str, keep_indent: bool = False) -> tuple[str, list[str]]:
    """Repair then normalise until neither changes the text.

    Normalising can expose new mojibake (dropping a stray control character can join "Â"
    and "‘"), so one round of each is not always stable; the loop makes cleaning idempotent.
    """
    fixes: list[str] = []
    while True:
        repaired, new_fixes = repair_text(text, profile)
        fixes.extend(f for f in new_fixes if f not in fixes)
        cleaned = normalize_text(repaired, keep_indent)
        if cleaned == text:
            return cleaned, fixes
        text = cleaned
