import gzip
import itertools
import json
import os
from pathlib import Path
import subprocess
import sys

from click.testing import CliRunner
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard

from cleaner.cli import main
from cleaner.config import Config
from cleaner.io.record_reader import parse_object
from cleaner.io.sources import open_source
from tests.helpers import FIXTURES, SHARED, needs_shared, write_tree


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_clean_demo_fixtures_exits_zero_and_summarises(tmp_path: Path):
    result = invoke("clean", str(FIXTURES / "demo"), str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    assert "paragraphs in" in result.output
    assert (tmp_path / "out" / ".cleaner" / "_SUCCESS").exists()


def test_quiet_prints_nothing(tmp_path: Path):
    result = invoke("clean", "--quiet", str(FIXTURES / "demo"), str(tmp_path / "out"))
    assert result.exit_code == 0 and result.output == ""


def test_missing_source_is_one_line_exit_2(tmp_path: Path):
    result = invoke("clean", str(tmp_path / "missing"), str(tmp_path / "out"))
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [f"Error: {tmp_path / 'missing'}: no such file or folder"]
    assert not (tmp_path / "out").exists()


def test_bad_option_value_is_one_line_exit_2(tmp_path: Path):
    result = invoke("clean", "--threshold", "1.5", str(FIXTURES / "demo"), str(tmp_path / "out"))
    assert result.exit_code == 2
    assert result.output.strip() == "Error: threshold must be in (0.0, 1.0], got 1.5"


def test_rejected_input_exits_1_and_names_the_file(tmp_path: Path):
    src = write_tree(tmp_path / "src", {"bad.txt": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "good.txt": "fine"})
    result = invoke("clean", str(src), str(tmp_path / "out"))
    assert result.exit_code == 1
    assert "rejects.jsonl" in result.output
    [line] = (tmp_path / "out/.cleaner/rejects.jsonl").read_text().splitlines()
    assert json.loads(line)["source"] == "bad.txt"


def test_every_option_has_help_and_an_example():
    result = invoke("clean", "--help")
    assert "Examples:" in result.output
    for option in ["--glob", "--scope", "--threshold", "--ngram", "--num-perm", "--min-words",
                   "--repair", "--overwrite", "--quiet", "--paragraphs", "--unwrap", "--text-field",
                   "--id-field", "--format", "--compression", "--shard-records", "--shard-bytes",
                   "--on-error", "--log-dir"]:
        assert option in result.output


def test_console_script_runs_as_a_real_process(tmp_path: Path):
    proc = subprocess.run([sys.executable, "-m", "cleaner", "clean", str(FIXTURES / "demo"),
                           str(tmp_path / "out")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "removed" in proc.stderr and proc.stdout == ""


# --- records: JSONL, Parquet, pipes -------------------------------------------------------

WIRE = FIXTURES / "records" / "wire.jsonl"
BAD = FIXTURES / "records" / "bad.jsonl"
REUTERS = SHARED / "data" / "reuters21578.jsonl.gz"


def cleaner_process(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess:
    """`cleaner` as a real process, bytes through real pipes."""
    return subprocess.run([sys.executable, "-m", "cleaner", "clean", *args], input=stdin, capture_output=True)


def spans(line: str) -> tuple[dict, str]:
    """The parsed record and the line with its text value cut out (what must not change)."""
    fields, (start, end) = parse_object(line, "text")
    return fields, line[:start] + line[end:]


def check_stream(lines_in: list[str], stdout: bytes, log_dir: Path) -> list[dict]:
    """Every input id is in the output or removed.jsonl; other fields byte for byte."""
    out = {}
    for line in stdout.decode("utf-8").splitlines():
        fields, rest = spans(line)
        out[fields["id"]] = rest
    removed = {json.loads(line)["id"] for line in (log_dir / "removed.jsonl").open(encoding="utf-8")}
    for line in lines_in:
        fields, rest = spans(line)
        assert fields["id"] in out or fields["id"] in removed, fields["id"]
        if fields["id"] in out:
            assert out[fields["id"]] == rest
    assert (log_dir / "_SUCCESS").exists()
    return [json.loads(line) for line in stdout.decode("utf-8").splitlines()]


def test_records_through_a_real_pipe(tmp_path: Path):
    proc = cleaner_process("-", "-", "--paragraphs", "indent", "--log-dir", str(tmp_path / "logs"),
                           stdin=WIRE.read_bytes())
    assert proc.returncode == 0, proc.stderr
    records = check_stream(WIRE.read_text(encoding="utf-8").splitlines(), proc.stdout, tmp_path / "logs")
    assert [r["id"] for r in records] == ["wire-1", "wire-2", "wire-4"]  # wire-3 copies wire-1
    assert b"documents in" in proc.stderr and b"documents in" not in proc.stdout


def test_stdout_needs_a_log_dir_and_writes_nothing_without(tmp_path: Path):
    proc = cleaner_process("-", "-", stdin=WIRE.read_bytes())
    assert proc.returncode == 2 and proc.stdout == b""
    assert proc.stderr.decode().strip() == "Error: writing to standard output needs --log-dir for the logs"


@needs_shared(REUTERS)
def test_reuters_sample_through_a_real_pipe(tmp_path: Path):
    with gzip.open(REUTERS, "rt", encoding="utf-8") as lines:
        sample = [line.rstrip("\n") for line in itertools.islice(lines, 1500)]
    proc = cleaner_process("-", "-", "--log-dir", str(tmp_path / "L"), stdin="\n".join(sample).encode() + b"\n")
    assert proc.returncode == 0, proc.stderr
    records = check_stream(sample, proc.stdout, tmp_path / "L")
    assert 1000 < len(records) <= 1500 and not any("\x03" in r["text"] for r in records)


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("CLEANER_SLOW"), reason="slow: make test-slow")
@needs_shared(REUTERS)
def test_whole_reuters_file_through_zcat_and_a_pipe(tmp_path: Path):
    log_dir = tmp_path / "L"
    proc = subprocess.run(f"zcat {REUTERS} | {sys.executable} -m cleaner clean - - --log-dir {log_dir}",
                          shell=True, capture_output=True)
    assert proc.returncode == 0, proc.stderr
    with gzip.open(REUTERS, "rt", encoding="utf-8") as lines:
        check_stream([line.rstrip("\n") for line in lines], proc.stdout, log_dir)


def test_gz_zst_and_parquet_give_the_same_cleaned_texts(tmp_path: Path):
    data = WIRE.read_bytes()
    (tmp_path / "w.jsonl.gz").write_bytes(gzip.compress(data))
    (tmp_path / "w.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress(data))
    pq.write_table(pa.Table.from_pylist([json.loads(line) for line in data.splitlines()]), tmp_path / "w.parquet")
    texts = {}
    for name in ["w.jsonl.gz", "w.jsonl.zst", "w.parquet"]:
        out = tmp_path / f"out-{name[2:].replace('.', '-')}"
        result = invoke("clean", "--paragraphs", "auto", str(tmp_path / name), str(out))
        assert result.exit_code == 0, result.output
        [shard] = out.glob("part-*")
        assert shard.name == "part-00000" + name[1:]  # format and compression as the input
        texts[name] = [(d.id, d.text) for d in open_source(shard, Config()).documents()]
    assert texts["w.jsonl.gz"] == texts["w.jsonl.zst"] == texts["w.parquet"]
    assert len(texts["w.parquet"]) >= 3


def test_format_conversion_and_sharding(tmp_path: Path):
    result = invoke("clean", "--format", "parquet", "--shard-records", "2", str(WIRE), str(tmp_path / "pq"))
    assert result.exit_code == 0, result.output
    shards = sorted(p.name for p in (tmp_path / "pq").glob("part-*"))
    assert shards == ["part-00000.parquet", "part-00001.parquet"][: len(shards)] and len(shards) == 2
    result = invoke("clean", "--format", "txt", str(WIRE), str(tmp_path / "txt"))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "txt" / "wire-1.txt").read_text().startswith("The Port Harbour")
    result = invoke("clean", "--format", "jsonl", "--compression", "zstd", str(FIXTURES / "demo"), str(tmp_path / "j"))
    assert result.exit_code == 0, result.output
    ids = [d.id for d in open_source(tmp_path / "j" / "part-00000.jsonl.zst", Config()).documents()]
    assert "science/comet.txt" in ids


def test_bad_records_skip_exits_1_naming_file_and_line(tmp_path: Path):
    proc = cleaner_process(str(BAD), str(tmp_path / "out"))
    assert proc.returncode == 1
    stderr = proc.stderr.decode()
    for line, reason in [(2, "malformed JSON"), (3, "no 'text' field"), (4, "not a string"), (5, "lone surrogate")]:
        assert f"cleaner: skipped bad.jsonl:{line}: " in stderr and reason in stderr
    rejects = [json.loads(line) for line in (tmp_path / "out/.cleaner/rejects.jsonl").open()]
    assert [r["line"] for r in rejects] == [2, 3, 4, 5]
    [shard] = (tmp_path / "out").glob("part-*")
    assert [json.loads(line)["id"] for line in shard.open()] == ["ok-1", "ok-2"]


def test_bad_records_fail_exits_3_with_one_line(tmp_path: Path):
    proc = cleaner_process("--on-error", "fail", str(BAD), str(tmp_path / "out"))
    assert proc.returncode == 3
    assert proc.stderr.decode().strip() == "Error: bad.jsonl:2: malformed JSON: Expecting ',' delimiter (column 44)"
    assert not (tmp_path / "out/.cleaner/_SUCCESS").exists() and not list((tmp_path / "out").glob("part-*"))


def test_truncated_zstd_through_the_cli_exits_1(tmp_path: Path):
    data = b"".join(b'{"id": %d, "text": "record %d"}\n' % (i, i) for i in range(3000))
    packed = zstandard.ZstdCompressor().compress(data)
    (tmp_path / "cut.jsonl.zst").write_bytes(packed[:-10])
    proc = cleaner_process(str(tmp_path / "cut.jsonl.zst"), str(tmp_path / "out"))
    assert proc.returncode == 1 and b"stream ends early" in proc.stderr


@pytest.mark.parametrize(("args", "message"), [
    (["{tmp}/out.jsonl.gz"], "out.jsonl.gz: the output is a folder (it receives part-00000.jsonl.gz, ...)"),
    (["--format", "parquet", "--log-dir", "{tmp}/L", "-"], "- writes JSONL only, not parquet"),
    (["--paragraphs", "para", "{tmp}/out"], "Invalid value for '--paragraphs'"),
])
def test_record_usage_errors_exit_2_and_write_nothing(tmp_path: Path, args: list[str], message: str):
    *options, dst = [arg.format(tmp=tmp_path) for arg in args]
    result = invoke("clean", *options, str(WIRE), dst)
    assert result.exit_code == 2 and message in result.output
    assert not any(tmp_path.iterdir())


def test_on_error_fail_stops_a_folder_run_too(tmp_path: Path):
    src = write_tree(tmp_path / "src", {"a.txt": "fine", "bad.txt": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"})
    result = invoke("clean", "--on-error", "fail", str(src), str(tmp_path / "out"))
    assert result.exit_code == 3
    assert result.output.strip() == "Error: bad.txt: binary data, not text (PNG image)"
    assert not (tmp_path / "out/.cleaner/_SUCCESS").exists()


def test_show_lists_each_removal_with_its_kept_copy(tmp_path: Path):
    out = tmp_path / "out"
    assert invoke("clean", "-q", str(FIXTURES / "demo"), str(out)).exit_code == 0
    logged = [json.loads(line) for line in (out / ".cleaner/removed.jsonl").open(encoding="utf-8")]
    result = invoke("show", str(out))
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert len(lines) == len(logged) > 0
    for entry, line in zip(logged, lines, strict=True):
        kept = entry["duplicate_of"]
        assert line.startswith(f"{entry['reason']}: {entry['source']}#{entry['paragraph']} -> ")
        assert f"{kept['source']}#{kept['paragraph']}" in line
    only = invoke("show", "--reason", "exact_repeat", str(out)).output.splitlines()
    assert only == [line for line in lines if line.startswith("exact_repeat:")] and only


def test_show_names_a_missing_or_broken_log_in_one_line(tmp_path: Path):
    result = invoke("show", str(tmp_path))
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        f"Error: {tmp_path / 'removed.jsonl'}: cannot read the removal log (No such file or directory)"]
    (tmp_path / "removed.jsonl").write_text('{"reason": "exact_repeat"}\nnot json\n')
    result = invoke("show", str(tmp_path))
    assert result.exit_code == 2 and f"{tmp_path / 'removed.jsonl'}:2: not a removal-log line" in result.output


def test_every_public_name_resolves_and_all_lists_exactly_them():
    import cleaner

    assert sorted(cleaner.__all__) == sorted(cleaner._EXPORTS)
    for name in cleaner.__all__:
        assert getattr(cleaner, name).__name__ == name


def test_cleaner_index_on_a_bad_location_is_one_line_and_exit_2(tmp_path: Path):
    result = invoke("index", str(tmp_path / "nothing"), "info")
    assert result.exit_code == 2 and "not an index (no manifest.json)" in result.output
    assert len(result.output.strip().splitlines()) == 1
    pytest.importorskip("redis")
    result = invoke("index", "redis://127.0.0.1:1/0?prefx=mine", "info")  # refused before any connection
    assert result.exit_code == 2 and "unknown parameter 'prefx'" in result.output
    assert len(result.output.strip().splitlines()) == 1
