from cleaner.config import Config
from cleaner.decode import decode_document
from cleaner.record import Document


def decode(raw: bytes) -> Document:
    return decode_document(Document(id="x", source="x.txt", raw=raw), Config())


def test_utf8_is_decoded_and_raw_bytes_released():
    doc = decode("naïve café – “quoted”".encode())
    assert doc.text == "naïve café – “quoted”"
    assert doc.audit["decoded_as"] == "utf-8"
    assert doc.raw is None


def test_utf8_bom_is_dropped():
    doc = decode(b"\xef\xbb\xbfHello")
    assert (doc.text, doc.audit["decoded_as"]) == ("Hello", "utf-8-sig")
