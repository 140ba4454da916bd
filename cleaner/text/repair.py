"""str -> str: ftfy's repairs (mojibake, HTML entities, C1 controls, ...) to a fixed point, fast.

ftfy works on one segment at a time; so do we, one line at a time as `ftfy.fix_text` does,
but with three differences:

- a line that provably cannot need a fix is not given to ftfy at all (`may_need_repair`);
  that is most lines of English text, and the reason this stage is several times faster;
- a line longer than ftfy's `max_decode_length` is cut at a space between ASCII characters,
  never inside a mojibake sequence or an HTML entity (ftfy cuts at the exact count);
- the fixes are applied until nothing changes, and which fixes applied is reported.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
import re

import ftfy

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
_MAX_PASSES = 8

# Why a line matching neither pattern is left exactly as it is by ftfy with these profiles:
# it is ASCII, so `fix_encoding` returns at once (ftfy checks `possible_encoding(text,
# "ascii")`), C1 controls, surrogates, ligatures, full-width forms and curly quotes cannot
# occur, and NFC/NFKC leave ASCII alone. What ASCII ftfy does change: "&" (HTML entities),
# ESC (terminal escapes), and the controls `remove_control_chars` drops (U+00-08, U+0B,
# U+0E-1F, U+7F). \r would matter only to `fix_line_breaks`, which both profiles turn off.
# tests/test_repair.py checks this claim against ftfy itself on many inputs.
_MAY_NEED_FIX = re.compile(r"[^\t\n\r\x0c\x20-\x25\x27-\x7e]")
_MAY_NEED_FIX_NO_HTML = re.compile(r"[^\t\n\r\x0c\x20-\x7e]")
# The same sets as bytes to delete: what an ASCII text holds besides them is what may need ftfy.
_SAFE_ASCII = bytes(b for b in range(128) if not _MAY_NEED_FIX.match(chr(b)))
_SAFE_ASCII_NO_HTML = bytes(b for b in range(128) if not _MAY_NEED_FIX_NO_HTML.match(chr(b)))


def fixer_config(profile: str, text: str) -> ftfy.TextFixerConfig:
    """The ftfy config for `profile` and this document.

    HTML entities are unescaped only when the document has no "<", as ftfy's "auto" does;
    decided once per document, so every line and every pass sees the same rule.
    """
    config = PROFILES[profile]
    if config.unescape_html == "auto":
        config = config._replace(unescape_html="<" not in text)
    return config


def may_need_repair(segment: str, config: ftfy.TextFixerConfig) -> bool:
    """False only when ftfy with `config` provably returns `segment` unchanged."""
    pattern = _MAY_NEED_FIX if config.unescape_html else _MAY_NEED_FIX_NO_HTML
    return pattern.search(segment) is not None


def pieces(text: str, limit: int) -> Iterator[str]:
    """`text` cut after each "\\n" (as ftfy does), lines longer than `limit` into safe pieces."""
    lines = text.split("\n")
    for number, line in enumerate(lines):
        if number < len(lines) - 1:
            line += "\n"
        elif not line:
            return
        start = 0
        while len(line) - start > limit:
            end = _safe_cut(line, start, limit)
            yield line[start:end]
            start = end
        yield line[start:]


def _safe_cut(line: str, start: int, limit: int) -> int:
    """An index in (start + limit/2, start + limit] where `line` may be cut for ftfy.

    Preferably just after a space that follows an ASCII character: a mojibake sequence is
    made of non-ASCII characters (a space inside one follows a non-ASCII one), and an HTML
    entity or terminal escape holds no space. Else between two ASCII characters; else at
    the limit (a half-million non-ASCII characters without a single space or ASCII pair).
    """
    low, end = start + limit // 2, start + limit
    space = line.rfind(" ", low, end)
    while space > low and not line[space - 1].isascii():
        space = line.rfind(" ", low, space)
    if space > low:
        return space + 1
    for cut in range(end, low, -1):
        if line[cut - 1].isascii() and line[cut].isascii():
            return cut
    return end


Known = dict[str, tuple[str, tuple[str, ...]]]  # piece -> (ftfy's fix of it, fix names)


def repair_pass(text: str, config: ftfy.TextFixerConfig, fixes: list[str], known: Known) -> str:
    """One pass of ftfy over the lines of `text` that may need it; appends new fix names.

    One search over the whole text (`_suspects`) finds the next character ftfy could
    change, and only its line goes to ftfy: the lines between are copied as they are,
    without a Python step per line. `known` holds what ftfy (with this config) made of pieces already seen:
    ftfy is deterministic, so a piece is given to it once (a document's second round, the
    same boilerplate line in many documents of a chunk).
    """
    out, done = [], 0
    suspect = _suspects(text, config)
    at = suspect(0)
    while at >= 0:
        start = text.rfind("\n", 0, at) + 1
        end = text.find("\n", at) + 1 or len(text)
        out.append(text[done:start])
        out.extend(_repair_line(text[start:end], config, fixes, known))
        done = end
        at = suspect(end)
    if not out:
        return text
    out.append(text[done:])
    return "".join(out)


def _suspects(text: str, config: ftfy.TextFixerConfig) -> Callable[[int], int]:
    """A function: position -> where the next character ftfy could change is, from there on
    (-1: none). For ASCII text (most text) the characters present are found once with
    `bytes.translate` and each is then looked for with `str.find` (memchr): 3x faster than
    the regex over the whole text, which stays for the rest."""
    if not text.isascii():
        pattern = _MAY_NEED_FIX if config.unescape_html else _MAY_NEED_FIX_NO_HTML
        return lambda start: match.start() if (match := pattern.search(text, start)) else -1
    present = set(text.encode("ascii").translate(None, _SAFE_ASCII if config.unescape_html else _SAFE_ASCII_NO_HTML))
    chars = [chr(b) for b in present]

    def nearest(start: int) -> int:
        found = [at for at in (text.find(char, start) for char in chars) if at >= 0]
        return min(found, default=-1)

    return nearest


def _repair_line(line: str, config: ftfy.TextFixerConfig, fixes: list[str], known: Known) -> Iterator[str]:
    """ftfy's fix of each piece of one line (with its "\n"), as `repair_pass` describes."""
    for piece in pieces(line, config.max_decode_length):
        if may_need_repair(piece, config):
            answer = known.get(piece)
            if answer is None:
                fixed, steps = ftfy.fix_and_explain(piece, config)
                answer = known[piece] = (fixed, tuple(f"{action}:{parameter}" for action, parameter in steps or ()))
                # fix_and_explain loops until its fixes change nothing, so its output is settled
                # too, unless it gained a line break (then the next pass cuts it differently).
                if "\n" not in fixed[:-1]:
                    known.setdefault(fixed, (fixed, ()))
            piece, names = answer
            for name in names:
                if name not in fixes:
                    fixes.append(name)
        yield piece


def repair_with(text: str, config: ftfy.TextFixerConfig, fixes: list[str], known: Known) -> str:
    """Repair `text` with `config` until a pass changes nothing."""
    for _ in range(_MAX_PASSES):
        fixed = repair_pass(text, config, fixes, known)
        if fixed == text:
            break
        text = fixed
    return text


def repair_text(text: str, profile: str = "safe") -> tuple[str, list[str]]:
    """Apply ftfy with `profile` until the text stops changing; return it and the fixes used.

    Fix names are ftfy's explanation steps as "action:parameter", e.g.
    "encode:sloppy-windows-1252", "decode:utf-8", "apply:unescape_html".
    """
    if profile == "off":
        return text, []
    fixes: list[str] = []
    return repair_with(text, fixer_config(profile, text), fixes, {}), fixes
