"""A run's checkpoint: where an interrupted run goes on from.

A run keeps everything it writes consistent at document boundaries: output files are
renamed into place one by one, shards grow under hidden names in whole compression frames,
the logs grow as `.partial` files, append-only. A checkpoint (`checkpoint.pkl` in the state
folder, written durably: temp file, fsync, rename) records after how many input documents
it was taken, each log's byte length and line count then, the sink's position, and the
stateful stages as plain data (the dedup indexes' snapshots, the report, the accounts).

`--resume` truncates the logs and the open shard back to the checkpoint, restores the
stages, skips that many input documents, and goes on. Documents after the checkpoint are
done again; every stage is deterministic given the restored state, so their output is
rewritten with the same bytes and the result is byte-identical to a run never interrupted
(report.json's `seconds` aside). Checkpoints cost time in proportion to the index, so they
are taken at most every `checkpoint_seconds` (and at interruption).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
import pickle
from typing import Any

from cleaner.errors import UsageError

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
        checkpoint = pickle.loads(blob)
    except Exception as err:  # a pickle can fail in many ways; each means "unusable"
        raise UsageError(f"{path}: damaged checkpoint ({type(err).__name__}); use --overwrite to start over") from err
    if not isinstance(checkpoint, Checkpoint) or checkpoint.format != FORMAT:
        raise UsageError(f"{path}: checkpoint from another cleaner version; use --overwrite to start over")
    return checkpoint


def dump_checkpoint(checkpoint: Checkpoint) -> bytes:
    return pickle.dumps(checkpoint, protocol=pickle.HIGHEST_PROTOCOL)
