"""Tokens in every script: characters where a script writes no spaces, words elsewhere.

The golden near copies are fixtures/tokens/near_copies.jsonl (text written for this project);
they go through the real pipeline, within one document and across documents.
"""

import json
from pathlib import Path
import re
import unicodedata

from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
import pytest

from cleaner import Cleaner, Config, ConfigError, clean_text
from cleaner.cli import main
from cleaner.dedup.fingerprint import Fingerprinter, exact_key
from cleaner.dedup.tokens import has_unspaced, patterns, script_tokens, tokenize, weight, words
from tests.helpers import FIXTURES, write_tree

CASES = [json.loads(line) for line in (FIXTURES / "tokens" / "near_copies.jsonl").open(encoding="utf-8")]
COPIES = [case for case in CASES if case["near_copy"]]
# Characters of the scripts split into characters, of others, and marks, for the properties.
UNSPACED = "中国经济增长点九ひらがなカタカナー한국어ภาษาไทยສະບາຍខ្ញុំမြန်"
SPACED = "abcXYZ019_ éßİ\u212aΣςжЖ١ \t\n,.!?\u0301\u200b"


def _decoded(tokens: list[bytes]) -> list[str]:
    return [token.decode() for token in tokens]


def test_each_character_of_an_unspaced_script_is_a_token_and_other_words_stay_words():
    assert _decoded(script_tokens("苹果发布iPhone 16，售价799美元。")) == [
        "苹", "果", "发", "布", "iphone", "16", "售", "价", "799", "美", "元"]
    assert _decoded(script_tokens("東京タワーへ行きました")) == list("東京タワーへ行きました")
    assert _decoded(script_tokens("한국은행 발표")) == ["한", "국", "은", "행", "발", "표"]


def test_a_thai_or_khmer_token_is_a_character_with_its_marks():
    """`\\w+` drops Thai vowel and tone marks and cuts there; a token keeps them on its consonant."""
    assert _decoded(words("น้ำท่วม")) == ["น", "ำท", "วม"]
    assert _decoded(script_tokens("น้ำท่วม")) == ["น้", "ำ", "ท่", "ว", "ม"]
    assert _decoded(script_tokens("ខ្ញុំ")) == ["ខ្", "ញុំ"]


@settings(max_examples=300)
@given(st.text(st.sampled_from(SPACED), max_size=40))
def test_text_without_unspaced_scripts_gets_its_words_as_the_same_list(text):
    key_words, shingled, count = tokenize(text, script=True)
    assert not has_unspaced(text)
    assert shingled is key_words and key_words == words(text) and count == len(key_words)


@settings(max_examples=300)
@given(st.text(st.sampled_from(UNSPACED + SPACED) | st.characters(max_codepoint=127), max_size=40))
def test_tokens_do_not_depend_on_the_shortcuts(text):
    """The ASCII and no-unspaced-script shortcuts give what the general pattern gives."""
    assert _decoded(script_tokens(text)) == patterns().token.findall(text.casefold())


@settings(max_examples=300)
@given(st.text(st.sampled_from([c for c in UNSPACED + SPACED if unicodedata.category(c)[0] != "M"]), max_size=40))
def test_without_combining_marks_script_tokens_only_cut_words_further(text):
    """Every token lies inside one word, and together they spell the words out in order."""
    tokens, key_words = _decoded(script_tokens(text)), _decoded(words(text))
    assert "".join(tokens) == "".join(key_words)
    assert len(tokens) >= len(key_words)


def test_min_words_counts_characters_as_fractions_of_a_word():
    sentence = "国家统计局公布了最新数据"  # 12 characters: about six English words
    assert weight(sentence, len(script_tokens(sentence))) >= Config().min_words
    assert weight("他补充说：", 4) < Config().min_words  # "He added:"
    fp = Fingerprinter(Config()).fingerprint(sentence)
    assert fp.shingles is not None and fp.signature is not None
    assert Fingerprinter(Config()).fingerprint("他补充说：").shingles is None


def test_exact_keys_stay_the_keys_of_the_words():
    for case in CASES:
        for text in (case["kept"], case["other"]):
            assert Fingerprinter(Config()).fingerprint(text).key == exact_key(words(text))


def test_tokens_is_validated_and_part_of_the_run_digest():
    with pytest.raises(ConfigError, match="tokens must be one of script, words"):
        Config(tokens="chars")
    assert Config().as_dict()["tokens"] == "script"
    assert Config(tokens="words").digest() != Config().digest()


@pytest.mark.parametrize("case", COPIES, ids=[case["name"] for case in COPIES])
def test_a_near_copy_in_one_document_is_removed(case):
    text = f"{case['kept']}\n\n{case['other']}"
    assert clean_text(text) == case["kept"] + "\n"


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_across_documents_near_copies_go_and_distinct_paragraphs_stay(case):
    """Each document also holds a paragraph of another story, so the documents differ."""
    cleaner = Cleaner(Config())
    first, second = [other["other"] for other in CASES if other["language"] != case["language"]][:2]
    docs = [{"id": "a", "text": f"{case['kept']}\n\n{first}"}, {"id": "b", "text": f"{second}\n\n{case['other']}"}]
    out = list(cleaner.run(docs))
    assert [record["id"] for record in out] == ["a", "b"]
    assert out[1]["text"].rstrip("\n") == (second if case["near_copy"] else docs[1]["text"])
    if case["near_copy"]:
        [removal] = cleaner.removed
        assert removal["reason"] == "near_duplicate" and removal["duplicate_of"] == {"source": "<records>", "id": "a",
                                                                                     "paragraph": 0}
        # The log says when the copy was found on character shingles (words elsewhere: no field).
        assert removal.get("shingles") == ("characters" if has_unspaced(case["other"]) else None)


def test_a_document_that_is_a_near_copy_goes_whole():
    """Document fingerprints (`doc_ngram` tokens) are made of the same tokens."""
    cleaner = Cleaner(Config())
    case = COPIES[0]
    out = list(cleaner.run([{"id": "a", "text": case["kept"]}, {"id": "b", "text": case["other"]}]))
    assert [record["id"] for record in out] == ["a"]
    assert [removal["reason"] for removal in cleaner.removed] == ["duplicate_document"]


def test_with_word_tokens_chinese_and_japanese_near_copies_are_missed():
    """What `tokens="script"` is for: `\\w+` sees a clause as one word."""
    for case in COPIES:
        if case["language"] in ("zh", "ja"):
            text = f"{case['kept']}\n\n{case['other']}"
            assert clean_text(text, Config(scope="document", tokens="words")) == text + "\n", case["name"]


def test_a_folder_run_records_the_tokens_and_logs_the_removal(tmp_path: Path):
    copy = COPIES[0]
    src = write_tree(tmp_path / "src", {"a.txt": copy["kept"], "b.txt": f"{copy['other']}\n\n{CASES[1]['other']}"})
    result = CliRunner().invoke(main, ["clean", "-q", str(src), str(tmp_path / "out")], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    state = tmp_path / "out" / ".cleaner"
    assert json.loads((state / "report.json").read_text())["config"]["tokens"] == "script"
    [logged] = [json.loads(line) for line in (state / "removed.jsonl").open(encoding="utf-8")]
    assert logged["reason"] == "near_duplicate" and logged["duplicate_of"]["source"] == "a.txt"
    assert re.sub(r"\s", "", (tmp_path / "out" / "b.txt").read_text()) == re.sub(r"\s", "", CASES[1]["other"])
