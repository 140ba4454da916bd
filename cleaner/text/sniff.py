"""What bytes are before any decoding: binary data, or UTF-16/32 without a byte order mark.

Binary means binary: a known magic number, a high density of NUL bytes, or control bytes
of many kinds, as compressed data and images have. A text that holds a few stray controls
(a wire story ending in U+0003, apostrophes mangled into U+0019) is text; the normalise
stage removes those controls and the decode stage counts them.
"""

from __future__ import annotations

import codecs

# Magic numbers of files that are often saved with a wrong name. Text never starts so.
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "PNG image"),
    (b"\xff\xd8\xff", "JPEG image"),
    (b"GIF87a", "GIF image"),
    (b"GIF89a", "GIF image"),
    (b"II*\x00", "TIFF image"),
    (b"MM\x00*", "TIFF image"),
    (b"%PDF-", "PDF document"),
    (b"PK\x03\x04", "ZIP archive (or docx, xlsx, epub)"),
    (b"PK\x05\x06", "ZIP archive"),
    (b"\x1f\x8b", "gzip data"),
    (b"\xfd7zXZ\x00", "xz data"),
    (b"7z\xbc\xaf\x27\x1c", "7-Zip archive"),
    (b"Rar!\x1a\x07", "RAR archive"),
    (b"\x28\xb5\x2f\xfd", "zstd data"),
    (b"\x7fELF", "ELF executable"),
    (b"\xca\xfe\xba\xbe", "Mach-O or Java class"),
    (b"\xcf\xfa\xed\xfe", "Mach-O executable"),
    (b"\x00asm", "WebAssembly module"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "OLE2 document (old Office)"),
    (b"SQLite format 3\x00", "SQLite database"),
    (b"OggS\x00", "Ogg media"),
    (b"fLaC", "FLAC audio"),
    (b"\xde\x12\x04\x95", "gettext catalogue"),
    (b"\x95\x04\x12\xde", "gettext catalogue"),
)
_SAMPLE = 1 << 16
# C0 controls that text does not use: all but \t \n \v \f \r and ESC (terminal colours,
# ISO-2022 shifts), and DEL. SO and SI are ISO-2022-KR's shifts, so they count only as
# one kind between them.
CONTROL_BYTES = bytes([*range(0x00, 0x09), *range(0x0E, 0x1B), *range(0x1C, 0x20), 0x7F])
# The C0 controls the normalise stage removes: all but tab and the line breaks, and DEL.
STRAY_CONTROL_BYTES = bytes([*range(0x00, 0x09), *range(0x0E, 0x20), 0x7F])
NOT_STRAY_CONTROL_BYTES = bytes(b for b in range(256) if b not in STRAY_CONTROL_BYTES)
_TEXT_BYTES = bytes(b for b in range(256) if b not in CONTROL_BYTES)
# Binary data: compressed data and images hold ~11% control bytes of all 29 kinds; text
# with stray controls holds one or a few kinds.
_MAX_CONTROL_SHARE = 0.02
_MIN_CONTROL_KINDS = 6
_MAX_NUL_SHARE = 0.1  # of bytes that are not UTF-16/32; a NUL-padded record is not text
_UTF16_MIN_NUL_SHARE = 0.05  # of code units, for ASCII-like bytes; Cyrillic UTF-16 has ~14%
_PRINTABLE_ASCII = bytes([9, 10, 13, *range(0x20, 0x7F)])


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
    if units == 0:  # one byte is no code unit: nothing to read as UTF-16
        return None
    even, odd = sample[0:units * 2:2].count(0), sample[1:units * 2:2].count(0)
    if not _ascii_text(sample):
        # A script with little ASCII (Thai, CJK) gives few NULs, on either parity (a
        # newline, or a character such as U+4E00): the reading that is all text wins,
        # unless the bytes are UTF-8 (with a stray NUL).
        stripped = sample.translate(None, _C0_CONTROLS)  # a few stray NULs or controls in UTF-8 text
        if _all_text(sample if len(stripped) < 0.98 * len(sample) else stripped, "utf-8"):
            return None
        order = ("utf-16-le", "utf-16-be") if odd >= even else ("utf-16-be", "utf-16-le")
        return next((codec for codec in order if _all_text(sample[:units * 2], codec)
                     and _in_unspaced_scripts(sample[:units * 2], codec)), None)
    if odd >= _UTF16_MIN_NUL_SHARE * units and even <= odd / 20:
        return _if_clean(sample[:units * 2], "utf-16-le")
    if even >= _UTF16_MIN_NUL_SHARE * units and odd <= even / 20:
        return _if_clean(sample[:units * 2], "utf-16-be")
    return None


# What bytes that only happen to decode as UTF-16 turn into, and real text hardly holds: C1
# controls, combining marks on their own, punctuation, super- and subscripts, symbols,
# surrogates, private use, specials (U+FFFD among them).
_UNLIKELY_IN_UTF16_TEXT = ((0x0080, 0x009F), (0x0300, 0x036F), (0x2000, 0x2BFF), (0xD800, 0xF8FF), (0xFFF0, 0xFFFF))


def _in_unspaced_scripts(sample: bytes, codec: str) -> bool:
    """Whether nearly all of the reading is letters of some script: bytes that only happen
    to decode (a binary blob read as UTF-16) scatter into symbols and marks."""
    text = sample.decode(codec, "replace")
    unlikely = sum(any(low <= ord(ch) <= high for low, high in _UNLIKELY_IN_UTF16_TEXT) for ch in text)
    return unlikely <= 0.1 * len(text)


_C0_CONTROLS = bytes(c for c in range(32) if c not in (9, 10, 13))


def _all_text(sample: bytes, codec: str) -> bool:
    """Whether `sample` decodes strictly (a split pair at the end allowed) into printable text."""
    try:
        text = codecs.getincrementaldecoder(codec)("strict").decode(sample, final=False)
    except UnicodeDecodeError:
        return False
    return sum(ch.isprintable() or ch in "\n\r\t" for ch in text) >= 0.99 * len(text)


def _ascii_text(sample: bytes) -> bool:
    """Whether at least nine bytes in ten are printable ASCII (UTF-16 of CJK: about half)."""
    return len(sample.translate(None, _PRINTABLE_ASCII)) < 0.1 * len(sample)


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
    controls = sample.translate(None, _TEXT_BYTES)
    if not controls:
        return None
    nuls = controls.count(0)
    if nuls > _MAX_NUL_SHARE * len(sample):
        return f"{nuls} NUL bytes in the first {len(sample)}"
    kinds = len(set(controls) - {0x0F})
    if len(controls) > _MAX_CONTROL_SHARE * len(sample) and kinds >= _MIN_CONTROL_KINDS:
        return f"{len(controls)} control bytes of {kinds} kinds in the first {len(sample)}"
    return None
