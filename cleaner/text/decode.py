"""bytes -> str, with what was done recorded in the document's audit.

The decision order, cheapest and surest first:

1. a byte order mark (UTF-8, UTF-16 LE/BE, UTF-32 LE/BE) names the encoding; it is dropped;
2. binary data (`sniff.sniff_binary`: a magic number, NULs, many kinds of control bytes)
   is not text: rejected `binary`;
3. UTF-16/32 without a BOM is recognised from where its NUL bytes fall;
4. 7-bit ISO-2022 (Japanese, Korean), from its escape sequences; then strict UTF-8;
5. a file that is almost UTF-8 (a few lines with stray single bytes, e.g. one Latin-1
   pound sign) is decoded line by line: valid lines as UTF-8, the stray bytes in a legacy
   encoding; runs of stray bytes with no real UTF-8 around them are multi-byte CJK instead;
6. otherwise a legacy encoding for the whole file, from `detect.detect_legacy`.

Nothing is dropped: a byte that cannot be decoded becomes U+FFFD and is counted. Stray C0
controls are kept here (the normalise stage removes them) and counted in the audit.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass, replace
import re

from cleaner.config import Config
from cleaner.record import Document, Reject
from cleaner.text.detect import detect_legacy, is_single_byte
from cleaner.text.sniff import NOT_STRAY_CONTROL_BYTES, sniff_binary, sniff_utf16_32

REPLACEMENT = "\ufffd"
# Longest BOMs first: the UTF-32 LE BOM starts with the UTF-16 LE one.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le", "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32-be", "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "utf-16"),
)
# "surrogateescape" turns each undecodable byte 0xNN into the lone surrogate U+DCNN.
_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")
_ESCAPED_RUN = re.compile("[\udc80-\udcff]+")
# A file is "almost UTF-8" when at most this share of its lines are not valid UTF-8, or
# its invalid bytes are at most this share of all bytes (legacy CJK or Cyrillic: over 30%).
_STRAY_LINE_SHARE = 0.1
_STRAY_BYTE_SHARE = 0.01
# 7-bit ISO-2022: the escape sequence that designates a double-byte set, and the codec.
_ISO_2022 = ((b"\x1b$)C", "iso2022_kr"), (b"\x1b$B", "iso2022_jp"), (b"\x1b$@", "iso2022_jp"),
             (b"\x1b$(D", "iso2022_jp_1"), (b"\x1b$A", "iso2022_jp_2"))
_STRAY_CONTROL = re.compile("[\x00-\x08\x0e-\x1f\x7f]")  # sniff.STRAY_CONTROL_BYTES


@dataclass(frozen=True, slots=True)
class Decoded:
    """Text decoded from bytes, and how.

    `encoding` names what was used (`utf-8-sig`, `utf-16` for UTF-16 with a BOM,
    `utf-16-le` without, `cp1252`, `gb18030`, ...). `fallback` is None when the bytes
    were what they claimed, or what the NUL pattern or ISO-2022 escapes showed; "lines" when a UTF-8 file had
    `fallback_lines` lines with stray bytes decoded as `fallback_encoding`; "detector" when
    the whole file is in a legacy encoding found by the detector. `replacements` counts
    the U+FFFD put in for bytes that no encoding could decode.
    """

    text: str
    encoding: str
    fallback: str | None = None
    fallback_encoding: str | None = None
    fallback_lines: int = 0
    replacements: int = 0

    def audit(self) -> dict[str, object]:
        """The fields recorded in a document's audit (and so in files.jsonl)."""
        out: dict[str, object] = {"decoded_as": self.encoding, "fallback": self.fallback}
        if self.fallback == "lines":
            out["fallback_encoding"] = self.fallback_encoding
            out["fallback_lines"] = self.fallback_lines
        out["replacement_chars"] = self.replacements
        return out


def decode_counting(raw: bytes, encoding: str) -> tuple[str, int]:
    """Decode `raw`; each undecodable byte becomes U+FFFD. Returns (text, how many).

    Never drops a byte silently (no errors="ignore"). Linear: Python's "surrogateescape"
    marks each bad byte with a lone surrogate (which no valid decoding yields), replaced
    afterwards. Only where a bad sequence holds an ASCII byte (an odd byte at the end of
    UTF-16) does it fall back to resuming after each error.
    """
    try:
        text = raw.decode(encoding, "surrogateescape")
    except UnicodeDecodeError:
        return _decode_resuming(raw, encoding)
    return _ESCAPED_BYTE.subn(REPLACEMENT, text)


def _decode_resuming(raw: bytes, encoding: str) -> tuple[str, int]:
    """Decode, putting one U+FFFD for each undecodable sequence and resuming behind it."""
    out: list[str] = []
    bad = pos = 0
    while True:
        try:
            out.append(raw[pos:].decode(encoding))
            return "".join(out), bad
        except UnicodeDecodeError as err:
            out.append(raw[pos:pos + err.start].decode(encoding))
            out.append(REPLACEMENT)
            bad += 1
            pos += max(err.end, err.start + 1)


def _decode_legacy(raw: bytes, encoding: str) -> tuple[str, int]:
    """Decode in a legacy encoding; single-byte codecs never map a byte to U+FFFD themselves."""
    if not is_single_byte(encoding):
        return decode_counting(raw, encoding)
    text = raw.decode(encoding, "replace")
    return text, text.count(REPLACEMENT)


def _utf8_with_stray_bytes(line: bytes, encoding: str) -> tuple[str, int]:
    """Decode one line as UTF-8, reading each run of invalid bytes in the single-byte `encoding`."""
    replacements = 0

    def stray(run: re.Match) -> str:
        nonlocal replacements
        text, count = _decode_legacy(run.group().encode("utf-8", "surrogateescape"), encoding)
        replacements += count
        return text

    text = _ESCAPED_RUN.sub(stray, line.decode("utf-8", "surrogateescape"))
    return text, replacements


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _stray_bytes_in_context(line: bytes) -> bytes:
    """`line` with its valid UTF-8 characters blanked: only the stray bytes and ASCII are
    evidence of the encoding the stray bytes are in."""
    text = line.decode("utf-8", "surrogateescape")
    return "".join(ch if ch.isascii() else " " if ch < "\udc80" or ch > "\udcff" else ch
                   for ch in text).encode("utf-8", "surrogateescape")


def _runs_of_stray_bytes(lines: list[bytes], bad: set[int]) -> bool:
    """Whether most stray bytes come in runs, as multi-byte CJK characters do (a stray
    Latin-1 letter or sign is one byte between ASCII ones)."""
    runs = [len(run) for i in bad for run in _ESCAPED_RUN.findall(lines[i].decode("utf-8", "surrogateescape"))]
    return sum(n for n in runs if n > 1) > sum(runs) / 2


def _decode_almost_utf8(raw: bytes) -> Decoded | None:
    """Line by line, when a UTF-8 file holds a few lines with stray bytes; else None.

    "A few": at most a tenth of the lines or a hundredth of the bytes are invalid, or valid
    non-ASCII (so surely UTF-8) lines are at least as many as invalid ones; never when the
    stray bytes come in runs with no valid non-ASCII line (Big5, GB2312: the detector's).
    The stray bytes of all bad lines together choose their encoding, so a pasted cp1251
    paragraph is read as cp1251, a pound sign as cp1252.
    """
    lines = raw.splitlines(keepends=True)
    bad = {i for i, line in enumerate(lines) if not _is_utf8(line)}
    utf8_evidence = sum(1 for line in lines if not line.isascii()) - len(bad)
    stray = sum(len(_ESCAPED_BYTE.findall(lines[i].decode("utf-8", "surrogateescape"))) for i in bad)
    few = len(bad) <= _STRAY_LINE_SHARE * len(lines) or stray <= _STRAY_BYTE_SHARE * len(raw)
    if (not few and utf8_evidence < len(bad)) or (utf8_evidence <= 0 and _runs_of_stray_bytes(lines, bad)):
        return None
    # With no real UTF-8 beside them, the stray bytes are the file's only non-ASCII: all of
    # it is evidence of their encoding.
    evidence = raw if utf8_evidence <= 0 else b"".join(_stray_bytes_in_context(lines[i]) for i in sorted(bad))
    encoding = detect_legacy(evidence)
    decode_bad_line = _utf8_with_stray_bytes if is_single_byte(encoding) else decode_counting
    texts, replacements = [], 0
    for number, line in enumerate(lines):
        if number in bad:
            text, count = decode_bad_line(line, encoding)
            replacements += count
        else:
            text = line.decode("utf-8")
        texts.append(text)
    return Decoded("".join(texts), "utf-8", "lines", encoding, len(bad), replacements)


def _iso_2022(raw: bytes) -> Decoded | None:
    """7-bit ISO-2022 text, named by the escape sequence of its double-byte set; else None."""
    if b"\x1b" not in raw or b"\x1b$" not in raw or not raw.isascii():  # memchr first: 2-byte search is slower
        return None
    for escape, codec in _ISO_2022:
        if escape in raw:
            try:
                return Decoded(raw.decode(codec), codec)
            except UnicodeDecodeError:
                return None
    return None


def count_stray_controls(raw: bytes, decoded: Decoded) -> int:
    """How many C0 controls (not tab or line breaks) and DELs the text holds; the normalise
    stage removes them. From the bytes where each such byte is that character."""
    if decoded.encoding in ("utf-8", "utf-8-sig"):
        return len(raw.translate(None, NOT_STRAY_CONTROL_BYTES))  # keeps only them: a small copy
    return len(_STRAY_CONTROL.findall(decoded.text))


def decode_bytes(raw: bytes) -> Decoded:
    """Decode the bytes of one text (a file, or one record's field) into Unicode.

    Call `sniff.sniff_binary` first to turn binary data away; this function always
    returns text, with U+FFFD (counted) for whatever cannot be decoded.
    """
    if raw.startswith(codecs.BOM_UTF8):
        inner = decode_bytes(raw[len(codecs.BOM_UTF8):])
        return replace(inner, encoding="utf-8-sig") if inner.encoding == "utf-8" else inner
    for bom, codec, name in _BOMS:
        if raw.startswith(bom):
            text, bad = decode_counting(raw[len(bom):], codec)
            return Decoded(text, name, replacements=bad)
    wide = sniff_utf16_32(raw)
    if wide is not None:
        text, bad = decode_counting(raw, wide)
        return Decoded(text, wide, replacements=bad)
    iso_2022 = _iso_2022(raw)
    if iso_2022 is not None:
        return iso_2022
    try:
        return Decoded(raw.decode("utf-8"), "utf-8")
    except UnicodeDecodeError:
        pass
    almost = _decode_almost_utf8(raw)
    if almost is not None:
        return almost
    encoding = detect_legacy(raw)
    text, bad = _decode_legacy(raw, encoding)
    return Decoded(text, encoding, "detector", replacements=bad)


def decode_document(doc: Document, config: Config) -> Document:
    """Fill `doc.text` from `doc.raw` and record how; reject binary data.

    A document that arrives with `text` already set and no `raw` (a JSONL record) is
    passed through untouched.
    """
    if not doc.alive or doc.raw is None:
        return doc
    kind = sniff_binary(doc.raw)
    if kind is not None:
        doc.reject = Reject("binary", f"binary data, not text ({kind})")
    else:
        decoded = decode_bytes(doc.raw)
        doc.text = decoded.text
        doc.audit.update(decoded.audit())
        doc.audit["controls_removed"] = count_stray_controls(doc.raw, decoded)
    doc.raw = None
    return doc
