"""cleaner: streaming text cleaning and deduplication for NLP corpora.

    from cleaner import Config, clean
    report = clean(Path("articles"), Path("cleaned"), Config())

Names are imported on first use (PEP 562), so `import cleaner` and the CLI's `--help`
stay quick; `from cleaner import X` works as usual.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "Cleaner": "api", "clean": "api", "clean_records": "api", "clean_documents": "api",
    "clean_folder": "api", "clean_text": "api", "RunOptions": "options",
    "Config": "config",
    "CleanerError": "errors", "ConfigError": "errors", "InputError": "errors",
    "OutputError": "errors", "UsageError": "errors",
    "normalize_text": "text.normalize", "repair_text": "text.normalize",
    "compose": "run.chain",
    "Document": "record", "Paragraph": "record", "Reject": "record", "Removal": "record",
    "Report": "run.report",
    "split_paragraphs": "text.segment",
}
__all__ = [
    "Cleaner", "CleanerError", "Config", "ConfigError", "Document", "InputError", "OutputError",
    "Paragraph", "Reject", "Removal", "Report", "RunOptions", "UsageError", "clean", "clean_documents", "clean_folder",
    "clean_records", "clean_text", "compose", "normalize_text", "repair_text", "split_paragraphs",
]
__version__ = "0.1.0"

if TYPE_CHECKING:
    from cleaner.api import Cleaner, clean, clean_documents, clean_folder, clean_records, clean_text
    from cleaner.config import Config
    from cleaner.errors import CleanerError, ConfigError, InputError, OutputError, UsageError
    from cleaner.options import RunOptions
    from cleaner.record import Document, Paragraph, Reject, Removal
    from cleaner.run.chain import compose
    from cleaner.run.report import Report
    from cleaner.text.normalize import normalize_text, repair_text
    from cleaner.text.segment import split_paragraphs


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'cleaner' has no attribute {name!r}")
    value = getattr(import_module(f"cleaner.{_EXPORTS[name]}"), name)
    globals()[name] = value
    return value
