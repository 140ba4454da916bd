import json

import pytest

from cleaner.normalize import normalize_text, repair_text
from tests.helpers import FIXTURES

CASES = [json.loads(line) for line in (FIXTURES / "cases" / "normalize.jsonl").open(encoding="utf-8")]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_golden_normalize_cases(case):
    repaired, _ = repair_text(case["input"], "safe")
    assert normalize_text(repaired) == case["expected"], case["note"]


def test_repair_reports_the_fixes_it_applied():
    text, fixes = repair_text("The cafÃ© was closed", "safe")
    assert text == "The café was closed"
    assert fixes and all(isinstance(f, str) for f in fixes)


def test_safe_profile_keeps_cosmetic_characters():
    text = "“Curly” ﬁne ＡＢＣ"
    assert repair_text(text, "safe") == (text, [])


def test_aggressive_profile_folds_cosmetic_characters():
    assert repair_text("“Curly” ﬁne ＡＢＣ", "aggressive")[0] == '"Curly" fine ABC'


def test_repair_runs_to_a_fixed_point():
    twice = "café".encode().decode("cp1252").encode().decode("cp1252")
    assert repair_text(twice, "safe")[0] == "café"
