import codecs
import json
import random

import pytest

from cleaner.config import Config
from cleaner.record import Document
from cleaner.text.decode import decode_bytes, decode_counting, decode_document
from cleaner.text.detect import detect_legacy
from cleaner.text.normalize import normalize_document
from cleaner.text.sniff import sniff_binary, sniff_utf16_32
from tests.helpers import FIXTURES, SHARED, needs_shared

ENCODING_CASES = [json.loads(line) for line in (FIXTURES / "cases" / "encodings.jsonl").open(encoding="utf-8")]
ARTICLE = (
    "Council agrees budget\n\n"
    "The council agreed a £4.2m budget on Tuesday – after a “long” debate.\n\n"
    "Councillor Zoë Adams said: ‘We listened.’\n"
)


def decode(raw: bytes) -> Document:
    return decode_document(Document(id="x", source="x.txt", raw=raw), Config())


def test_utf8_is_decoded_and_raw_bytes_released():
    doc = decode("naïve café – “quoted”".encode())
    assert doc.text == "naïve café – “quoted”"
    assert doc.audit == {"decoded_as": "utf-8", "fallback": None, "replacement_chars": 0, "controls_removed": 0}
    assert doc.raw is None


def test_utf8_bom_is_dropped():
    doc = decode(b"\xef\xbb\xbfHello")
    assert (doc.text, doc.audit["decoded_as"]) == ("Hello", "utf-8-sig")


@pytest.mark.parametrize(("codec", "name"), [
    ("utf-16", "utf-16"), ("utf-32", "utf-32"),
    ("utf-16-le", "utf-16"), ("utf-16-be", "utf-16"), ("utf-32-le", "utf-32"), ("utf-32-be", "utf-32"),
])
def test_utf16_and_utf32_with_bom_lose_the_bom(codec, name):
    raw = ARTICLE.encode(codec)
    if not codec.endswith(("16", "32")):  # the -le/-be codecs write no BOM of their own
        raw = {"utf-16-le": codecs.BOM_UTF16_LE, "utf-16-be": codecs.BOM_UTF16_BE,
               "utf-32-le": codecs.BOM_UTF32_LE, "utf-32-be": codecs.BOM_UTF32_BE}[codec] + raw
    decoded = decode_bytes(raw)
    assert (decoded.text, decoded.encoding, decoded.replacements) == (ARTICLE, name, 0)


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
def test_utf16_and_utf32_without_bom_are_recognised_by_their_nul_bytes(codec):
    raw = ARTICLE.encode(codec)
    assert sniff_utf16_32(raw) == codec and sniff_binary(raw) is None
    assert decode_bytes(raw).text == ARTICLE


@pytest.mark.parametrize("codec", ["cp1252", "latin-1"])
def test_english_in_a_western_code_page_is_read_as_cp1252(codec):
    text = ARTICLE if codec == "cp1252" else ARTICLE.replace("–", "-").translate(str.maketrans("“”‘’", "\"\"''"))
    doc = decode(text.encode(codec))
    assert doc.text == text
    assert (doc.audit["decoded_as"], doc.audit["fallback"]) == ("cp1252", "detector")


def test_a_stray_latin1_byte_in_utf8_is_decoded_line_by_line():
    raw = ("Header\n\n" + "“Utf-8” line\n" * 20).encode() + b"Fee: \xa315.8m\n"
    doc = decode(raw)
    assert doc.text.endswith("Fee: £15.8m\n") and doc.text.startswith("Header\n\n“Utf-8” line\n")
    assert doc.audit == {"decoded_as": "utf-8", "fallback": "lines", "fallback_encoding": "cp1252",
                         "fallback_lines": 1, "replacement_chars": 0, "controls_removed": 0}


def test_utf8_and_stray_bytes_on_one_line_are_both_kept():
    decoded = decode_bytes(("é " * 30).encode() + b"\n" + "café £".encode() + b" \xa3 and \xe9\n")
    assert decoded.text.splitlines()[1] == "café £ £ and é"


@needs_shared(SHARED / "data" / "bbc" / "sport" / "199.txt")
def test_bbc_sport_199_with_one_latin1_pound_sign_is_kept():
    doc = decode((SHARED / "data" / "bbc" / "sport" / "199.txt").read_bytes())
    assert doc.reject is None and "a £15.8m" in doc.text and "\ufffd" not in doc.text
    assert (doc.audit["decoded_as"], doc.audit["fallback"], doc.audit["fallback_lines"]) == ("utf-8", "lines", 1)


@pytest.mark.parametrize("case", ENCODING_CASES, ids=[c["name"] for c in ENCODING_CASES])
def test_golden_legacy_encodings(case, request):
    for codec in case["encodings"]:
        decoded = decode_bytes(case["text"].encode(codec))
        if codec in case["known_failures"]:
            assert decoded.text != case["text"], f"{codec} now works: drop it from known_failures"
        else:
            assert decoded.text == case["text"], f"{case['name']} in {codec} read as {decoded.encoding}"
            assert decoded.replacements == 0


def test_undecodable_bytes_become_counted_replacement_characters():
    raw = ("“UTF-8” text\n" * 20).encode() + b"a stray \x81 byte\n"  # 0x81: undefined in cp1252
    decoded = decode_bytes(raw)
    assert decoded.text.endswith("“UTF-8” text\na stray \ufffd byte\n") and decoded.replacements == 1
    odd = decode_bytes(codecs.BOM_UTF16_LE + "hi".encode("utf-16-le") + b"!")
    assert (odd.text, odd.replacements) == ("hi\ufffd", 1)


def test_decode_counting_never_drops_bytes():
    text, bad = decode_counting(b"ok \xff\xfe end \xc3", "utf-8")
    assert (text, bad) == ("ok \ufffd\ufffd end \ufffd", 3)


BINARIES = {
    "png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(40),
    "pdf": b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n",
    "zip": b"PK\x03\x04\x14\x00\x00\x00\x08\x00",
    "gzip": b"\x1f\x8b\x08\x00\x00\x00\x00\x00",
    "jpeg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",
    "elf": b"\x7fELF\x02\x01\x01",
    "random": random.Random(7).randbytes(4096),
}


@pytest.mark.parametrize("name", BINARIES)
def test_binary_data_is_rejected_with_reason_binary(name):
    doc = decode(BINARIES[name])
    assert doc.reject is not None and doc.reject.reason == "binary" and doc.text is None


def test_a_stray_nul_or_escape_does_not_make_text_binary():
    assert sniff_binary(("Plain text. " * 50 + "\x00 \x1b[1m bold").encode()) is None


@pytest.mark.parametrize(("raw", "expected", "controls"), [
    (b"COCOA EXPORTS RISE\n    Ghana's cocoa exports rose 4 pct, the board said.\n Reuter\n\x03",
     "COCOA EXPORTS RISE\nGhana's cocoa exports rose 4 pct, the board said.\nReuter", 1),
    (b"\x02TOKYO\x02 Bank of Japan intervened.\n", "TOKYO Bank of Japan intervened.", 2),
    (b"The minister\x19s plan didn\x19t pass.\n", "The ministers plan didnt pass.", 2),
    ("Кабинет принял закон.\x03".encode("cp1251"), "Кабинет принял закон.", 1),
])
def test_text_with_a_few_controls_is_decoded_and_the_controls_removed_and_counted(raw, expected, controls):
    assert sniff_binary(raw) is None
    doc = normalize_document(decode(raw), Config())
    assert (doc.reject, doc.text, doc.audit["controls_removed"]) == (None, expected, controls)


def test_a_record_that_arrives_as_text_is_untouched():
    doc = Document(id="r1", source="in.jsonl:1", text="cafÃ©  text", audit={"line": 1})
    assert decode_document(doc, Config()) is doc
    assert (doc.text, doc.audit) == ("cafÃ©  text", {"line": 1})


def test_detect_legacy_prefers_cp1252_on_thin_evidence_but_not_for_other_scripts():
    english = ("The fee was £4m. " * 40).encode("cp1252")
    russian = ("Городской совет утвердил бюджет. " * 5).encode("cp1251")
    assert (detect_legacy(english), detect_legacy(russian)) == ("cp1252", "cp1251")
