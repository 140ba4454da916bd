"""The sentence splitter: its rules on text written here, and real BBC paragraphs read at run time."""

from itertools import pairwise
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
import pytest

from cleaner.text.sentences import sentence_spans, split_sentences
from tests.helpers import SHARED, needs_shared

BBC = SHARED / "data" / "bbc"


@pytest.mark.parametrize(("text", "expected"), [
    ("The council met. It voted! Did it pass? Yes.", ["The council met.", "It voted!", "Did it pass?", "Yes."]),
    ('He said: "It is fine." Then he left.', ['He said: "It is fine."', "Then he left."]),
    ("Mr. Smith and Dr. Jones met at St. Paul's on Jan. 5. Talks went on.",
     ["Mr. Smith and Dr. Jones met at St. Paul's on Jan. 5.", "Talks went on."]),
    ("J. K. Rowling earned $1.5bn. The U.S. economy grew 3.5% in 2004.",
     ["J. K. Rowling earned $1.5bn.", "The U.S. economy grew 3.5% in 2004."]),
    ("Prices rose... and then fell. Nobody knew why.", ["Prices rose... and then fell.", "Nobody knew why."]),
    ("The firm (founded 1990.) Grew fast.", ["The firm (founded 1990.)", "Grew fast."]),
    ("a line\nwrapped. Another\nline.", ["a line\nwrapped.", "Another\nline."]),
    ("国家统计局周二公布了数据。增长百分之四点九！是否超出预期？分析人士说：“略低。”下一句",
     ["国家统计局周二公布了数据。", "增长百分之四点九！", "是否超出预期？", "分析人士说：“略低。”", "下一句"]),
    ("台風が接近しています。「避難してください。」と市は呼びかけました。",
     ["台風が接近しています。", "「避難してください。」", "と市は呼びかけました。"]),
    ("भारत एक देश है। यह बड़ा है।", ["भारत एक देश है।", "यह बड़ा है।"]),
    ("", []),
    ("   ", []),
])
def test_rules(text, expected):
    assert split_sentences(text) == expected


@given(st.text(st.sampled_from("ab A.!?。」\" \n…1"), max_size=60))
def test_spans_are_ordered_and_leave_out_only_whitespace(text):
    spans = sentence_spans(text)
    cuts = [0, *(i for span in spans for i in span), len(text)]
    assert cuts == sorted(cuts)
    assert all(a < b for a, b in spans)
    gaps = [text[cuts[i]:cuts[i + 1]] for i in range(0, len(cuts), 2)]
    assert all(not gap.strip() for gap in gaps)


def _paragraph(path: str, index: int) -> str:
    return (BBC / path).read_text(encoding="utf-8").split("\n\n")[index]


# Real BBC paragraphs (path, paragraph index, sentences), counted by hand: an honorific with
# a period, a quoted question ending a sentence, an ellipsis inside a quote, initials in a
# team list, money with decimals.
HAND_COUNTED = [
    ("entertainment/353.txt", 34, 2),
    ("politics/222.txt", 3, 2),
    ("business/100.txt", 3, 1),
    ("sport/384.txt", 6, 1),
    ("business/001.txt", 1, 1),
    ("business/001.txt", 2, 3),
]


@needs_shared(BBC)
@pytest.mark.parametrize(("path", "index", "count"), HAND_COUNTED)
def test_real_bbc_paragraphs_split_as_counted_by_hand(path, index, count):
    assert len(split_sentences(_paragraph(path, index))) == count


@needs_shared(BBC)
def test_on_all_of_bbc_no_cut_is_before_lower_case_or_after_an_honorific():
    """Every cut after a paragraph's first sentence: the next one starts in upper case (or a
    digit, a quote), and the one before does not end on "Mr." and the like."""
    paragraphs = [split_sentences(paragraph) for path in sorted(Path(BBC).rglob("*.txt"))
                  for paragraph in path.read_text(encoding="utf-8", errors="replace").split("\n\n")]
    cuts = [(before, after) for sentences in paragraphs for before, after in pairwise(sentences)]
    assert len(cuts) > 20_000
    assert not [after for _, after in cuts if after[0].islower()]
    assert not [before for before, _ in cuts if before.split()[-1] in ("Mr.", "Mrs.", "Dr.", "St.", "Prof.")]


@pytest.mark.parametrize(("text", "expected"), [
    # A word longer than any abbreviation that ends like one ("...co") still ends a sentence.
    ("It was antidisestablishmentarianco. Next came more.", ["It was antidisestablishmentarianco.", "Next came more."]),
    ("Shares in Acme Co. Ltd rose. Then they fell.", ["Shares in Acme Co. Ltd rose.", "Then they fell."]),
    ("the U.S. said so. Later it changed.", ["the U.S. said so.", "Later it changed."]),
])
def test_the_abbreviation_is_looked_for_just_before_the_stop(text, expected):
    assert split_sentences(text) == expected


PIECES = ["Mr. Lee spoke.", "Growth was 1.5% in Jan. 2005.", "It rose!", "再见。", "J. Smith won."]


@given(st.lists(st.sampled_from(PIECES), min_size=1, max_size=40))
def test_a_long_paragraph_splits_as_its_sentences_do_one_by_one(sentences):
    # The look-back for an abbreviation is bounded, so a long paragraph costs linear time;
    # where each sentence starts does not change what is found.
    assert split_sentences(" ".join(sentences)) == [s for sentence in sentences for s in split_sentences(sentence)]
