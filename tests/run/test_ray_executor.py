"""--executor ray: the same bytes as a local run, on a real two-node Ray cluster.

The cluster tests (marker `ray`, only with CLEANER_RAY=1: `make test-ray`) start two Ray
nodes on this machine with `ray start`, each with one CPU, its own temporary folder and
only loopback addresses, run the BBC folder and the Reuters JSONL through them from the
CLI, and compare every output file and log with a local `--workers 1` run. They also kill
a Ray worker in the middle of a task, and the driver in the middle of a run (then
`--resume`). The nodes are stopped by the process ids the test started, never `ray stop`.

The tests without the marker need no cluster: a local run never imports Ray, and Ray
missing or unreachable is one line and exit 2.
"""

from __future__ import annotations

from collections.abc import Iterator
import contextlib
import importlib.util
import json
import os
from pathlib import Path
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import pytest

from cleaner.io.layout import CHECKPOINT, STATE_DIR
from cleaner.run.checkpoint import load_checkpoint
from tests.helpers import FIXTURES, SHARED, needs_shared, without_timing

BBC = SHARED / "data" / "bbc"
REUTERS = SHARED / "data" / "reuters21578.jsonl.gz"
RAY_ENV = {
    "RAY_AUTH_MODE": "disabled",  # Ray 2.60: a second node cannot join a token-auth head
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",  # keep 127.0.0.1 as the node address (loopback only)
    "RAY_USAGE_STATS_ENABLED": "0",
}
# `ray start` for a second node refuses to run when RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 (its
# guard for Windows and macOS), yet that setting is what keeps Ray on 127.0.0.1: run the
# same command with only that guard lifted.
JOIN = """
import sys, types
import ray._private.ray_constants as constants
import ray.scripts.scripts as scripts
scripts.ray_constants = types.SimpleNamespace(**{**vars(constants), "ENABLE_RAY_CLUSTER": True})
sys.argv = ["ray", *sys.argv[1:]]
scripts.main()
"""
BIN = Path(sys.executable).parent
cluster_only = pytest.mark.skipif(os.environ.get("CLEANER_RAY") != "1", reason="starts a Ray cluster: make test-ray")


def cli(*args: str | Path, env: dict[str, str] | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cleaner", "clean", *map(str, args), "-q"], capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, **(env or {})})


def run_output(dst: Path) -> dict[str, bytes]:
    """Every file a run wrote, byte for byte, but the reports without their timing."""
    assert json.loads((dst / ".cleaner/report.json").read_text())["seconds"] >= 0
    return {str(p.relative_to(dst)): without_timing(p.name, p.read_bytes())
            for p in sorted(dst.rglob("*")) if p.is_file()}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- without a cluster -------------------------------------------------------------------

def test_a_local_run_never_imports_ray(tmp_path: Path):
    """Both local executors, through the CLI's own code, in a fresh interpreter."""
    code = ("import sys; from cleaner.cli import main\n"
            f"for n, w in enumerate(['1', '2']):\n"
            f"    try: main(['clean', {str(FIXTURES / 'demo')!r}, {str(tmp_path)!r} + '/o' + str(n), '-q', "
            "'--workers', w])\n"
            "    except SystemExit as e: assert e.code in (0, None, 1), e.code\n"
            "print(sorted(m for m in sys.modules if m == 'ray' or m.startswith('ray.')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    assert (tmp_path / "o1" / ".cleaner" / "_SUCCESS").exists()


def test_ray_not_installed_is_one_line_and_exit_2(tmp_path: Path):
    """`import ray` fails as it does where Ray is not installed (a None in sys.modules)."""
    code = ("import sys; sys.modules['ray'] = None; from cleaner.cli import main\n"
            f"main(['clean', {str(FIXTURES / 'demo')!r}, {str(tmp_path / 'out')!r}, '--executor', 'ray'])")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and "pip install 'cleaner[ray]'" in done.stderr
    assert not (tmp_path / "out" / ".cleaner" / "_SUCCESS").exists()


def test_an_unreachable_address_is_one_line_and_exit_2(tmp_path: Path):
    """Checked before Ray is even imported: this needs no Ray installed."""
    started = time.monotonic()
    done = cli(FIXTURES / "demo", tmp_path / "out", "--executor", "ray", "--ray-address", f"127.0.0.1:{free_port()}")
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and "nothing answers there" in done.stderr
    assert time.monotonic() - started < 30  # not Ray's own retries (minutes)


def test_ray_address_without_the_ray_executor_is_exit_2(tmp_path: Path):
    done = cli(FIXTURES / "demo", tmp_path / "out", "--ray-address", "127.0.0.1:6379")
    assert done.returncode == 2 and "--ray-address is for --executor ray" in done.stderr


# --- the two-node cluster -----------------------------------------------------------------

class Cluster:
    """Two Ray nodes on this machine, started with `ray start`, one CPU each, each with its
    own temporary folder; stopped by the pids of what they started."""

    def __init__(self) -> None:
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.temp_dirs = [Path(tempfile.mkdtemp(prefix="cr-", dir="/tmp")) for _ in range(2)]  # short: socket paths
        self.env = {**os.environ, **RAY_ENV}
        self.pids: set[int] = set()

    def start(self) -> None:
        self._ray([str(BIN / "ray"), "start", "--head", "--port", str(self.port), "--include-dashboard", "false"],
                  self.temp_dirs[0])
        self._ray([sys.executable, "-c", JOIN, "start", "--address", self.address], self.temp_dirs[1])

    def _ray(self, command: list[str], temp_dir: Path) -> None:
        ports = [free_port() for _ in range(4)]
        command += ["--node-ip-address", "127.0.0.1", "--num-cpus", "1", "--temp-dir", str(temp_dir),
                    "--object-store-memory", str(256 << 20), "--disable-usage-stats",
                    "--dashboard-agent-listen-port", str(ports[0]), "--dashboard-agent-grpc-port", str(ports[1]),
                    "--metrics-export-port", str(ports[2]), "--runtime-env-agent-port", str(ports[3])]
        try:
            subprocess.run(command, env=self.env, check=True, capture_output=True, text=True, timeout=180)
        finally:
            self.pids |= started_under(temp_dir)  # recorded even when it failed halfway

    def workers(self) -> dict[int, str]:
        """pid -> process title of every process the nodes started since (Ray workers)."""
        return {pid: title for pid in descendants(self.pids) - self.pids if (title := cmdline(pid))}

    def stop(self) -> None:
        everything = self.pids | descendants(self.pids)
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pid in [pid for pid in everything if alive(pid)]:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and any(alive(pid) for pid in everything):
                time.sleep(0.2)
        for temp_dir in self.temp_dirs:
            shutil.rmtree(temp_dir, ignore_errors=True)


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


def started_under(temp_dir: Path) -> set[int]:
    """The pids of the node's own processes: each names its temporary folder in its arguments."""
    return {int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit() and str(temp_dir) in cmdline(int(p.name))}


def listening(pids: set[int]) -> set[str]:
    """The local addresses (ip:port, IPv4-mapped IPv6 shown as IPv4) that `pids` listen on."""
    inodes = set()
    for pid in pids:
        with contextlib.suppress(OSError):
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                with contextlib.suppress(OSError):
                    if (target := os.readlink(fd)).startswith("socket:["):
                        inodes.add(target[8:-1])
    found = set()
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                found.add(_address(fields[1]))
    return found


def _address(hex_address: str) -> str:
    ip, port = hex_address.split(":")
    raw = bytes.fromhex(ip)
    words = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))  # /proc/net: host-order words
    if len(words) == 16 and words[:12] == b"\0" * 10 + b"\xff\xff":
        words = words[12:]
    return f"{socket.inet_ntop(socket.AF_INET if len(words) == 4 else socket.AF_INET6, words)}:{int(port, 16)}"


def descendants(roots: set[int]) -> set[int]:
    parents: dict[int, int] = {}
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                parents[int(p.name)] = int((p / "stat").read_text().rpartition(")")[2].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    found: set[int] = set()
    frontier = set(roots)
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[Cluster]:
    if importlib.util.find_spec("ray") is None:  # not imported here: the executor imports it, as in a run
        pytest.skip("Ray is not installed: make test-ray installs it")
    cluster = Cluster()
    try:
        cluster.start()
        heard = listening(cluster.pids | descendants(cluster.pids))
        assert heard and all(address.startswith("127.0.0.1:") for address in heard), heard
        yield cluster
    finally:
        cluster.stop()
    assert not any(alive(pid) for pid in cluster.pids), "a Ray process outlived the test"


@pytest.fixture(scope="session")
def local_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, bytes]]:
    """BBC and Reuters cleaned locally with --workers 1: what every Ray run must equal."""
    runs = {}
    for name, src in (("bbc", BBC), ("reuters", REUTERS)):
        dst = tmp_path_factory.mktemp("local") / name
        done = cli(src, dst, "--workers", "1")
        assert done.returncode == 0, done.stderr
        runs[name] = run_output(dst)
    return runs


def on_cluster(cluster: Cluster, src: Path, dst: Path, *more: str) -> subprocess.Popen:
    """The CLI on the cluster, as a user types it: in this environment, not the nodes' one."""
    return subprocess.Popen([sys.executable, "-m", "cleaner", "clean", str(src), str(dst), "-q", "--executor", "ray",
                             "--ray-address", cluster.address, *more], stderr=subprocess.PIPE, text=True)


def finish(run: subprocess.Popen, timeout: float = 600) -> None:
    _, err = run.communicate(timeout=timeout)
    assert run.returncode == 0, err


def chunk_nodes(cluster: Cluster) -> list[str]:
    """The temporary folders of the nodes whose workers ran a chunk (Ray names each task a
    worker starts in its log: `:task_name:cleaner_chunk`)."""
    return [str(d) for d in cluster.temp_dirs
            if any(b":task_name:cleaner_chunk" in log.read_bytes() for log in d.glob("session_*/logs/worker-*.out"))]


@pytest.mark.ray
@cluster_only
@needs_shared(REUTERS)
@needs_shared(BBC)
@pytest.mark.parametrize("corpus", ["bbc", "reuters"])
def test_two_nodes_give_the_local_bytes(ray_cluster: Cluster, local_runs: dict, tmp_path: Path, corpus: str):
    src = BBC if corpus == "bbc" else REUTERS
    finish(on_cluster(ray_cluster, src, tmp_path / "ray"))
    assert run_output(tmp_path / "ray") == local_runs[corpus]
    assert len(chunk_nodes(ray_cluster)) == 2, "both nodes ran chunks"


@pytest.mark.ray
@cluster_only
@needs_shared(BBC)
def test_with_an_on_disk_index_the_cluster_gives_the_local_bytes(ray_cluster: Cluster, tmp_path: Path):
    """--index PATH: a first run puts BBC in a fresh index, a second run of BBC against it
    removes every document as a copy kept by the first; on the cluster and locally (each
    with its own index), both runs give the same bytes."""
    outputs = {}
    for where in ("local", "ray"):
        how = ["--workers", "1"] if where == "local" else ["--executor", "ray", "--ray-address", ray_cluster.address]
        for run in ("first", "second"):
            dst = tmp_path / where / run
            done = cli(BBC, dst, "--index", tmp_path / where / "index", "--run-id", run, *how)
            assert done.returncode == 0, done.stderr
            outputs[where, run] = run_output(dst)
    assert outputs["ray", "first"] == outputs["local", "first"]
    assert outputs["ray", "second"] == outputs["local", "second"]
    removed = outputs["ray", "second"][".cleaner/removed.jsonl"].decode().splitlines()
    assert len(removed) > 2000 and all('"run": "first"' in line for line in removed[:50])


@pytest.mark.ray
@cluster_only
@needs_shared(BBC)
def test_a_worker_killed_mid_task_is_retried_and_the_output_is_the_same(ray_cluster: Cluster, local_runs: dict,
                                                                         tmp_path: Path):
    run = on_cluster(ray_cluster, BBC, tmp_path / "ray")
    killed = kill_a_busy_worker(ray_cluster, run)
    finish(run)
    assert killed is not None, "no worker was seen running a chunk"
    assert not alive(killed)
    assert run_output(tmp_path / "ray") == local_runs["bbc"]


@pytest.mark.ray
@cluster_only
def test_an_exception_in_a_step_is_raised_here_with_its_own_type(ray_cluster: Cluster,
                                                                  monkeypatch: pytest.MonkeyPatch):
    """Not retried, not wrapped: `int(document)` fails in the worker with a TypeError."""
    from cleaner.record import Document
    from cleaner.run.ray_executor import LOOPBACK_ONLY, RayExecutor

    monkeypatch.delenv(LOOPBACK_ONLY, raising=False)  # what the executor sets is undone after: later CLI
    # runs get the user's environment
    docs = [Document(id=str(n), source=f"{n}.txt", raw=b"text") for n in range(3)]
    with pytest.raises(TypeError, match="Document"):
        list(RayExecutor(address=ray_cluster.address).map([int], docs))
    assert "ray" in sys.modules and not sys.modules["ray"].is_initialized()  # disconnected again


def kill_a_busy_worker(cluster: Cluster, run: subprocess.Popen, timeout: float = 300) -> int | None:
    """SIGKILL the first worker seen running a chunk (process title ray::cleaner_chunk)."""
    deadline = time.monotonic() + timeout
    while run.poll() is None and time.monotonic() < deadline:
        busy = [pid for pid, title in cluster.workers().items() if title.startswith("ray::cleaner_chunk")]
        if busy:
            os.kill(busy[0], signal.SIGKILL)
            return busy[0]
        time.sleep(0.01)
    return None


@pytest.mark.ray
@cluster_only
@needs_shared(REUTERS)
def test_the_driver_killed_then_resume_gives_the_same_output(ray_cluster: Cluster, local_runs: dict, tmp_path: Path):
    dst = tmp_path / "ray"
    run = on_cluster(ray_cluster, REUTERS, dst, "--checkpoint-every", "1")
    checkpoint = dst / STATE_DIR / CHECKPOINT
    deadline = time.monotonic() + 300
    while run.poll() is None and time.monotonic() < deadline and not checkpoint_past(checkpoint, 2000):
        time.sleep(0.05)
    run.kill()
    run.communicate()
    assert run.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    assert not (dst / ".cleaner" / "_SUCCESS").exists()
    finish(on_cluster(ray_cluster, REUTERS, dst, "--resume"))
    assert run_output(dst) == local_runs["reuters"]


def checkpoint_past(path: Path, documents: int) -> bool:
    """A checkpoint is there, `documents` or more into the run (it is replaced atomically)."""
    found = load_checkpoint(path) if path.exists() else None
    return found is not None and found.documents >= documents


@pytest.mark.ray
@cluster_only
@needs_shared(BBC)
def test_without_an_address_a_private_local_ray_on_loopback_gives_the_local_bytes(local_runs: dict, tmp_path: Path):
    """The default: a local Ray with --workers CPUs, listening on 127.0.0.1 only, in its own
    temporary folder, gone after the run. SIGTERM in the middle still checkpoints and exits
    143 (Ray's own SIGTERM handler is not left in place), and --resume finishes the run.
    Decisions come in bursts of units (most of BBC in the last tenth of a second), so the
    signal goes after the first decided unit: a signal after the commit, while the process
    exits, would end it by SIGTERM's default, as it should."""
    dst, seen = tmp_path / "ray", Watched()
    first = private_run(dst)
    while first.poll() is None and not checkpoint_past(dst / STATE_DIR / CHECKPOINT, 1):
        seen.look(first)  # the first unit decided: Ray is up, most of the input still to come
    first.send_signal(signal.SIGTERM)
    _, err = first.communicate(timeout=120)
    assert not (dst / ".cleaner" / "_SUCCESS").exists(), "the run ended before the signal reached it"
    assert first.returncode == 143, err
    second = private_run(dst, "--resume")
    while second.poll() is None:
        seen.look(second)
    finish(second)
    assert seen.heard and all(address.startswith("127.0.0.1:") for address in seen.heard), seen.heard
    deadline = time.monotonic() + 30
    while any(alive(pid) for pid in seen.started) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(alive(pid) for pid in seen.started), "a Ray process outlived the run"
    assert len(seen.temp_dirs) == 2 and not any(Path(d).exists() for d in seen.temp_dirs), seen.temp_dirs
    assert run_output(dst) == local_runs["bbc"]


def private_run(dst: Path, *more: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "cleaner", "clean", str(BBC), str(dst), "-q", "--executor", "ray",
                             "--workers", "2", "--checkpoint-every", "1", *more], stderr=subprocess.PIPE, text=True)


class Watched:
    """What runs have started (pids), where those listen, and the Ray temporary folders
    they named (`--temp-dir=`), seen while they are alive."""

    def __init__(self) -> None:
        self.started: set[int] = set()
        self.heard: set[str] = set()
        self.temp_dirs: set[str] = set()

    def look(self, run: subprocess.Popen) -> None:
        self.started |= descendants({run.pid})
        self.heard |= listening(self.started)
        self.temp_dirs |= {word.partition("=")[2] for pid in self.started for word in cmdline(pid).split()
                           if word.startswith("--temp-dir=")}
        time.sleep(0.1)
