"""Script tokens on real text: the translation catalogues (.mo) Debian packages install.

A catalogue pairs each English message with its translation: many distinct real sentences
in Chinese, Japanese, Korean and Thai, and for each the English it says. Consecutive
translations of one catalogue are joined into paragraphs of 60-160 characters, a catalogue
is a document, and the whole set goes through the pipeline with the default options. A removal is false when the
English sources of the two paragraphs are not near copies (word-sequence similarity under
0.7): the translations then say different things. Skipped where the catalogues are absent.
"""

from collections import defaultdict
import difflib
import gettext
from pathlib import Path
import random
import re

import pytest

from cleaner import Config
from cleaner.api import clean_documents
from cleaner.dedup.tokens import patterns, words
from cleaner.record import Document

LOCALE = Path("/usr/share/locale")
SCRIPTS = {"zh_CN": ("han",), "ja": ("han", "kana"), "ko": ("hangul",), "th": ("thai",)}
# About one English word's worth of characters (cleaner.dedup.tokens.CHARS_PER_WORD).
PHRASE = {"zh_CN": 2, "ja": 3, "ko": 2, "th": 4}


def catalogues(language: str) -> list[Path]:
    return sorted((LOCALE / language / "LC_MESSAGES").glob("*.mo"))


def translations(path: Path) -> list[tuple[str, str]]:
    """(English, translation) of every singular message, whitespace squeezed."""
    try:
        with path.open("rb") as stream:
            catalogue = gettext.GNUTranslations(stream)._catalog
    except (OSError, gettext.error, UnicodeDecodeError):
        return []
    return [(" ".join(k.split()), " ".join(v.split())) for k, v in catalogue.items()
            if isinstance(k, str) and k and isinstance(v, str) and v]


def paragraphs(language: str) -> dict[str, list[tuple[str, str]]]:
    """Catalogue name -> its (translation, English) paragraphs, every message used once."""
    seen, out = set(), defaultdict(list)
    for path in catalogues(language):
        joined: list[tuple[str, str]] = []
        for english, text in translations(path):
            script = sum(len(patterns().script_char[name].findall(text)) for name in SCRIPTS[language])
            if text in seen or english in seen or not 8 <= len(text) <= 120 or script < len(text) / 2:
                continue
            seen.update((text, english))
            joined.append((text, english))
            if len(paragraph := " ".join(t for t, _ in joined)) >= 60:
                if len(paragraph) <= 160:
                    out[path.stem].append((paragraph, " ".join(e for _, e in joined)))
                joined = []
    return out


def decided(documents: dict[str, list[str]], config: Config) -> list[Document]:
    docs = [Document(id=name, source=name, text="\n\n".join(texts)) for name, texts in documents.items()]
    docs = list(clean_documents(docs, config))
    assert [len(doc.paragraphs) for doc in docs] == [len(texts) for texts in documents.values()]
    return docs


def near(a: str, b: str) -> bool:
    return difflib.SequenceMatcher(None, words(a), words(b), autojunk=False).ratio() >= 0.7


def edited(text: str, language: str, donor: str, rng: random.Random) -> str:
    """`text` with one phrase (PHRASE characters of its script in a row) taken from `donor`."""
    character = "|".join(patterns().script_char[name].pattern for name in SCRIPTS[language])
    phrase = re.compile(f"(?:{character}){{{PHRASE[language]}}}")
    start, end = rng.choice([m.span() for m in phrase.finditer(text)])
    replacements = [m.group() for m in phrase.finditer(donor) if m.group() != text[start:end]]
    return text[:start] + rng.choice(replacements) + text[end:] if replacements else text


def available(language: str) -> bool:
    return len(catalogues(language)) >= 10


@pytest.mark.parametrize("language", sorted(SCRIPTS))
def test_distinct_real_paragraphs_are_kept(language):
    if not available(language):
        pytest.skip(f"fewer than 10 catalogues in {LOCALE / language}")
    found = paragraphs(language)
    removed = false = 0
    for doc in decided({name: [text for text, _ in texts] for name, texts in found.items()}, Config()):
        for paragraph in doc.paragraphs:
            if paragraph.removal is not None and paragraph.removal.duplicate_of is not None:
                kept = paragraph.removal.duplicate_of
                removed += 1
                false += not near(found[doc.source][paragraph.index][1], found[kept.source][kept.paragraph][1])
    total = sum(map(len, found.values()))
    assert total >= 1000
    assert false <= 0.005 * total, (false, removed, total)


@pytest.mark.parametrize("language", sorted(SCRIPTS))
def test_real_paragraphs_with_one_phrase_rewritten_are_removed(language):
    if not available(language):
        pytest.skip(f"fewer than 10 catalogues in {LOCALE / language}")
    rng = random.Random(18)
    texts = [text for found in paragraphs(language).values() for text, _ in found]
    originals = rng.sample(texts, 300)
    copies = [edited(text, language, rng.choice(texts), rng) for text in originals]
    pairs = [(a, b) for a, b in zip(originals, copies, strict=True) if a != b]
    # Document dedup off: the copies' document would go whole, as a near copy of the originals'.
    docs = decided({"originals": [a for a, _ in pairs], "copies": [b for _, b in pairs]}, Config(doc_threshold=0.0))
    caught = sum(p.removal is not None and p.removal.duplicate_of is not None
                 and (p.removal.duplicate_of.source, p.removal.duplicate_of.paragraph) == ("originals", p.index)
                 for p in docs[1].paragraphs)
    assert caught >= 0.9 * len(pairs) > 250, (caught, len(pairs))
