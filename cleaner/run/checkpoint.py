"""A run's checkpoint: where an interrupted run goes on from.

A run keeps everything it writes consistent at document boundaries: output files are
renamed into place one by one, shards grow under hidden names in whole compression frames,
the logs grow as `.partial` files, append-only. A checkpoint (`checkpoint.pkl` in the state
folder, written durably: temp file, fsync, rename) records after how many input documents
it was taken, each log's byte length and line count then, the sink's position, and the
stateful stages as plain data (the dedup indexes' snapshots, the report, the accounts), read back
by an unpickler that builds nothing else (a checkpoint naming code to run is refused).

`--resume` truncates the logs and the open shard back to the checkpoint, restores the
stages, skips that many input documents, and goes on. Documents after the checkpoint are
done again; every stage is deterministic given the restored state, so their output is
rewritten with the same bytes and the result is byte-identical to a run never interrupted
(report.json's `seconds` aside). Checkpoints cost time in proportion to the index, so they
are taken at most every `checkpoint_seconds` (and at interruption).
"""

from __future__ import annotations

from dataclasses import dataclass, field
import io
import os
from pathlib import Path
import pickle
import shutil
from typing import Any, BinaryIO

from cleaner.errors import UsageError
from cleaner.io.layout import CHECKPOINT, SUCCESS

FORMAT = 2


@dataclass
class Checkpoint:
    """Where an interrupted run can go on from."""

    config: str
    manifest: str | None
    documents: int = 0
    logs: dict[str, tuple[int, int]] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)
    elapsed: float = 0.0
    final: bool = False
    format: int = FORMAT


def load_checkpoint(path: Path) -> Checkpoint | None:
    """The checkpoint at `path`, None when there is none; UsageError when it cannot be used."""
    try:
        blob = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as err:
        raise UsageError(f"{path}: cannot read the checkpoint: {err.strerror or err}") from err
    try:
        checkpoint = _PlainData(io.BytesIO(blob)).load()
    except Exception as err:  # a pickle can fail in many ways; each means "unusable"
        why = f"{type(err).__name__}: {err}"
        raise UsageError(f"{path}: damaged checkpoint ({why}); use --overwrite to start over") from err
    if not isinstance(checkpoint, Checkpoint) or checkpoint.format != FORMAT:
        raise UsageError(f"{path}: checkpoint from another cleaner version; use --overwrite to start over")
    return checkpoint


def dump_checkpoint(checkpoint: Checkpoint, out: BinaryIO) -> None:
    """Pickle `checkpoint` into `out` as it goes: the index state it holds can be hundreds
    of MB, which a `pickle.dumps` would hold again, whole, as bytes."""
    pickle.dump(checkpoint, out, protocol=pickle.HIGHEST_PROTOCOL)


# What a checkpoint may be built of: plain data, numpy and array.array buffers, and the
# few classes of cleaner's own state. Anything else (a function to call, a class of another
# module) means the file was not written by cleaner, and unpickling it would run whatever
# it names: such a checkpoint is refused as damaged.
_ALLOWED = {
    ("cleaner.run.checkpoint", "Checkpoint"), ("cleaner.run.report", "Report"),
    ("cleaner.run.accounts", "Accounts"), ("cleaner.dedup.keytable", "KeyTable"),
    ("collections", "Counter"), ("array", "array"), ("array", "_array_reconstructor"),
    ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy._core.numeric", "_frombuffer"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("pyarrow.lib", "schema"), ("pyarrow.lib", "field"), ("pyarrow.lib", "type_for_alias"),  # a Parquet sink's schema
}


class _PlainData(pickle.Unpickler):
    """An unpickler that builds only the types a checkpoint holds."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED or (module == "builtins" and name in _BUILTINS):
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"{module}.{name} is not checkpoint data")


_BUILTINS = {"set", "frozenset", "bytearray", "complex", "slice", "range"}


def prepare_state_folder(state: Path, logs: tuple[str, ...], tmp_dir: str,
                         resume_logs: dict[str, tuple[int, int]] | None) -> dict[str, tuple[int, int]] | None:
    """Make a state folder ready: fresh for a new run (`resume_logs` None: no logs, marker
    or checkpoint left), or rolled back to a checkpoint's log lengths for a resumed one.
    Returns the log (bytes, lines) a resumed run continues from."""
    shutil.rmtree(state / tmp_dir, ignore_errors=True)
    for stray in state.glob(".*.tmp"):  # a kill -9 inside write_atomic of the state files
        stray.unlink(missing_ok=True)
    for name in ("report.json", SUCCESS):
        (state / name).unlink(missing_ok=True)
    if resume_logs is None:
        for name in (*logs, *(f"{log}.partial" for log in logs), CHECKPOINT):
            (state / name).unlink(missing_ok=True)
        return None
    for name, (size, _) in resume_logs.items():
        partial, final = state / f"{name}.partial", state / name
        if not partial.exists() and final.exists():
            os.replace(final, partial)  # the interrupted run had begun to commit
        try:
            os.truncate(partial, size)
        except OSError as err:
            raise UsageError(f"{partial}: cannot resume: {err.strerror or err}; "
                             "use --overwrite to start over") from err
    return resume_logs
