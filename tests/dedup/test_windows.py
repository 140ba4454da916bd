"""Sentence windows (`--unit sentence`): copied runs cut in every script, within and across
documents, whatever their line breaks; shared sentences and short quotes kept; nothing lost."""

from __future__ import annotations

import pickle
import sys
import textwrap

from hypothesis import given, settings
from hypothesis import strategies as st
import pytest

from cleaner.api import clean_documents
from cleaner.config import Config
from cleaner.dedup.decide import Deduplicator
from cleaner.dedup.windowed import Windowed
from cleaner.dedup.windows import SentenceWindows
from cleaner.errors import ConfigError
from cleaner.io.logs import log_lines
from cleaner.record import Document
from cleaner.run.chain import build_chain, compose
from cleaner.run.executor import InProcess
from tests.helpers import ROOT, SHARED, needs_shared

sys.path.insert(0, str(ROOT / "bench"))

from sentence_corpus import build, score

BBC = SHARED / "data" / "bbc"

# Per language: five sentences of a report (the source), the same with one phrase changed
# in the first three (the copy), and three sentences of another report on the same topic.
# `join` is how the language puts sentences together in a paragraph.
TEXTS = {
    "zh": ("", [
        "国家统计局周二公布的数据显示，今年第三季度国内生产总值同比增长百分之四点九，略低于市场此前的普遍预期。",
        "分析人士指出，房地产投资持续下滑和出口需求疲软是拖累经济增长的两个主要因素。",
        "为了稳定经济，中央银行在九月下旬宣布下调存款准备金率，并表示将继续加大对实体经济的支持力度。",
        "与此同时，消费市场出现回暖迹象，国庆假期期间的旅游收入和零售销售额均创下历史新高。",
        "多家国际机构随后上调了对全年经济增速的预测，认为政策效果将在第四季度逐步显现。",
    ], ("百分之四点九", "百分之五点零"), [
        "海关总署周四发布的统计数据显示，十月份出口额同比下降百分之六点四，连续第六个月出现负增长。",
        "进口方面，受国际大宗商品价格回落影响，原油和铁矿石的进口金额明显减少。",
        "商务部官员表示，政府将出台更多措施帮助外贸企业开拓新兴市场，稳定就业岗位。",
    ]),
    "ja": ("", [
        "気象庁によると、大型で強い台風十四号は今夜にも九州南部に接近し、明日の朝には上陸するおそれがあります。",
        "鹿児島県と宮崎県では、これまでに経験したことのないような猛烈な雨が降る可能性があり、厳重な警戒が呼びかけられています。",
        "交通機関にも影響が広がっており、九州新幹線は午後から全線で運転を見合わせると発表しました。",
        "自治体は早めの避難を呼びかけていて、各地の避難所にはすでに多くの住民が集まっています。",
        "政府は首相官邸に対策室を設置し、関係省庁が連携して被害の把握に努める方針です。",
    ], ("台風十四号", "台風十五号"), [
        "一方、四国地方では台風の接近前から断続的に強い雨が降り、高知県内の一部の道路が通行止めとなっています。",
        "電力会社は停電に備えて作業員を待機させており、復旧作業を迅速に進める体制を整えたとしています。",
        "農家の人たちは収穫前の果物を守るため、ビニールハウスの補強作業に追われていました。",
    ]),
    "ko": (" ", [
        "한국은행은 목요일 기준금리를 현재 수준으로 동결한다고 발표했으며 이는 일곱 번째 연속 동결이다.",
        "총재는 기자회견에서 물가 상승률이 여전히 목표 수준보다 높아 금리를 내리기에는 이르다고 말했다.",
        "가계 부채가 빠르게 늘어나고 있는 점도 금리 인하를 어렵게 만드는 요인으로 꼽혔다.",
        "시장 전문가들은 내년 상반기 중에 첫 번째 금리 인하가 이루어질 가능성이 높다고 전망했다.",
        "한편 원화 가치는 발표 직후 달러 대비 소폭 상승한 것으로 나타났다.",
    ], ("목표 수준보다", "정부 목표보다"), [
        "정부는 같은 날 부동산 시장 안정을 위해 대출 규제를 한층 강화하는 방안을 내놓았다.",
        "수도권 아파트 가격은 최근 석 달 동안 꾸준히 올라 실수요자들의 부담이 커지고 있다.",
        "전문가들은 공급 확대 없이 규제만으로는 집값을 잡기 어렵다고 지적했다.",
    ]),
    # Thai marks no sentence end (cleaner.text.sentences): each paragraph is one sentence.
    "th": ("\n\n", [
        "กรมอุตุนิยมวิทยาประกาศเตือนว่าฝนจะตกหนักถึงหนักมากในหลายจังหวัดทางภาคเหนือตลอดสัปดาห์นี้",
        "ประชาชนที่อาศัยอยู่ในพื้นที่เสี่ยงควรเตรียมพร้อมรับมือกับน้ำป่าไหลหลากและดินถล่มที่อาจเกิดขึ้น",
        "เจ้าหน้าที่ได้เปิดศูนย์พักพิงชั่วคราวแล้วกว่ายี่สิบแห่งเพื่อรองรับผู้ที่ต้องอพยพออกจากบ้าน",
        "นายกรัฐมนตรีสั่งการให้หน่วยงานที่เกี่ยวข้องเร่งช่วยเหลือผู้ประสบภัยอย่างเต็มที่ทุกพื้นที่",
        "ทางการคาดว่าสถานการณ์จะคลี่คลายลงภายในต้นเดือนหน้าหากไม่มีพายุลูกใหม่เข้ามา",
    ], ("ยี่สิบแห่ง", "สามสิบแห่ง"), [
        "กระทรวงเกษตรรายงานว่านาข้าวกว่าหนึ่งแสนไร่ในภาคกลางได้รับความเสียหายจากน้ำท่วมเมื่อเดือนที่แล้ว",
        "เกษตรกรจำนวนมากเรียกร้องให้รัฐบาลจ่ายเงินชดเชยโดยเร็วที่สุดเพื่อให้สามารถเริ่มเพาะปลูกรอบใหม่ได้",
        "นักวิชาการเสนอให้ปรับปรุงระบบชลประทานและการบริหารจัดการน้ำเพื่อป้องกันปัญหาในระยะยาว",
    ]),
    "en": (" ", [
        "The central bank left its main interest rate unchanged on Thursday, the seventh meeting in a row "
        "without a move.",
        "Its governor told reporters that inflation was still running well above the target and a cut "
        "would be premature.",
        "Household debt, which has grown quickly over the past two years, was named as another reason for caution.",
        "Most economists now expect the first reduction in borrowing costs to come in the first half of next year.",
        "The currency rose slightly against the dollar in the minutes after the decision was announced.",
    ], ("well above", "far above"), [
        "The finance ministry on the same day tightened the rules on mortgage lending in the capital region.",
        "Flat prices around the capital have risen for three months in a row, squeezing first-time buyers.",
        "Analysts said that without more homes being built, the new rules alone would not cool the market.",
    ]),
}


def wrapped(text: str, width: int) -> str:
    """`text` hard-wrapped at `width`: by words where there are spaces, else every `width` characters."""
    if " " in text:
        return textwrap.fill(text, width)
    return "\n".join(text[i:i + width] for i in range(0, len(text), width))


def paragraphs(join: str, sentences: list[str], width: int) -> str:
    if join == "\n\n":
        return "\n\n".join(wrapped(s, width) for s in sentences)
    return wrapped(join.join(sentences), width)


def run(texts: list[str], **options) -> list[Document]:
    docs = [Document(id=f"d{i}", source=f"d{i}", text=t) for i, t in enumerate(texts)]
    return list(clean_documents(docs, Config(unit="sentence", **options)))


def flat(text: str) -> str:
    return "".join(text.split())


def copied(lang: str) -> tuple[str, list[str], list[str], list[str]]:
    join, source, (old, new), other = TEXTS[lang]
    copy = [s.replace(old, new) for s in source[:3]]
    assert copy != source[:3]
    return join, source, copy, other


def spans(doc: Document) -> list[dict]:
    return [line for name, line in log_lines(doc) if name == "removed.jsonl" and line["reason"] == "sentence_copy"]


@pytest.mark.parametrize("lang", sorted(TEXTS))
def test_a_near_copied_run_is_cut_from_another_document_wherever_its_line_breaks(lang):
    join, source, copy, other = copied(lang)
    host = [other[0], *copy, *other[1:]]
    first, second = run([paragraphs(join, source, 31), paragraphs(join, host, 17)])
    assert flat(first.cleaned_text()) == flat(join.join(source))  # the first copy stays whole
    out = flat(second.cleaned_text())
    assert all(flat(s) not in out for s in copy)
    assert all(flat(s) in out for s in other)
    lines = spans(second)
    assert len(lines) == (1 if join != "\n\n" else 3)  # Thai: three paragraphs, each removed whole
    assert {line.get("shingles") for line in lines} == {None if lang == "en" else "characters"}
    span = lines[0]["spans"][0] if "spans" in lines[0] else lines[0]
    kept = span["duplicate_of"]
    assert kept["source"] == "d0" and span["similarity"] >= 0.7
    start_para, end_para = kept["paragraph"], kept["end_paragraph"]
    kept_paras = [p.text for p in first.paragraphs]
    kept_text = kept_paras[start_para][kept["start"]:] if start_para != end_para else \
        kept_paras[start_para][kept["start"]:kept["end"]]
    assert flat(kept_text).startswith(flat(source[0]))  # the kept copy's offsets point at it


@pytest.mark.parametrize("lang", sorted(TEXTS))
def test_a_run_repeated_inside_one_document_is_cut_the_second_time(lang):
    join, source, copy, other = copied(lang)
    [doc] = run([paragraphs(join, [*source, *other, *copy], 23)])
    out = flat(doc.cleaned_text())
    assert out == flat(join.join([*source, *other]))
    assert {span["duplicate_of"]["source"] for span in spans(doc)} == {"d0"}


@pytest.mark.parametrize("lang", sorted(TEXTS))
def test_distinct_text_on_the_same_topic_and_shared_sentences_stay(lang):
    join, source, copy, other = copied(lang)
    # One sentence of the source, then two (a short quote), amid another report: nothing goes.
    mixed = [other[0], copy[0], other[1], copy[1], copy[2], other[2]]
    texts = [paragraphs(join, source, 40), paragraphs(join, mixed, 40), paragraphs(join, other, 29)]
    docs = run(texts)
    assert not any(spans(doc) for doc in docs[:2])
    assert [flat(d.cleaned_text()) for d in docs[:2]] == [flat(t) for t in texts[:2]]


def test_a_window_of_short_sentences_is_never_compared():
    short = "It rained. Roads shut. Schools closed."
    texts = [f"{short} The storm was the worst in a decade, officials said on Monday evening.",
             f"In other news the council met. {short}"]
    assert [flat(d.cleaned_text()) for d in run(texts)] == [flat(t) for t in texts]


def test_paragraph_mode_is_untouched_by_the_window_options():
    _join, source, copy, other = copied("en")
    texts = [" ".join(source), " ".join([other[0], *copy, *other[1:]])]
    plain = [d.cleaned_text() for d in clean_documents([Document(id=f"d{i}", source=f"d{i}", text=t)
                                                       for i, t in enumerate(texts)], Config(window=5))]
    assert plain == [t + "\n" for t in texts]


def test_the_unit_and_window_are_validated():
    with pytest.raises(ConfigError, match="unit"):
        Config(unit="word")
    with pytest.raises(ConfigError, match="window"):
        Config(unit="sentence", window=1)


POOL = [s for _, source, _, other in TEXTS.values() for s in source + other]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.lists(st.sampled_from(POOL), min_size=1, max_size=6), min_size=1, max_size=4),
                min_size=1, max_size=5), st.integers(12, 60))
def test_nothing_lost_the_output_and_the_cut_spans_make_every_paragraph(docs, width):
    texts = ["\n\n".join(wrapped(" ".join(p), width) for p in doc) for doc in docs]
    for doc in run(texts):
        lines = [line for name, line in log_lines(doc) if name == "removed.jsonl"]
        by_paragraph: dict[int, list[dict]] = {}
        for line in lines:
            if "paragraph" in line:
                by_paragraph.setdefault(line["paragraph"], []).append(line)
        for paragraph in doc.paragraphs:
            logged = by_paragraph.get(paragraph.index, [])
            if paragraph.removal is not None:
                assert [line["text"] for line in logged] == [paragraph.text]
                continue
            pieces, at = [], 0
            for line in logged:  # in order, each as written
                assert at <= line["start"] < line["end"] <= len(paragraph.text)
                assert paragraph.text[line["start"]:line["end"]] == line["text"]
                pieces += [paragraph.text[at:line["start"]], line["text"]]
                at = line["end"]
            assert "".join(pieces) + paragraph.text[at:] == paragraph.text
            starts, ends = [0, *(line["end"] for line in logged)], [*(line["start"] for line in logged), None]
            kept = [paragraph.text[a:b] for a, b in zip(starts, ends, strict=True)]
            assert paragraph.output_text() == "".join(kept)


def test_a_copy_of_a_document_the_windows_emptied_is_cut_against_the_written_text():
    """A document made of two copied runs is emptied; its exact copy is judged by the
    windows too (not removed as a copy of the emptied one), so both name X and Y."""
    _, source, _, other = TEXTS["en"]
    made = " ".join(source[:3]) + "\n\n" + " ".join(other[:3])
    docs = run([" ".join(source), " ".join(other), made, made])
    assert [bool(d.alive and d.kept_paragraphs) for d in docs] == [True, True, False, False]
    for doc in docs[2:]:
        assert {span["duplicate_of"]["source"] for span in spans(doc)} == {"d0", "d1"}


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(["en", "zh", "ko"]),
       st.lists(st.lists(st.lists(st.integers(0, 5), min_size=1, max_size=2), min_size=1, max_size=3),
                min_size=2, max_size=7), st.data())
def test_every_removal_names_a_document_that_is_written(lang, docs, data):
    """Documents whose paragraphs are runs of three sentences (of eight), some documents
    repeated whole: the kept copy each removal names, paragraph or document, is written."""
    join, source, _, other = TEXTS[lang]
    sentences = [*source, *other]
    texts = ["\n\n".join(join.join(s for i in runs for s in sentences[i:i + 3]) for runs in doc) for doc in docs]
    texts += [data.draw(st.sampled_from(texts)) for _ in range(data.draw(st.integers(0, 3)))]
    decided = run(texts)
    written = {d.id for d in decided if d.alive and d.kept_paragraphs}
    for doc in decided:
        for name, line in log_lines(doc):
            kept = line.get("duplicate_of") if name == "removed.jsonl" else None
            assert kept is None or kept["id"] in written, (doc.id, line)


def test_a_checkpointed_stage_goes_on_as_if_never_stopped():
    _join, source, copy, other = copied("en")
    texts = [" ".join(source), " ".join(other), " ".join([other[2], *copy]), " ".join([*copy, other[0]])]
    config = Config(unit="sentence")

    def decided(docs, stage):
        return list(compose(docs, *build_chain(config, InProcess(), stage)))

    def documents(part):
        return [Document(id=f"d{i}", source=f"d{i}", text=texts[i]) for i in part]

    straight = decided(documents(range(4)), Windowed(Deduplicator(config), SentenceWindows(config)))
    first = Windowed(Deduplicator(config), SentenceWindows(config))
    head = decided(documents(range(2)), first)
    second = Windowed(Deduplicator(config), SentenceWindows(config))
    second.restore(pickle.loads(pickle.dumps(first.snapshot())))
    tail = decided(documents(range(2, 4)), second)
    assert [list(log_lines(d)) for d in head + tail] == [list(log_lines(d)) for d in straight]
    assert sum(len(spans(d)) for d in straight) == 2


@needs_shared(BBC)
def test_copied_runs_of_real_sentences_are_found_and_nothing_else_goes():
    built = build(BBC, 160)
    docs = [Document(id=name, source=name, text=text) for name, text in sorted(built.texts.items())]
    cleaned = {d.id: d.cleaned_text() if d.alive else "" for d in clean_documents(docs, Config(unit="sentence"))}
    result = score(built, cleaned)
    assert result.runs >= 150 and result.kept_expected > 2000
    assert result.recall >= 0.95, result
    assert result.false_removals == 0, result.examples


def test_records_with_the_same_id_keep_their_own_offsets():
    _, source, copy, other = copied("en")
    texts = [" ".join(source), " ".join(other), " ".join([other[2], *copy])]  # the second is windowed too
    docs = [Document(id="same", source="records.jsonl", text=t) for t in texts]
    first, second, third = clean_documents(docs, Config(unit="sentence"))
    [line] = spans(third)
    kept = line["duplicate_of"]
    assert first.paragraphs[kept["paragraph"]].text[kept["start"]:kept["end"]] == " ".join(source[:3])
    assert not spans(first) and not spans(second)
