"""What bytes are, before decoding: binary data, UTF-16/32 without a BOM, or which legacy encoding.

The legacy-encoding choice is charset-normalizer's, with corrections measured on real text
(README, "Decoding and repair"): only the encodings that web pages and archives actually
use are candidates; when the evidence is thin (a few non-ASCII bytes in English text, where
any Latin code page "fits") cp1252 wins unless its reading looks wrong; and near-ties go to
the more common encoding.
"""

from __future__ import annotations

import codecs
import re

from charset_normalizer import from_bytes
from ftfy.badness import is_bad

# Magic numbers of files that are often saved with a wrong name. Text never starts so.
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "PNG image"),
    (b"\xff\xd8\xff", "JPEG image"),
    (b"GIF87a", "GIF image"),
    (b"GIF89a", "GIF image"),
    (b"%PDF-", "PDF document"),
    (b"PK\x03\x04", "ZIP archive (or docx, xlsx, epub)"),
    (b"PK\x05\x06", "ZIP archive"),
    (b"\x1f\x8b", "gzip data"),
    (b"\xfd7zXZ\x00", "xz data"),
    (b"7z\xbc\xaf\x27\x1c", "7-Zip archive"),
    (b"\x28\xb5\x2f\xfd", "zstd data"),
    (b"\x7fELF", "ELF executable"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "OLE2 document (old Office)"),
    (b"SQLite format 3\x00", "SQLite database"),
)
_SAMPLE = 1 << 16
# C0 controls that text does not use: all but \t \n \v \f \r and ESC (terminal colours), and DEL.
_CONTROL_BYTES = bytes([*range(0x00, 0x09), *range(0x0E, 0x1B), *range(0x1C, 0x20), 0x7F])
_MAX_CONTROL_SHARE = 0.02  # real text: ~0; compressed or image data: ~11%
_UTF16_MIN_NUL_SHARE = 0.05  # of code units; Cyrillic UTF-16 has ~14% (spaces), ASCII 100%

# charset-normalizer's candidates: the legacy encodings of the WHATWG Encoding Standard
# that still matter, in order of preference on a tie (cp1252 first: the web's default).
LEGACY_ENCODINGS = (
    "cp1252", "cp1250", "cp1251", "cp1253", "cp1254", "cp1255", "cp1256", "cp1257", "cp1258",
    "iso8859_2", "iso8859_5", "iso8859_6", "iso8859_7", "iso8859_8", "iso8859_15",
    "koi8_r", "koi8_u", "cp866", "mac_roman", "cp874",
    "gb18030", "big5", "cp932", "shift_jis", "euc_jp", "cp949", "euc_kr",
)
MULTI_BYTE = frozenset({"gb18030", "big5", "cp932", "shift_jis", "euc_jp", "cp949", "euc_kr"})
# Thin evidence: under 3% non-ASCII bytes, or at most 16 of them; then the cp1252 prior
# decides, unless the cp1252 reading looks wrong: ftfy sees mojibake, or three Latin-1
# letters in a row (Western words mix accents with ASCII; "Ïðèâåò" is cp1251 Russian).
_THIN_SHARE, _THIN_COUNT = 0.03, 16
_IMPLAUSIBLE_LATIN = re.compile("[\xc0-\xff]{3}")
_HIGH_BYTES = bytes(range(0x80, 0x100))
# Coherence differences below this are noise on article-sized texts (cp1250 vs cp1252 on
# English with one "ê": 0.013); within it the preference order decides.
_TIE = 0.02


def sniff_utf16_32(raw: bytes) -> str | None:
    """The codec of UTF-16/32 text without a BOM, from the NUL pattern; None if not that.

    In UTF-32 one or two of every four bytes are always NUL; in UTF-16 text with ASCII
    spaces or digits, NULs fall on one parity only. The guess must also decode cleanly.
    """
    sample = raw[:_SAMPLE]
    if b"\x00" not in sample:
        return None
    quads = len(sample) // 4
    if quads:
        zeros = [sample[i:quads * 4:4].count(0) for i in range(4)]
        if zeros[3] == quads and zeros[2] >= 0.9 * quads:
            return _if_clean(sample[:quads * 4], "utf-32-le")
        if zeros[0] == quads and zeros[1] >= 0.9 * quads:
            return _if_clean(sample[:quads * 4], "utf-32-be")
    units = len(sample) // 2
    even, odd = sample[0:units * 2:2].count(0), sample[1:units * 2:2].count(0)
    if odd >= _UTF16_MIN_NUL_SHARE * units and even <= odd / 20:
        return _if_clean(sample[:units * 2], "utf-16-le")
    if even >= _UTF16_MIN_NUL_SHARE * units and odd <= even / 20:
        return _if_clean(sample[:units * 2], "utf-16-be")
    return None


def _if_clean(sample: bytes, codec: str) -> str | None:
    """`codec` if `sample` decodes with it (a split pair at the end allowed) into text."""
    text = codecs.getincrementaldecoder(codec)("replace").decode(sample, final=False)
    controls = sum(1 for ch in text if ch < "\x20" and ch not in "\t\n\r\x0c") + text.count("\ufffd")
    return codec if controls <= 0.01 * len(text) else None


def sniff_binary(raw: bytes) -> str | None:
    """What kind of binary data `raw` is ("PNG image", "control bytes"), or None for text."""
    if raw.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_BE)):
        return None
    for magic, kind in _MAGIC:
        if raw.startswith(magic):
            return kind
    if sniff_utf16_32(raw) is not None:
        return None
    sample = raw[:_SAMPLE]
    controls = len(sample) - len(sample.translate(None, _CONTROL_BYTES))
    if controls > _MAX_CONTROL_SHARE * len(sample):
        return f"{controls} control bytes in the first {len(sample)}"
    return None


def detect_legacy(data: bytes) -> str:
    """The most likely single- or multi-byte legacy encoding of `data` (a Python codec name).

    Thin evidence and a plausible cp1252 reading: cp1252. Otherwise charset-normalizer's
    candidates with the best coherence minus chaos (within `_TIE`), the earliest of them
    in `LEGACY_ENCODINGS`.
    """
    nonascii = len(data) - len(data.translate(None, _HIGH_BYTES))
    if nonascii < _THIN_SHARE * len(data) or nonascii <= _THIN_COUNT:
        western = data.decode("cp1252", "replace")
        if not is_bad(western) and not _IMPLAUSIBLE_LATIN.search(western):
            return "cp1252"
    matches = list(from_bytes(data, cp_isolation=list(LEGACY_ENCODINGS)))
    if not matches:
        return "cp1252"

    def preference(match) -> int:
        names = [match.encoding, *match.could_be_from_charset]
        return min((LEGACY_ENCODINGS.index(n) for n in names if n in LEGACY_ENCODINGS),
                   default=len(LEGACY_ENCODINGS))

    scores = [match.chaos - match.coherence for match in matches]
    near_best = [m for m, score in zip(matches, scores, strict=True) if score <= min(scores) + _TIE]
    best = min(near_best, key=preference)
    names = [best.encoding, *best.could_be_from_charset]
    return next((n for n in LEGACY_ENCODINGS if n in names), best.encoding)
