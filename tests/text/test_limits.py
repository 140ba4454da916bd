"""The combining-flood check: its fast path (a class of the BMP only, for text without
astral characters) finds exactly what the pattern of every combining mark finds."""

from __future__ import annotations

import re
import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from cleaner.text.limits import _NON_STARTER, combining_flood

# Marks of both planes (BMP: acute, grave, Devanagari virama, Hebrew points; astral: Brahmi
# virama, musical symbol combining stem, Adlam marks) among letters, spaces and CJK.
MARKS = "\u0301\u0300\u094d\u05b0\u05b4\U00011046\U0001d165\U0001e944"
ALPHABET = st.sampled_from([*MARKS, "a", "Z", " ", "\n", "é", "中", "\U0001f600", "\U00020000", "ก", "\u0e48"])


def reference(text: str, limit: int) -> tuple[int, int] | None:
    """Where the pattern of every combining mark finds the first flood (the old check)."""
    match = None if text.isascii() else re.search(f"{_NON_STARTER}{{{limit + 1},}}", text)
    return None if match is None else match.span()


def span(text: str, limit: int) -> tuple[int, int] | None:
    match = combining_flood(text, limit)
    return None if match is None else match.span()


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(ALPHABET, st.integers(1, 8)), max_size=30), st.integers(1, 6))
def test_the_fast_check_finds_what_the_full_pattern_finds(runs: list[tuple[str, int]], limit: int):
    text = "".join(char * count for char, count in runs)
    assert span(text, limit) == reference(text, limit)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200), st.integers(1, 4))
def test_the_fast_check_agrees_on_arbitrary_text(text: str, limit: int):
    assert span(text, limit) == reference(text, limit)


def test_a_flood_mixing_both_planes_is_found_whole():
    flood = ("\u0301\U0001d165" * 20)[:35]
    assert all(unicodedata.combining(char) for char in flood)
    assert span("ok " + flood + " end", 30) == (3, 38)
    assert span("ok " + "\u0301" * 31 + " \U0001f600", 30) == (3, 34)
    assert span("ok " + "\u0301" * 30 + "\U0001f600", 30) is None
