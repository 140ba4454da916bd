"""text -> paragraphs, by the mode that fits the input.

- `blank`: paragraphs are separated by one or more blank lines (most scraped text).
- `indent`: hard-wrapped newswire, where a line that starts with a space begins a
  paragraph (blank lines still separate too). Needs the text normalised with
  `keep_indent`, which `Config.keeps_indentation` asks for.
- `line`: every non-empty line is a paragraph (lists, subtitles, one sentence a line).
- `auto`: one of the three per document, by `choose_mode`.

Paragraph texts never keep line-leading spaces; `unwrap` also rejoins a paragraph's lines
with single spaces (only when asked: line breaks can carry meaning, as in verse or tables).
"""

from __future__ import annotations

import itertools
import re

from cleaner.config import Config
from cleaner.record import Document, Paragraph, Reject

_BLANK_LINES = re.compile(r"\n[ \t]*\n\s*")
_SENTENCE_END = re.compile(r"[.!?:;\"'”’»)\]]$")

# `auto` picks `line` when a text without blank lines or indents has at least two lines and
# every one ends a sentence: hard-wrapped prose ends a sentence on few lines. "Every", not
# "most": removing repeated lines then keeps the choice, so cleaning stays idempotent.
LINE_MODE_MIN_LINES = 2


def _indented(line: str) -> bool:
    return line[:1] in (" ", "\t")


def choose_mode(text: str) -> str:
    """The paragraph mode for one document (`auto`): `indent`, `line` or `blank`.

    `indent` when some indented line is followed by a flush-left one: a paragraph that
    starts indented and wraps, the mark of hard-wrapped newswire. Where every line of a
    block is indented (a table, a block quote) indentation is layout, and stays `blank`.
    Expects line-leading spaces kept (`normalize_text(..., keep_indent=True)`).
    """
    lines = text.split("\n")
    if any(_indented(a) and b and not _indented(b) for a, b in itertools.pairwise(lines)):
        return "indent"
    filled = [line for line in lines if line.strip()]
    if (len(filled) >= LINE_MODE_MIN_LINES and len(filled) == len(lines) and not any(map(_indented, filled))
            and all(_SENTENCE_END.search(line) for line in filled)):
        return "line"
    return "blank"


def _indent_blocks(block: str) -> list[str]:
    """Split one blank-line block before every indented line but the first."""
    pieces: list[list[str]] = []
    for line in block.split("\n"):
        if not pieces or _indented(line):
            pieces.append([line])
        else:
            pieces[-1].append(line)
    return ["\n".join(piece) for piece in pieces]


def split_paragraphs(text: str, mode: str = "blank", unwrap: bool = False, sentence_lines: bool = False) -> list[str]:
    """Split text into paragraphs by `mode`; empty pieces are dropped, line edges stripped.

    With `sentence_lines` (what `auto` does), a block of two or more lines that all end a
    sentence is split into its lines whatever mode the document gets: kept whole, it could
    be all that is left once its neighbours are removed, a text `auto` then reads as `line`
    mode, and cleaning again would remove more: not idempotent.
    """
    if mode == "auto":
        mode, sentence_lines = choose_mode(text), True
    if mode == "line":
        pieces = text.split("\n")
    else:
        pieces = _BLANK_LINES.split(text.strip("\n"))
        if mode == "indent":
            pieces = [p for block in pieces for p in _indent_blocks(block)]
    joiner = " " if unwrap else "\n"
    out = []
    for piece in pieces:
        lines = [stripped for line in piece.split("\n") if (stripped := line.strip())]
        if sentence_lines and len(lines) > 1 and all(_SENTENCE_END.search(line) for line in lines):
            out.extend(lines)
        elif lines:
            out.append(joiner.join(lines))
    return out


def separator(mode: str) -> str:
    """What goes between paragraphs on output: a line break in `line` mode, else a blank line."""
    return "\n" if mode == "line" else "\n\n"


def segment_document(doc: Document, config: Config) -> Document:
    """Fill `doc.paragraphs` and drop `doc.text`, which they now hold (as decode drops `raw`);
    a document with no text at all is rejected as empty."""
    if not doc.alive or doc.text is None:
        return doc
    mode = choose_mode(doc.text) if config.paragraphs == "auto" else config.paragraphs
    pieces = split_paragraphs(doc.text, mode, config.unwrap, sentence_lines=config.paragraphs == "auto")
    if not pieces:
        doc.reject = Reject("empty", "empty or whitespace-only")
        return doc
    doc.paragraphs = [Paragraph(index, text) for index, text in enumerate(pieces)]
    doc.text = None
    doc.separator = separator(mode)
    if config.paragraphs == "auto":
        doc.audit["paragraphs"] = mode
    return doc
