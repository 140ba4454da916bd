import doctest
import json

from hypothesis import given, settings
from hypothesis import strategies as st
import pytest

from cleaner import Cleaner, Config, InputError
from tests.helpers import FIXTURES, ROOT

WIRE = [json.loads(line) for line in (FIXTURES / "records" / "wire.jsonl").open(encoding="utf-8")]


def test_readme_examples_run_as_written():
    result = doctest.testfile(str(ROOT / "README.md"), module_relative=False, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 8 and result.failed == 0


def test_records_come_out_cleaned_with_every_other_field_in_order():
    cleaner = Cleaner(Config(paragraphs="indent"))
    out = list(cleaner.run(WIRE))
    by_id = {r["id"]: r for r in out}
    for record in WIRE:
        if record["id"] in by_id:
            got = by_id[record["id"]]
            assert list(got) == list(record)
            assert {k: v for k, v in got.items() if k != "text"} == {k: v for k, v in record.items() if k != "text"}
    assert "\x03" not in by_id["wire-1"]["text"] and by_id["wire-1"]["text"].startswith("The Port Harbour")
    assert WIRE[0]["text"].endswith("\x03")  # the input dicts are not modified


def test_dropped_paragraphs_and_records_are_reported_not_yielded():
    cleaner = Cleaner(Config(paragraphs="indent"))
    out = {r["id"]: r["text"] for r in cleaner.run(WIRE)}
    # wire-2's third paragraph nearly repeats its first; wire-3 is a copy of wire-1, dropped whole
    assert out["wire-2"].count("wheat export") == 1
    removed = {(r["id"], r["reason"]) for r in cleaner.removed}
    assert ("wire-2", "near_repeat") in removed and ("wire-3", "duplicate_document") in removed
    report = cleaner.report
    assert report.documents_in == 4 and report.paragraphs_removed + report.documents_removed == len(cleaner.removed)


def test_an_emptied_record_is_not_yielded():
    cleaner = Cleaner(Config(doc_threshold=0.0))  # paragraphs only: y is emptied, not dropped whole
    texts = [{"id": "x", "text": "The same paragraph of text in two records here."},
             {"id": "y", "text": "The same paragraph of text in two records here."}]
    assert [r["id"] for r in cleaner.run(texts)] == ["x"]
    assert cleaner.report.documents_emptied == 1 and cleaner.removed[0]["id"] == "y"


def test_batches_are_deduplicated_against_each_other():
    cleaner = Cleaner(Config())
    first = list(cleaner.run(WIRE[:1]))
    second = list(cleaner.run(WIRE[2:3]))  # wire-3 copies wire-1
    assert len(first) == 1 and second == []
    assert [r["duplicate_of"]["id"] for r in cleaner.removed if r["id"] == "wire-3"] == ["wire-1"]


def test_bad_records_are_rejected_or_raise_with_on_error_fail():
    records = [{"id": 1, "text": "fine text"}, {"id": 2, "text": None}, {"id": 3, "text": "more"}]
    cleaner = Cleaner(Config())
    assert [r["id"] for r in cleaner.run(records)] == [1, 3]
    assert cleaner.rejected == [{"source": "<records>", "id": "2", "line": 2, "reason": "not_text",
                                 "message": "'text' is NoneType, not a string"}]
    with pytest.raises(InputError, match=r"^batch-7:2: 'text' is NoneType, not a string$"):
        list(Cleaner(Config(on_error="fail")).run(records, source="batch-7"))


def test_keep_log_false_keeps_nothing_but_counts():
    cleaner = Cleaner(Config(), keep_log=False)
    list(cleaner.run([{"text": "a b c d e f"}, {"text": "a b c d e f"}, {"text": 1}]))
    assert cleaner.removed == cleaner.rejected == []
    assert cleaner.report.documents_rejected == 1 and cleaner.report.documents_removed == 1


def test_clean_text_uses_the_cleaners_config():
    text = "One line.\nTwo line.\nOne line."
    assert Cleaner(Config(paragraphs="line", scope="document")).clean_text(text) == "One line.\nTwo line.\n"


WORDS = st.sampled_from("storm power valley crews council budget river café Москва 北京 the a of".split())
PARAGRAPHS = st.lists(WORDS, min_size=1, max_size=9).map(" ".join)
TEXTS = st.lists(PARAGRAPHS, min_size=1, max_size=4).map("\n\n".join)
RECORDS = st.lists(st.one_of(
    st.fixed_dictionaries({"text": TEXTS, "n": st.integers()}),
    st.fixed_dictionaries({"text": st.none() | st.integers()}),  # rejected
), max_size=8)


@settings(max_examples=60, deadline=None)
@given(RECORDS, st.sampled_from(["blank", "line", "auto"]))
def test_every_record_is_written_or_accounted_for(records, mode):
    records = [{"id": f"r{i}", **record} for i, record in enumerate(records)]
    cleaner = Cleaner(Config(paragraphs=mode))
    out = list(cleaner.run(records))
    written = {r["id"] for r in out}
    rejected = {r["id"] for r in cleaner.rejected}
    removed = {r["id"] for r in cleaner.removed}
    for record in records:
        assert record["id"] in written | rejected | removed
    assert written.isdisjoint(rejected) and rejected.isdisjoint(removed)
    report = cleaner.report
    assert len(out) + report.documents_emptied + report.documents_removed + len(rejected) == len(records)
    for got in out:  # nothing but the text changed
        [original] = [r for r in records if r["id"] == got["id"]]
        assert {**got, "text": None} == {**original, "text": None}


def test_a_second_record_run_on_the_same_output_is_refused_while_the_first_holds_it(tmp_path):
    from cleaner.api import clean_records
    from cleaner.errors import UsageError
    from cleaner.run.guards import DestinationLock

    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"id": "a", "text": "One paragraph of text."}) + "\n")
    out = tmp_path / "out"
    held = DestinationLock(out)  # as a first run holds it
    try:
        with pytest.raises(UsageError, match="another cleaner run is writing to this folder"):
            clean_records(src, out, Config(), overwrite=True)
    finally:
        held.release()
    clean_records(src, out, Config(), overwrite=True)  # once released, the run goes ahead
    assert (out / ".cleaner" / "_SUCCESS").exists()


def test_a_record_run_counts_every_record_and_paragraph_in_its_success_marker(tmp_path):
    from cleaner.api import clean_records

    out = tmp_path / "out"
    report = clean_records(FIXTURES / "records" / "wire.jsonl", out, Config())
    marker = json.loads((out / ".cleaner" / "_SUCCESS").read_text())
    docs, paragraphs = marker["accounts"]["documents"], marker["accounts"]["paragraphs"]
    assert docs["seen"] == report.documents_in == docs["kept"] + docs["removed"] + docs["rejected"] + docs["empty"]
    assert paragraphs["seen"] == paragraphs["kept"] + paragraphs["removed"] + paragraphs["rejected"]
    assert docs["removed"] >= 1  # wire-3 copies wire-1


def test_a_record_run_that_loses_a_paragraph_fails_and_is_never_marked_complete(tmp_path, monkeypatch):
    import cleaner.api
    from cleaner.errors import AccountingError
    import cleaner.run.job

    class LosingDeduplicator(cleaner.run.job.Deduplicator):
        def decide(self, doc):
            super().decide(doc)
            if len(doc.paragraphs) > 1:
                doc.paragraphs.pop()  # a bug that drops a paragraph silently

    monkeypatch.setattr(cleaner.run.job, "Deduplicator", LosingDeduplicator)
    out = tmp_path / "out"
    with pytest.raises(AccountingError, match="paragraphs segmented"):
        cleaner.api.clean_records(FIXTURES / "records" / "wire.jsonl", out, Config(paragraphs="indent"))
    assert not (out / ".cleaner" / "_SUCCESS").exists()
