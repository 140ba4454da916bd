"""Library errors. The CLI turns each into a one-line message and an exit status."""

from __future__ import annotations


class CleanerError(Exception):
    """Base class of every error cleaner raises on purpose."""


class ConfigError(CleanerError, ValueError):
    """An option is out of range or options contradict each other."""


class UsageError(CleanerError):
    """The input or output location cannot be used (missing, DST inside SRC, ...)."""


class InputError(CleanerError):
    """An input cannot be read; names the file and, when known, the line."""

    def __init__(self, path: str, message: str, line: int | None = None) -> None:
        self.path = path
        self.line = line
        self.reason = message
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {message}")


class OutputError(CleanerError):
    """The output cannot be written (disk full, read-only folder, ...)."""


class UnsafePathError(InputError):
    """An output path made from a name or record id would leave DST; the record is rejected."""


class AccountingError(CleanerError):
    """The counts of a run do not add up (seen != kept + removed + rejected + empty): a bug,
    reported as a failed run rather than declared complete."""


class Interrupted(CleanerError):
    """The run stopped on a signal after leaving a consistent, resumable state."""

    def __init__(self, signum: int, message: str) -> None:
        self.signum = signum
        super().__init__(message)
