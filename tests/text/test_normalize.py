import json
import re
import unicodedata

import ftfy
from hypothesis import given, settings
from hypothesis import strategies as st
import pytest

from cleaner.config import Config
from cleaner.record import Document
from cleaner.text import normalize
from cleaner.text.normalize import Normalizer, normalize_document, normalize_text, repair_text
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


def _by_regex(text: str, keep_indent: bool) -> str:
    """What `normalize_text` means, written as the substitutions: the module does the same
    with str.replace and, for ASCII text, bytes.translate, several times faster."""
    text = text.replace("\r\n", "\n").translate(normalize._BREAKS)
    text = normalize._INVISIBLE.sub("", unicodedata.normalize("NFC", text))
    text = re.sub(r"[ \t]{2,}|\t", " ", text)
    if keep_indent:
        return re.sub(r"[ \t]+(?=\n)", "", text).strip("\n").rstrip(" ")
    return re.sub(r"[ \t]+\n[ \t]*|\n[ \t]+", "\n", text).strip(" \t\n")


@settings(max_examples=500)
@given(text=st.text(st.sampled_from(" \t\n\r\x0b\x0c\x00\x03\x1b\x7fab.\u00a0\u0085\u2028\u200be\u0301"), max_size=60),
       keep_indent=st.booleans())
def test_normalising_equals_its_regex_definition(text, keep_indent):
    assert normalize_text(text, keep_indent) == _by_regex(text, keep_indent)


def test_a_chunk_normalised_at_once_equals_one_document_at_a_time(monkeypatch):
    """The chunk shares ftfy's answers: a recurring line goes to ftfy once, and every
    document still records the fixes its own text needed."""
    texts = ["Caf\u00c3\u00a9 prices rose.\nFish &amp; chips\x03", "Fish &amp; chips\x03\nplain line",
             "plain only", "<b>bold</b>\nFish &amp; chips\x03", "Fish &amp; chips\x03"]
    alone = [normalize_document(Document(id=str(i), source=str(i), text=t), Config()) for i, t in enumerate(texts)]
    calls = []
    real = ftfy.fix_and_explain
    monkeypatch.setattr(ftfy, "fix_and_explain", lambda text, config: calls.append(text) or real(text, config))
    chunk = Normalizer(Config()).many([Document(id=str(i), source=str(i), text=t) for i, t in enumerate(texts)])
    assert [(d.text, d.audit["fixes"]) for d in chunk] == [(d.text, d.audit["fixes"]) for d in alone]
    assert chunk[1].audit["fixes"] == ["apply:unescape_html", "apply:remove_control_chars"]
    assert chunk[3].text == "<b>bold</b>\nFish &amp; chips"  # "<" in the text: entities stay (another config)
    assert calls.count("Fish &amp; chips\x03") == 2  # once per config, not once per document (3 have it)
