"""Which legacy encoding bytes that are not UTF-8 are in.

cp1252 when its reading looks like Western European text: charset-normalizer, given English
with a few non-ASCII bytes, where every Latin code page "fits", often reads a pound sign as
"Ł". Otherwise charset-normalizer decides, over all its code pages (Windows, ISO, Mac, DOS,
CJK), by the language the decoded text makes (README, "Choosing the legacy encoding").
"""

from __future__ import annotations

from functools import lru_cache
import re

from charset_normalizer import from_bytes
from ftfy.badness import is_bad

from cleaner.text.sniff import STRAY_CONTROL_BYTES

# A cp1252 reading that is not Western text: three Latin-1 letters in a row ("Ïðèâåò" is
# cp1251 Russian), a symbol or an undefined byte between two letters ("f\u0178r", "k\u201er":
# German in MacRoman or DOS 850), a non-ASCII capital after a small letter.
_IMPLAUSIBLE_LATIN = re.compile(
    "[\xc0-\xff]{3}"
    "|(?<=[^\\W\\d_])(?:[^\\x00-\\x7f\\w\u2010-\u2027\xad\xb7]|[\u02c6\u02dc\u0192\xaa\xba\xb5])(?=[^\\W\\d_])"
    "|[a-z\xdf-\xff][\xc0-\xd6\xd8-\xde\u0160\u0152\u017d\u0178]"
)
# The accented letters of Western European languages written in cp1252. English text
# borrows names and words from all of its neighbours.
_WESTERN_ALPHABETS = tuple(frozenset(letters) for letters in (
    "àáâãäåæçèéêëíîïñóôöøúûüœ",  # English, with its loans
    "àâæçéèêëîïôœùûüÿ",  # French
    "äöüßé",  # German
    "áéíñóúü",  # Spanish
    "áâãàçéêíóôõúü",  # Portuguese
    "àèéìíîòóùú",  # Italian
    "áéèëïóöü",  # Dutch
    "àçèéíïòóúü",  # Catalan
    "åäöæøéüáó",  # Danish, Norwegian, Swedish
    "äöåšž",  # Finnish
    "áðéíóúýþæö",  # Icelandic, Faroese
    "äöõüšž",  # Estonian
))
_NOT_LEGACY = frozenset({"ascii", "utf_8"})
# The code pages most text is written in: the WHATWG Encoding Standard's legacy encodings.
COMMON = (
    "cp1252", "cp1250", "cp1251", "cp1253", "cp1254", "cp1255", "cp1256", "cp1257", "cp1258",
    "iso8859_2", "iso8859_5", "iso8859_6", "iso8859_7", "iso8859_8", "iso8859_15",
    "koi8_r", "koi8_u", "cp866", "mac_roman", "cp874",
    "gb18030", "big5", "cp932", "shift_jis", "euc_jp", "cp949", "euc_kr",
)


def looks_western(text: str) -> bool:
    """Whether a cp1252 reading looks like Western European text, not another code page's:
    no mojibake, no symbol inside a word, and accented letters that one language uses
    (Hungarian "ő ű" read as cp1252 gives "õ û", which no language has together)."""
    if is_bad(text) or _IMPLAUSIBLE_LATIN.search(text):
        return False
    letters = {ch for ch in text.lower() if not ch.isascii() and ch.isalpha()}
    return any(letters <= alphabet for alphabet in _WESTERN_ALPHABETS)


@lru_cache(maxsize=64)
def is_single_byte(encoding: str) -> bool:
    """Whether `encoding` maps each byte to one character on its own (no lead bytes)."""
    return len(bytes(range(256)).decode(encoding, "replace")) == 256


def detect_legacy(data: bytes) -> str:
    """The most likely single- or multi-byte legacy encoding of `data` (a Python codec name):
    cp1252 when its reading looks Western, else charset-normalizer's best guess. Stray
    control bytes mislead charset-normalizer or make it give up, so it is also asked
    without them (they are ASCII in every byte-oriented encoding); the less chaotic
    reading wins (UTF-16 of CJK holds control bytes that are part of its characters)."""
    if looks_western(data.decode("cp1252", "replace")):
        return "cp1252"
    matches = list(from_bytes(data))
    stripped = data.translate(None, STRAY_CONTROL_BYTES)
    if len(stripped) < len(data):
        without = list(from_bytes(stripped))
        if without and (not matches or without[0].chaos <= matches[0].chaos):
            matches = without
    return _best(matches)


def _best(matches: list) -> str:
    """charset-normalizer's first choice; if that is a rare code page, a common one that ties
    with it exactly (ISO-8859-2 Polish scores as ISO-8859-10 does)."""
    if not matches or matches[0].encoding in _NOT_LEGACY:
        return "cp1252"
    first = matches[0]
    if _is_common(first):
        return first.encoding
    tied = [m for m in matches if (m.chaos, m.coherence) == (first.chaos, first.coherence) and _is_common(m)]
    return tied[0].encoding if tied else first.encoding


def _is_common(match) -> bool:
    return any(name in COMMON for name in (match.encoding, *match.could_be_from_charset))
