"""The tokens paragraphs are shingled on: words where a script separates them, characters where not.

`words` is the `\\w+` of the case-folded text, as the exact keys have always used. It
serves scripts that put spaces between words, but it sees a whole Chinese or Japanese
clause as one "word" (so two paragraphs that differ in one phrase share no shingle), and
it cuts Thai, Lao, Khmer and Burmese at their vowel and tone marks, a split nobody chose.

`script_tokens` keeps every run of other scripts as `words` does, and makes each character
of Han, Hiragana, Katakana, Hangul, Thai, Lao, Khmer and Burmese (with the combining
marks that follow it) a token of its own: the `ngram`-token shingles of such text are
character n-grams, which need no dictionary and see a one-phrase edit as a few changed
shingles. An English word inside Chinese stays one token. Text without those scripts gets
exactly `words(text)`, so its fingerprints are those of `Config(tokens="words")`.

A character carries less than a word, so `weight` counts them by script, in "words" as
`min_words` means them (see `CHARS_PER_WORD`).
"""

from __future__ import annotations

from functools import cache
import math
import re
import string
from typing import NamedTuple
import unicodedata

_WORD = re.compile(r"\w+")
# For ASCII text, `\w+` of the case-folded text is: letters (lower-cased), digits and "_";
# every other byte separates words. bytes.translate + split do that in C, 5x faster.
_WORD_BYTES = (string.ascii_letters + string.digits + "_").encode()
_ASCII_WORDS = bytes((c | 0x20 if chr(c).isalpha() else c) if c in _WORD_BYTES else 32 for c in range(256))

# Blocks of the scripts written without spaces between words (Unicode 15 block ranges).
# Of these, a letter, digit or combining mark is a token character; punctuation is not.
_HAN = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x2FA1F), (0x30000, 0x323AF))
_SMALL_BLOCKS = {
    "kana": ((0x3005, 0x3007), (0x303B, 0x303C), (0x3040, 0x30FF), (0x31F0, 0x31FF), (0xFF66, 0xFF9F),
             (0x1B000, 0x1B16F)),
    "hangul": ((0x1100, 0x11FF), (0x3130, 0x318F), (0xA960, 0xA97F), (0xAC00, 0xD7AF), (0xD7B0, 0xD7FF),
               (0xFFA0, 0xFFDF)),
    "thai": ((0x0E00, 0x0E7F),),
    "lao": ((0x0E80, 0x0EFF),),
    "khmer": ((0x1780, 0x17FF),),
    "burmese": ((0x1000, 0x109F), (0xA9E0, 0xA9FF), (0xAA60, 0xAA7F)),
}
# Characters per English word, measured on translation catalogues (the characters of a
# translation over the words of its English source; README, "Tokens in every script"):
# a paragraph of `min_words` English words is about this many characters times as long.
CHARS_PER_WORD = {"han": 1.5, "kana": 3.5, "hangul": 2.0, "thai": 3.5, "lao": 3.5, "khmer": 3.0, "burmese": 2.5}


def _classes(blocks: tuple[tuple[int, int], ...]) -> tuple[str, str]:
    """Regex class bodies of the token characters (letters and digits) and marks in `blocks`."""
    bases, marks = [], []
    for low, high in blocks:
        for cp in range(low, high + 1):
            category = unicodedata.category(chr(cp))
            if category[0] == "M":
                marks.append(cp)
            elif _WORD.fullmatch(chr(cp)):
                bases.append(cp)
    return _ranges(bases), _ranges(marks)


def _ranges(cps: list[int]) -> str:
    """A regex class body for the code points `cps` (sorted), consecutive ones as ranges."""
    parts, start = [], 0
    for i in range(1, len(cps) + 1):
        if i == len(cps) or cps[i] != cps[i - 1] + 1:
            low, high = chr(cps[start]), chr(cps[i - 1])
            parts.append(re.escape(low) if low == high else f"{re.escape(low)}-{re.escape(high)}")
            start = i
    return "".join(parts)


def _script_classes() -> dict[str, tuple[str, str]]:
    classes = {name: _classes(blocks) for name, blocks in _SMALL_BLOCKS.items()}
    classes["han"] = ("".join(f"{chr(low)}-{chr(high)}" for low, high in _HAN), "")
    return classes


class _Patterns(NamedTuple):
    any: re.Pattern[str]  # a character of those scripts
    token: re.Pattern[str]  # one with its marks, or a run of other word characters
    other_word: re.Pattern[str]  # a run of other word characters
    script_char: dict[str, re.Pattern[str]]  # per script, a character with its marks


@cache
def patterns() -> _Patterns:
    """The regexes, made on first use: building them takes a noticeable part of a
    second, which a run over ASCII text never needs to pay."""
    classes = _script_classes()
    bases = "".join(base for base, _ in classes.values())
    marks = "".join(mark for _, mark in classes.values())
    return _Patterns(re.compile(f"[{bases}]"), re.compile(f"[{bases}][{marks}]*|[^\\W{bases}]+"),
                     re.compile(f"[^\\W{bases}]+"),
                     {name: re.compile(f"[{base}][{mark}]*" if mark else f"[{base}]")
                      for name, (base, mark) in classes.items()})


def words(text: str) -> list[bytes]:
    """The case-folded words (`\\w+`) of `text` as UTF-8, punctuation and whitespace dropped."""
    if text.isascii():
        return text.encode("ascii").translate(_ASCII_WORDS).split()
    return [word.encode("utf-8", "surrogatepass") for word in _WORD.findall(text.casefold())]


def word_bytes(text: str) -> bytes:
    """`words(text)` joined by spaces (a word holds no ASCII whitespace, so `.split()` gives
    them back): for ASCII text, the translated bytes as they are, with no list made."""
    if text.isascii():
        return text.encode("ascii").translate(_ASCII_WORDS)
    return b" ".join(words(text))


def has_unspaced(text: str) -> bool:
    """Whether `text` holds a character of a script that `script_tokens` splits into characters."""
    return not text.isascii() and patterns().any.search(text) is not None


def shingled_on(tokens: str, *texts: str) -> str | None:
    """"characters" when `tokens` ("script" or "words") shingles any of `texts` on
    characters, else None: what a removal's log line says of its comparison."""
    return "characters" if tokens == "script" and any(map(has_unspaced, texts)) else None


def script_tokens(text: str) -> list[bytes]:
    """`words(text)`, except that each character of an unspaced script (and its marks) is a token."""
    if not has_unspaced(text):
        return words(text)
    return [token.encode("utf-8", "surrogatepass") for token in patterns().token.findall(text.casefold())]


def weight(text: str, tokens: int) -> int:
    """How many words `tokens` script tokens of `text` amount to: each character of an
    unspaced script counts 1 / CHARS_PER_WORD of its script, rounded up, never 0 if there are tokens."""
    if not tokens or not has_unspaced(text):
        return tokens
    folded = text.casefold()
    found = patterns()
    other_words = len(found.other_word.findall(folded))
    # Han, the commonest, is what is left: counting it alone cost as much as tokenizing.
    chars = {name: len(pattern.findall(folded)) for name, pattern in found.script_char.items() if name != "han"}
    chars["han"] = tokens - other_words - sum(chars.values())
    share = sum(count / CHARS_PER_WORD[name] for name, count in chars.items())
    return max(1, other_words + math.ceil(share - 1e-9))


# A paragraph's (words, shingle tokens, length in words): its words make the exact key, its
# tokens the shingles. A plain tuple, not a NamedTuple: one is made per paragraph, and a
# NamedTuple costs several times as much to build.
Tokens = tuple[list[bytes], list[bytes], int]


def tokenize(text: str, script: bool) -> Tokens:
    """`text`'s words, and its `script_tokens` when `script` (else the words again): one list,
    not a copy, whenever the two are equal, which the fingerprinter uses to hash once."""
    if text.isascii():
        key = text.encode("ascii").translate(_ASCII_WORDS).split()
        return key, key, len(key)
    key = words(text)
    if script and patterns().any.search(text) is not None:
        shingled = script_tokens(text)
        return key, shingled, weight(text, len(shingled))
    return key, key, len(key)
