"""How a run goes, apart from what it writes: the options that never change the output.

`Config` holds everything that shapes the output (and so its digest); `RunOptions` holds
the rest: where the logs go, whether to overwrite or resume, how often to checkpoint, which
executor maps the per-document steps and with how many workers, and the callbacks a caller
watches or stops the run with.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cleaner.errors import ConfigError

if TYPE_CHECKING:
    from cleaner.record import Document


@dataclass(frozen=True)
class RunOptions:
    """Options of one run that change how it goes, never what it writes.

    - `log_dir`: where the logs and `_SUCCESS` go (default DST/.cleaner);
    - `overwrite` / `resume`: write into a non-empty DST / finish an interrupted run;
    - `checkpoint_seconds`: at most this long between checkpoints `resume` goes on from;
    - `executor`: the registry name of what maps the per-document steps
      (cleaner.run.executor); `workers` its processes (0: one per core; 1: this process);
    - `ray_address`: the Ray cluster `executor="ray"` runs on (None: a private local Ray);
    - `on_document(doc)`: called with every document once it is settled;
    - `stop()`: asked after every document; a signal number stops the run there;
    - `index`: a persistent index (a folder, or redis://HOST:PORT/DB?prefix=NAME) that the
      run deduplicates against and adds what it keeps to (cleaner.dedup.store); None: this
      run's alone, in a temporary index of the same kind deleted at the end. `run_id`: this
      run's name in it (default: its UTC start time);
    - `index_memory`: bytes a run's index of one kind holds in memory before it writes them
      out to the (persistent or temporary) index on disk (None: cleaner.dedup.store's default).
    """

    log_dir: Path | None = None
    overwrite: bool = False
    resume: bool = False
    checkpoint_seconds: float = 30.0
    executor: str = "processes"
    workers: int = 0
    ray_address: str | None = None  # --- ray (issue 13)
    on_document: Callable[[Document], None] | None = None
    stop: Callable[[], int] | None = None
    index: str | None = None
    run_id: str | None = None
    index_memory: int | None = None

    def __post_init__(self) -> None:
        if self.workers < 0:
            raise ConfigError(f"workers must be at least 0 (0: one per core), got {self.workers}")
        if self.checkpoint_seconds < 0:
            raise ConfigError(f"checkpoint_seconds must be at least 0, got {self.checkpoint_seconds}")
        if self.index_memory is not None and self.index_memory < 1:
            raise ConfigError(f"index_memory must be at least 1 byte, got {self.index_memory}")
        if self.ray_address is not None and self.executor != "ray":  # --- ray (issue 13)
            raise ConfigError(f"--ray-address is for --executor ray, not {self.executor}")
