"""ftfy repair: the skip rule is checked against ftfy itself; long lines; fixed points; golden cases."""

import json

import ftfy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
import pytest

from cleaner.text.normalize import clean_to_fixed_point
from cleaner.text.repair import PROFILES, may_need_repair, pieces, repair_text, repair_with
from tests.helpers import FIXTURES, SHARED, needs_shared

CASES = [json.loads(line) for line in (FIXTURES / "cases" / "repair.jsonl").open(encoding="utf-8")]
CONFIGS = [PROFILES[p]._replace(unescape_html=html) for p in PROFILES for html in (True, False)]
CONFIG_IDS = [f"{p}-html{html}" for p in PROFILES for html in (True, False)]
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ASCII = "".join(map(chr, range(128)))
# Mostly ASCII (all of it, controls, "&", ESC and "<" included), some characters ftfy cares about.
NEAR_ASCII = st.text(st.one_of(st.sampled_from(ASCII), st.sampled_from("&;#\x1b[m<"),
                               st.characters(max_codepoint=0x2FFF)), max_size=40)


@pytest.mark.parametrize("config", CONFIGS, ids=CONFIG_IDS)
def test_every_short_ascii_string_that_is_skipped_is_one_ftfy_leaves_alone(config):
    """Exhaustive over all one- and two-character ASCII strings, and each inside words."""
    singles = list(ASCII)
    strings = singles + [a + b for a in singles for b in singles] + [f"ab{c}cd &amp; x" for c in singles]
    for text in strings:
        if not may_need_repair(text, config):
            assert ftfy.fix_and_explain(text, config).text == text, repr(text)


@pytest.mark.parametrize("config", CONFIGS, ids=CONFIG_IDS)
@SETTINGS
@given(text=NEAR_ASCII)
def test_skipped_text_is_text_ftfy_leaves_alone(config, text):
    if not may_need_repair(text, config):
        assert ftfy.fix_and_explain(text, config).text == text


def test_the_skip_rule_is_not_vacuous():
    safe = PROFILES["safe"]._replace(unescape_html=True)
    assert not may_need_repair("Plain ASCII news, 3-1 (50%) <ok>\r\n", safe)
    for text in ("caf\u00e9", "a &amp; b", "\x1b[31m", "bell\x07", "\x7f"):
        assert may_need_repair(text, safe), repr(text)


@needs_shared(SHARED / "data" / "bbc")
def test_skip_rule_against_ftfy_on_every_bbc_line():
    config = PROFILES["safe"]._replace(unescape_html=True)
    lines = [line for path in sorted((SHARED / "data" / "bbc").glob("*/*.txt"))
             for line in pieces(path.read_bytes().decode("utf-8", "replace"), 10**6)]
    skipped = [line for line in lines if not may_need_repair(line, config)]
    assert len(skipped) > 0.9 * len(lines)
    assert [line for line in skipped if ftfy.fix_and_explain(line, config).text != line] == []


MOJIBAKE = st.builds(
    lambda text, codec, times: _garble(text, codec, times),
    st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=60),
    st.sampled_from(["sloppy-windows-1252", "latin-1", "sloppy-windows-1251", "macroman"]),
    st.integers(0, 2),
)


def _garble(text: str, codec: str, times: int) -> str:
    for _ in range(times):
        text = text.encode("utf-8").decode(codec)
    return text


@SETTINGS
@given(st.lists(st.one_of(MOJIBAKE, NEAR_ASCII), min_size=1, max_size=6).map("\n".join))
def test_repair_equals_ftfy_fix_text_run_to_a_fixed_point(text):
    """Skipping lines never misses a fix: the result is ftfy's own, line by line."""
    config = PROFILES["safe"]._replace(unescape_html="<" not in text)
    expected = text
    while (fixed := ftfy.fix_text(expected, config)) != expected:
        expected = fixed
    assert repair_with(text, config, [], {}) == expected


def test_long_line_is_repaired_in_pieces_where_ftfy_cuts_a_sequence():
    mojibake = "café".encode().decode("latin-1")  # "cafÃ©"
    limit = PROFILES["safe"].max_decode_length
    line = "x " * ((limit - 4) // 2) + mojibake + " tail"  # ftfy's cut falls between Ã and ©
    assert ftfy.fix_text(line, PROFILES["safe"]).endswith("cafÃ© tail")
    repaired, fixes = repair_text(line)
    assert repaired.endswith(" x café tail") and len(repaired) == len(line) - 1
    assert "decode:utf-8" in fixes


def test_long_line_without_spaces_is_cut_between_ascii_characters():
    mojibake = "naïve".encode().decode("latin-1")
    config = PROFILES["safe"]._replace(max_decode_length=50)
    line = ("abc" + mojibake) * 40
    cuts = list(pieces(line, 50))
    assert "".join(cuts) == line and all(len(c) <= 50 for c in cuts)
    assert repair_with(line, config, [], {}) == "abcnaïve" * 40


def test_repair_reports_the_fixes_it_applied():
    text, fixes = repair_text("The cafÃ© was closed", "safe")
    assert text == "The café was closed"
    assert fixes == ["encode:latin-1", "decode:utf-8"]


def test_safe_profile_keeps_cosmetic_characters():
    text = "“Curly” ﬁne ＡＢＣ"
    assert repair_text(text, "safe") == (text, [])


def test_aggressive_profile_folds_cosmetic_characters():
    assert repair_text("“Curly” ﬁne ＡＢＣ x²", "aggressive")[0] == '"Curly" fine ABC x2'


def test_off_profile_changes_nothing():
    assert repair_text("cafÃ© &amp;", "off") == ("cafÃ© &amp;", [])


def test_repair_runs_to_a_fixed_point():
    twice = "café".encode().decode("cp1252").encode().decode("cp1252")
    assert repair_text(twice, "safe")[0] == "café"


def test_surrogate_pairs_become_the_character():
    assert repair_text("smile \ud83d\ude00")[0] == "smile 😀"


def test_removing_an_invisible_character_exposes_mojibake_that_is_then_repaired():
    assert clean_to_fixed_point("caf\u00c3\u200b\u00a9", "safe")[0] == "café"


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_golden_repair_cases(case):
    assert clean_to_fixed_point(case["input"], "safe")[0] == case["expected"], case["note"]
