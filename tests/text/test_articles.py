"""Article-length real text in every script and legacy encoding, real binaries under .txt
names, and the shared corpora: text is decoded as written, binary is rejected, and nothing
of the shared data is called binary."""

import gzip
import json
import random

from hypothesis import given, settings
from hypothesis import strategies as st
import pytest

from cleaner import clean_folder
from cleaner.config import Config
from cleaner.record import Document
from cleaner.text.decode import decode_bytes, decode_document
from cleaner.text.normalize import normalize_document
from cleaner.text.sniff import _MAGIC, sniff_binary
from tests.helpers import FIXTURES, SHARED, needs_shared, write_tree

CASES = [json.loads(line) for line in (FIXTURES / "cases" / "articles.jsonl").open(encoding="utf-8")]
TEXTS = {c["name"]: (FIXTURES / "articles" / c["file"]).read_text(encoding="utf-8") for c in CASES}
UTF_WITHOUT_BOM = ["utf-8", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"]
MULTI_BYTE = {"shift_jis", "cp932", "euc_jp", "gb2312", "gbk", "gb18030", "big5", "cp950", "euc_kr", "cp949"}
BINARIES = sorted((FIXTURES / "binary").glob("*.txt"))
UNSPACED = {"ja", "zh_CN", "zh_TW", "ko", "th"}  # Korean spaces phrases, not words
REUTERS = SHARED / "data" / "reuters21578.jsonl.gz"


def _params() -> list:
    params = []
    for case in CASES:
        for codec in case["encodings"] + UTF_WITHOUT_BOM:
            why = case["known_failures"].get(codec)
            marks = [pytest.mark.xfail(strict=True, reason=why)] if why else []
            params.append(pytest.param(case["name"], codec, marks=marks, id=f"{case['name']}-{codec}"))
    return params


@pytest.mark.parametrize(("name", "codec"), _params())
def test_article_in_each_encoding_decodes_to_the_text_as_written(name, codec):
    decoded = decode_bytes(TEXTS[name].encode(codec))
    assert decoded.text == TEXTS[name], f"read as {decoded.encoding}"
    assert decoded.replacements == 0


def test_articles_are_article_length_in_paragraphs():
    """A few hundred words; in scripts without spaces between words, several hundred characters."""
    for case in CASES:
        text = TEXTS[case["name"]]
        assert text.count("\n\n") >= 3, case["name"]
        assert len(text.split()) >= 200 or (case["locale"] in UNSPACED and len(text) >= 600), case["name"]


@pytest.mark.parametrize("codec", sorted(MULTI_BYTE))
def test_multi_byte_cjk_is_decoded_whole_not_as_almost_utf8(codec):
    name = next(c["name"] for c in CASES if codec in c["encodings"])
    decoded = decode_bytes(TEXTS[name].encode(codec))
    assert (decoded.text, decoded.fallback) == (TEXTS[name], "detector")


def test_fixture_binaries_are_every_kind_the_issue_names():
    names = {path.stem for path in BINARIES}
    assert {"image-png", "image-jpg", "gzip", "zip", "pdf", "elf", "sqlite"} <= names


@pytest.mark.parametrize("path", BINARIES, ids=[p.name for p in BINARIES])
def test_real_binary_files_named_txt_are_rejected_as_binary(path):
    doc = decode_document(Document(id=path.name, source=path.name, raw=path.read_bytes()), Config())
    assert doc.reject is not None and doc.reject.reason == "binary" and doc.text is None


@needs_shared(SHARED / "data" / "bbc")
def test_no_bbc_article_is_binary():
    paths = sorted((SHARED / "data" / "bbc").glob("*/*.txt"))
    assert len(paths) > 2000
    assert [p for p in paths if sniff_binary(p.read_bytes()) is not None] == []


@needs_shared(REUTERS)
def test_no_reuters_story_is_binary_and_its_end_of_text_marks_are_counted():
    """The bytes of each record's text, as when written to a .txt file; many end in U+0003."""
    controls = 0
    with gzip.open(REUTERS, "rt", encoding="utf-8") as lines:
        for number, line in enumerate(lines):
            raw = json.loads(line)["text"].encode("utf-8")
            doc = decode_document(Document(id=str(number), source=f"{number}.txt", raw=raw), Config())
            assert doc.reject is None, (number, doc.reject)
            controls += doc.audit["controls_removed"]
    assert controls > number / 2


SENTENCES = [s for text in TEXTS.values() for s in text.split("\n\n")]
STRAY = st.sampled_from([chr(c) for c in (*range(0, 9), *range(14, 32), 127)])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(SENTENCES), min_size=1, max_size=4), st.lists(st.tuples(STRAY, st.floats(0, 1)),
                                                                               max_size=3))
def test_text_with_a_few_stray_controls_is_text_and_loses_exactly_them(paragraphs, strays):
    text = "\n\n".join(paragraphs)
    for char, where in strays:
        at = int(where * len(text))
        text = text[:at] + char + text[at:]
    doc = normalize_document(decode_document(Document(id="t", source="t.txt", raw=text.encode()), Config()),
                             Config())
    assert doc.reject is None and doc.audit["controls_removed"] == len(strays)
    assert not any((ch < " " and ch != "\n") or ch == "\x7f" for ch in doc.text)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(_MAGIC), st.binary(max_size=200))
def test_a_magic_number_makes_binary_whatever_follows(magic, rest):
    assert sniff_binary(magic[0] + rest) == magic[1]


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32), st.integers(1024, 8192))
def test_random_bytes_are_binary(seed, size):
    assert sniff_binary(random.Random(seed).randbytes(size)) is not None


def test_files_jsonl_counts_the_controls_removed_and_nothing_is_rejected(tmp_path):
    write_tree(tmp_path / "in", {
        "wire.txt": b"GRAIN SALES UP\n    Grain sales rose 3 pct in May, the board said.\n Reuter\n\x03",
        "short.txt": b"\x02TOKYO\x02 Bank of Japan bought dollars, dealers said.\n",
        "plain.txt": b"Nothing odd here at all.\n",
    })
    report = clean_folder(tmp_path / "in", tmp_path / "out", Config())
    files = {r["source"]: r for r in map(json.loads, (tmp_path / "out/.cleaner/files.jsonl").open())}
    assert {name: r["controls_removed"] for name, r in files.items()} == {"wire.txt": 1, "short.txt": 2, "plain.txt": 0}
    assert report.documents_rejected == 0
    assert (tmp_path / "out/short.txt").read_text(encoding="utf-8").startswith("TOKYO Bank of Japan")


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.binary(max_size=300), st.sampled_from(SENTENCES).map(str.encode).flatmap(
    lambda raw: st.binary(max_size=8).map(lambda noise: raw[: len(raw) // 2] + noise + raw[len(raw) // 2:]))))
def test_any_bytes_are_either_text_or_binary_never_an_exception(raw):
    doc = decode_document(Document(id="t", source="t.txt", raw=raw), Config())
    assert (doc.reject is not None and doc.reject.reason == "binary") or isinstance(doc.text, str)
