"""Sentence windows on real text in Chinese, Japanese, Korean and Thai: the translation
catalogues of tests/dedup/test_tokens_catalogues.py (every message used once), one
catalogue a document, through `--unit sentence`. What is cut can only be a near copy that
the catalogues hold themselves (a message translated twice with other punctuation), so the
share of characters cut bounds the false removals. Skipped where the catalogues are absent."""

import pytest

from cleaner import Config
from cleaner.api import clean_documents
from cleaner.record import Document
from tests.dedup.test_tokens_catalogues import SCRIPTS, available, paragraphs


@pytest.mark.parametrize("language", sorted(SCRIPTS))
def test_distinct_real_text_loses_almost_nothing(language):
    if not available(language):
        pytest.skip(f"fewer than 10 catalogues for {language}")
    found = paragraphs(language)
    docs = [Document(id=name, source=name, text="\n\n".join(text for text, _ in texts))
            for name, texts in found.items()]
    docs = list(clean_documents(docs, Config(unit="sentence")))
    total = sum(len(p.text) for doc in docs for p in doc.paragraphs)
    cut = sum(len(p.text) - len(p.output_text()) if p.kept else len(p.text) for doc in docs for p in doc.paragraphs
              if p.cuts)
    assert total > 100_000
    assert cut <= 0.005 * total, (cut, total)
