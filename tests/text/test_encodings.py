"""Acceptance: real BBC articles, re-encoded every way a scraper meets, come back as written.

The corpus is built at test time from ../shared/data/bbc (skipped when absent); nothing of
it is stored in the repository.
"""

import json
from pathlib import Path
import re

import ftfy.bad_codecs  # noqa: F401  registers "sloppy-windows-1252"
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cleaner import Config, clean_folder, clean_text
from cleaner.record import Document
from cleaner.text.decode import decode_document
from cleaner.text.normalize import normalize_document, normalize_text
from cleaner.text.segment import split_paragraphs
from tests.helpers import FIXTURES, SHARED, needs_shared

BBC = SHARED / "data" / "bbc"


def curl(text: str) -> str:
    """Straight quotes and spaced hyphens as a word processor would have typed them."""
    text = re.sub(r'"([^"\n]*)"', "\u201c\\1\u201d", text)
    return text.replace("'", "\u2019").replace(" - ", " \u2013 ")


def garble(text: str, times: int) -> bytes:
    """UTF-8 bytes read as cp1252 `times` times, saved as UTF-8 (mojibake)."""
    for _ in range(times):
        text = text.encode("utf-8").decode("sloppy-windows-1252")
    return text.encode("utf-8")


# name -> (how the source text is made from the article, how it is stored as bytes)
VARIANTS = {
    "utf-8": (str, lambda t: t.encode("utf-8")),
    "utf-8-bom": (str, lambda t: t.encode("utf-8-sig")),
    "utf-16-bom": (str, lambda t: t.encode("utf-16")),
    "utf-16-le": (str, lambda t: t.encode("utf-16-le")),
    "utf-32-bom": (str, lambda t: t.encode("utf-32")),
    "cp1252-curly": (curl, lambda t: t.encode("cp1252")),
    "latin-1": (str, lambda t: t.encode("latin-1")),
    "crlf": (curl, lambda t: t.replace("\n", "\r\n").encode("utf-8")),
    "mojibake-once": (curl, lambda t: garble(t, 1)),
    "mojibake-twice": (curl, lambda t: garble(t, 2)),
}


def articles(every: int) -> list[tuple[str, str]]:
    """Every `every`-th BBC article with non-ASCII text, plus every 10*`every`-th ASCII one."""
    found = []
    for path in sorted(BBC.glob("*/*.txt")):
        try:
            text = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError:  # sport/199.txt, tested in test_decode
            continue
        found.append((f"{path.parent.name}-{path.stem}", text))
    fancy = [a for a in found if not a[1].isascii()]
    plain = [a for a in found if a[1].isascii()]
    return fancy[::every] + plain[::every * 10]


def expected_paragraphs(text: str) -> list[str]:
    """The article's paragraphs as written, in normalised whitespace: split at blank lines,
    runs of spaces as one, line edges trimmed."""
    paragraphs = re.split(r"\n\s*\n", text.strip())
    return [re.sub(r" *\n *", "\n", re.sub(r"[ \t]+", " ", p)).strip() for p in paragraphs if p.strip()]


@needs_shared(BBC)
def test_every_variant_of_real_articles_decodes_to_the_original_paragraphs():
    checked = 0
    for name, article in articles(every=6):
        if "&" in article:  # entities are unescaped on purpose (tested in test_repair)
            continue
        for variant, (make_source, store) in VARIANTS.items():
            source = make_source(article)
            try:
                raw = store(source)
            except UnicodeEncodeError:  # a character Latin-1 or cp1252 cannot hold
                continue
            doc = Document(id=name, source=f"{name}.{variant}.txt", raw=raw)
            doc = normalize_document(decode_document(doc, Config()), Config())
            assert split_paragraphs(doc.text) == expected_paragraphs(source), f"{name} as {variant}"
            checked += 1
    assert checked > 700


@needs_shared(BBC)
def test_clean_folder_writes_every_variant_back_as_the_original_and_audits_it(tmp_path: Path):
    sample = [(n, a) for n, a in articles(every=40) if "&" not in a][:8]
    src = tmp_path / "src"
    expected = {}
    for name, article in sample:
        for variant, (make_source, store) in VARIANTS.items():
            try:
                raw = store(make_source(article))
            except UnicodeEncodeError:
                continue
            path = src / variant / f"{name}.txt"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(raw)
            expected[f"{variant}/{name}.txt"] = expected_paragraphs(make_source(article))
    report = clean_folder(src, tmp_path / "out", Config(scope="document", threshold=1.0))
    for relative, paragraphs in expected.items():
        written = (tmp_path / "out" / relative).read_text(encoding="utf-8")
        kept = split_paragraphs(written)
        assert all(p in paragraphs for p in kept), relative  # only in-document repeats may go
    files = {r["source"]: r for r in map(json.loads, (tmp_path / "out/.cleaner/files.jsonl").open())}
    for relative, record in files.items():
        variant = relative.split("/")[0]
        assert record["replacement_chars"] == 0, relative
        if variant.startswith("mojibake"):
            assert "decode:utf-8" in record["fixes"], relative
        if variant in ("utf-16-bom", "utf-32-bom"):
            assert record["decoded_as"] == variant.split("-bom")[0]
    summary = json.loads((tmp_path / "out/.cleaner/report.json").read_text())
    assert summary["decoded_as"]["utf-16"] == len(sample)
    assert summary["replacement_chars"] == {"count": 0, "documents": 0}
    assert report.documents_rejected == 0


def test_demo_cp1252_file_is_decoded_and_repaired(tmp_path: Path):
    report = clean_folder(FIXTURES / "demo", tmp_path / "out", Config())
    files = {r["source"]: r for r in map(json.loads, (tmp_path / "out/.cleaner/files.jsonl").open())}
    record = files["city/market-notice.txt"]
    assert (record["decoded_as"], record["fallback"]) == ("cp1252", "detector")
    text = (tmp_path / "out/city/market-notice.txt").read_text(encoding="utf-8")
    assert "“Crêpes & Café”" in text and "£2.50" in text and "Ã" not in text
    assert report.documents_rejected == 0
    assert "decoded as: cp1252 1, utf-8 4" in report.summary()


# Real words in many scripts: correct text, which cleaning must leave exactly as it is.
WORDS = [w for c in map(json.loads, (FIXTURES / "cases" / "encodings.jsonl").open(encoding="utf-8"))
         for w in c["text"].split()] + "😀 👍🏽 👩‍👩‍👧 ∑ ≤ π² ½ 10µm “quoted” — 3-1 İstanbul ığdır".split()
WORD = st.one_of(st.sampled_from(WORDS), st.text("abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=8))
PARAGRAPH = st.lists(st.lists(WORD, min_size=1, max_size=10).map(" ".join), min_size=1, max_size=3).map("\n".join)
CORRECT_TEXT = st.lists(PARAGRAPH, min_size=1, max_size=4).map("\n\n".join)
SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
WRONG_CODECS = ["sloppy-windows-1252", "latin-1", "sloppy-windows-1251", "macroman", "cp437", "sloppy-windows-1250"]


@SETTINGS
@given(CORRECT_TEXT)
def test_correct_nfc_text_passes_through_decode_and_repair_unchanged(text):
    for codec in ("utf-8", "utf-8-sig", "utf-16"):
        doc = Document(id="t", source="t.txt", raw=text.encode(codec))
        doc = normalize_document(decode_document(doc, Config()), Config())
        assert doc.text == text and doc.audit["fixes"] == []


@SETTINGS
@given(st.one_of(CORRECT_TEXT, st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=80)),
       st.lists(st.sampled_from(WRONG_CODECS), min_size=1, max_size=2))
def test_cleaning_is_idempotent_on_text_garbled_by_wrong_codecs(text, codecs):
    for codec in codecs:
        text = text.encode("utf-8").decode(codec, "replace")
    once = clean_text(text)
    assert clean_text(once) == once
    assert normalize_text(once) == once.rstrip("\n")
