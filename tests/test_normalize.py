import json

import pytest

from cleaner.config import Config
from cleaner.normalize import normalize_document, normalize_text, repair_text
from cleaner.record import Document
from tests.helpers import FIXTURES

CASES = [json.loads(line) for line in (FIXTURES / "cases" / "normalize.jsonl").open(encoding="utf-8")]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_golden_normalize_cases(case):
    repaired, _ = repair_text(case["input"], "safe")
    assert normalize_text(repaired) == case["expected"], case["note"]


def test_normalize_document_records_the_fixes():
    doc = Document(id="x", source="x.txt", text="Â£5 for fish &amp; chips\r\n")
    normalize_document(doc, Config())
    assert doc.text == "£5 for fish & chips"
    assert doc.audit["fixes"] == ["apply:unescape_html", "encode:latin-1", "decode:utf-8"]


def test_normalize_document_with_repair_off_only_normalises():
    doc = Document(id="x", source="x.txt", text="  cafÃ©  \r\n")
    assert normalize_document(doc, Config(repair="off")).text == "cafÃ©"
    assert doc.audit["fixes"] == []
