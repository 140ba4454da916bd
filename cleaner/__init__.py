"""cleaner: streaming text cleaning and deduplication for NLP corpora.

    from cleaner import Config, clean_folder
    report = clean_folder(Path("articles"), Path("cleaned"), Config())

Names are imported on first use (PEP 562), so `import cleaner` and the CLI's `--help`
stay quick; `from cleaner import X` works as usual.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "Cleaner": "api", "clean_records": "api",
    "Config": "config",
    "CleanerError": "errors", "ConfigError": "errors", "InputError": "errors",
    "OutputError": "errors", "UsageError": "errors",
    "normalize_text": "normalize", "repair_text": "normalize",
    "clean_documents": "pipeline", "clean_folder": "pipeline", "clean_text": "pipeline", "run": "pipeline",
    "Document": "record", "Paragraph": "record", "Reject": "record", "Removal": "record",
    "Report": "report",
    "split_paragraphs": "segment",
}
__all__ = [
    "Cleaner", "CleanerError", "Config", "ConfigError", "Document", "InputError", "OutputError",
    "Paragraph", "Reject", "Removal", "Report", "UsageError", "clean_documents", "clean_folder",
    "clean_records", "clean_text", "normalize_text", "repair_text", "run", "split_paragraphs",
]
__version__ = "0.1.0"

if TYPE_CHECKING:
    from .api import Cleaner, clean_records
    from .config import Config
    from .errors import CleanerError, ConfigError, InputError, OutputError, UsageError
    from .normalize import normalize_text, repair_text
    from .pipeline import clean_documents, clean_folder, clean_text, run
    from .record import Document, Paragraph, Reject, Removal
    from .report import Report
    from .segment import split_paragraphs


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'cleaner' has no attribute {name!r}")
    value = getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    globals()[name] = value
    return value
