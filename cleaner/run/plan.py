"""What a run is before it starts: the output's format and compression, and the
checkpoint it goes on from (checked to belong to the same options and input)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import BinaryIO

from cleaner.config import Config
from cleaner.errors import UsageError
from cleaner.io.layout import CHECKPOINT, SUCCESS
from cleaner.io.record_reader import JSONL_SUFFIXES, PARQUET_SUFFIX
from cleaner.io.sources import Source
from cleaner.run.checkpoint import Checkpoint, load_checkpoint


def output_kind(source: Source, dst: Path | BinaryIO, config: Config) -> tuple[str, str]:
    """(format, compression) of the output: as asked, else as the input."""
    out_format = config.format or source.format
    if config.compression is not None:
        compression = config.compression
    else:
        compression = source.compression if out_format == "jsonl" else "none"
    if not isinstance(dst, Path) and out_format != "jsonl":
        raise UsageError(f"- writes JSONL only, not {out_format}")
    if out_format != "jsonl" and config.compression not in (None, "none"):
        raise UsageError(f"compression applies to JSONL output only, not {out_format}")
    if isinstance(dst, Path) and out_format != "txt" and dst.name.endswith((*JSONL_SUFFIXES, PARQUET_SUFFIX)):
        raise UsageError(f"{dst}: the output is a folder (it receives part-00000{dst.name[dst.name.find('.'):]}, "
                         "...), or - for standard output")
    return out_format, compression


def resumable(state_dir: Path, where: Path, config: Config, manifest: object) -> Checkpoint | None:
    """The checkpoint in `state_dir` to go on from, after checking it belongs to `config` and
    the input `manifest`; None when there is none (a complete run's _SUCCESS is checked too).
    `where`: the output the messages name."""
    checkpoint = load_checkpoint(state_dir / CHECKPOINT)
    if checkpoint is None:
        if (state_dir / SUCCESS).exists():
            _check_same_run(_success_as_checkpoint(state_dir), where, config, manifest)
        return None
    _check_same_run(checkpoint, where, config, manifest)
    return checkpoint


def success_record(state_dir: Path) -> dict:
    """What a complete run's `_SUCCESS` holds (its config, manifest and counts)."""
    return _success_as_checkpoint(state_dir).state["success"]


def _success_as_checkpoint(state_dir: Path) -> Checkpoint:
    try:
        success = json.loads((state_dir / SUCCESS).read_text(encoding="utf-8"))
        return Checkpoint(success["config"], success["manifest"], state={"success": success})
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise UsageError(f"{state_dir}: unreadable {SUCCESS} ({err}); use --overwrite") from err


def _check_same_run(checkpoint: Checkpoint, where: Path, config: Config, manifest: object) -> None:
    if checkpoint.config != config.digest():
        raise UsageError(f"{where}: cannot resume: the options differ from the interrupted run's "
                         f"(config {checkpoint.config}, now {config.digest()}); "
                         "give the same options, or --overwrite to start over")
    if checkpoint.manifest != manifest:
        raise UsageError(f"{where}: cannot resume: the input files changed since the interrupted run "
                         "(names, sizes or times); use --overwrite to start over")
