"""Bad input and a hostile environment, end to end through the command line: each case gets a
one-line message, an entry in rejects.jsonl (for inputs), and the documented exit status."""

import ctypes
import json
import os
from pathlib import Path
import resource
import subprocess
import sys

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
import pytest

from cleaner import Config, clean_folder
from tests.helpers import ROOT, write_tree

TEXT = "The harbour board agreed on Monday to rebuild the northern pier before the winter storms."
PR_CAPBSET_DROP, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH = 24, 1, 2


def cli(*args: str, preexec=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cleaner", "clean", "--quiet", *args], capture_output=True,
                          text=True, cwd=ROOT, preexec_fn=preexec)


def rejects(dst: Path) -> list[dict]:
    return [json.loads(line) for line in (dst / ".cleaner/rejects.jsonl").open(encoding="utf-8")]


def _drop_file_permission_override() -> None:
    """In the child, before exec: root loses the capabilities that ignore file modes."""
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def permissions_enforced(probe: Path):
    """A preexec_fn under which file modes hold (as root: drop the override capabilities);
    skips the test honestly when that is impossible here."""
    probe.write_text("x")
    probe.chmod(0)
    preexec = _drop_file_permission_override if os.geteuid() == 0 else None
    try:
        result = subprocess.run([sys.executable, "-c", f"open({str(probe)!r}).read()"], preexec_fn=preexec,
                                capture_output=True)
    except subprocess.SubprocessError:
        result = None
    probe.unlink()
    if result is None or result.returncode == 0:
        pytest.skip("cannot make a file unreadable here (root with CAP_DAC_OVERRIDE that cannot be dropped)")
    return preexec


def test_binary_empty_and_blank_files_are_rejected_and_the_rest_cleaned(tmp_path: Path):
    src = write_tree(tmp_path / "src", {
        "image.txt": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00\xff\xd8\xff" * 20,
        "empty.txt": b"", "blank.txt": b"  \n\t\n\r\n   \n", "good.txt": TEXT})
    result = cli(str(src), str(tmp_path / "out"))
    assert result.returncode == 1
    found = {r["source"]: r["reason"] for r in rejects(tmp_path / "out")}
    assert found == {"image.txt": "binary", "empty.txt": "empty", "blank.txt": "empty"}
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 4 and all(line.startswith("cleaner: ") for line in lines)
    assert any("image.txt" in line for line in lines) and "Traceback" not in result.stderr
    assert (tmp_path / "out/good.txt").read_text() == TEXT + "\n"


def test_unreadable_file_is_rejected_with_one_line(tmp_path: Path):
    preexec = permissions_enforced(tmp_path / "probe")
    src = write_tree(tmp_path / "src", {"locked.txt": TEXT, "open.txt": TEXT + " Also."})
    (src / "locked.txt").chmod(0)
    result = cli(str(src), str(tmp_path / "out"), preexec=preexec)
    assert result.returncode == 1, result.stderr
    [reject] = rejects(tmp_path / "out")
    assert (reject["source"], reject["reason"]) == ("locked.txt", "unreadable")
    assert "cleaner: skipped locked.txt: cannot read: Permission denied" in result.stderr.splitlines()
    assert (tmp_path / "out/open.txt").exists() and (tmp_path / "out/.cleaner/_SUCCESS").exists()


def test_read_only_destination_is_refused_with_exit_2(tmp_path: Path):
    preexec = permissions_enforced(tmp_path / "probe")
    src = write_tree(tmp_path / "src", {"a.txt": TEXT})
    (tmp_path / "out").mkdir()
    (tmp_path / "out").chmod(0o555)
    result = cli(str(src), str(tmp_path / "out"), preexec=preexec)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"Error: {tmp_path / 'out'}: cannot write to the output folder: Permission denied"]
    assert list((tmp_path / "out").iterdir()) == []


def test_a_full_disk_fails_with_exit_3_and_resume_finishes_the_job(tmp_path: Path):
    paragraphs = [f"Paragraph {i} of the long report: {TEXT} It carries its own number {i}." for i in range(400)]
    src = write_tree(tmp_path / "src", {"a-small.txt": TEXT, "b-large.txt": "\n\n".join(paragraphs)})
    limit = 16_000  # bytes: smaller than what the large file yields (its near repeats are logged)

    def small_disk() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    result = cli(str(src), str(tmp_path / "out"), preexec=small_disk)
    assert result.returncode == 3, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"Error: {tmp_path / 'out'}/") and line.endswith(": cannot write: File too large")
    assert not (tmp_path / "out/.cleaner/_SUCCESS").exists()

    assert cli("--resume", str(src), str(tmp_path / "out")).returncode == 0
    assert cli(str(src), str(tmp_path / "reference")).returncode == 0
    for name in ["a-small.txt", "b-large.txt", ".cleaner/removed.jsonl", ".cleaner/files.jsonl", ".cleaner/_SUCCESS"]:
        assert (tmp_path / "out" / name).read_bytes() == (tmp_path / "reference" / name).read_bytes()


def test_combining_flood_file_is_rejected_end_to_end(tmp_path: Path):
    src = write_tree(tmp_path / "src", {"zalgo.txt": "Title\n\nT" + "\u0336\u0334" * 100 + "ext", "ok.txt": TEXT})
    result = cli(str(src), str(tmp_path / "out"))
    assert result.returncode == 1
    [reject] = rejects(tmp_path / "out")
    assert (reject["source"], reject["reason"], reject["line"]) == ("zalgo.txt", "combining_flood", 3)
    assert "cleaner: skipped zalgo.txt: 200 combining marks in a row at line 3 (limit 30)" in result.stderr


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.binary(max_size=400) | st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),
                min_size=1, max_size=4))
def test_any_bytes_yield_output_or_a_reject_never_an_exception(tmp_path_factory, contents):
    root = tmp_path_factory.mktemp("bytes")
    src = write_tree(root / "src", {f"{i}.txt": data for i, data in enumerate(contents)})
    report = clean_folder(src, root / "out", Config(max_combining=30))
    assert report.documents_in == len(contents)
    written = {p.name for p in (root / "out").iterdir() if p.is_file()}
    rejected = {r["source"] for r in rejects(root / "out")}
    success = json.loads((root / "out/.cleaner/_SUCCESS").read_text())
    accounts = success["accounts"]["documents"]
    removed = {r["source"] for r in map(json.loads, (root / "out/.cleaner/removed.jsonl").open(encoding="utf-8"))
               if "paragraph" not in r}  # whole documents dropped as copies of an earlier one
    assert accounts["removed"] == len(removed)
    assert accounts["seen"] == len(contents) == len(written) + len(rejected) + len(removed) + accounts["empty"]
    assert written.isdisjoint(rejected) and written.isdisjoint(removed) and rejected.isdisjoint(removed)
