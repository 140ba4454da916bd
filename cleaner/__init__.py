"""cleaner: streaming text cleaning and deduplication for NLP corpora.

    from cleaner import Config, clean_folder
    report = clean_folder(Path("articles"), Path("cleaned"), Config())
"""

from .api import Cleaner, clean_records
from .config import Config
from .errors import CleanerError, ConfigError, InputError, OutputError, UsageError
from .normalize import normalize_text, repair_text
from .pipeline import clean_documents, clean_folder, clean_text, run
from .record import Document, Paragraph, Reject, Removal
from .report import Report
from .segment import split_paragraphs

__all__ = [
    "Cleaner", "CleanerError", "Config", "ConfigError", "Document", "InputError", "OutputError",
    "Paragraph", "Reject", "Removal", "Report", "UsageError", "clean_documents",
    "clean_folder", "clean_records", "clean_text", "normalize_text", "repair_text", "run", "split_paragraphs",
]
__version__ = "0.1.0"
