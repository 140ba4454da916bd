"""One frozen configuration, validated as soon as it is made, passed down to every stage."""

from __future__ import annotations

from dataclasses import asdict, dataclass
import hashlib
import json

from cleaner.errors import ConfigError

SCOPES = ("document", "corpus")
REPAIR_PROFILES = ("safe", "aggressive", "off")
PARAGRAPH_MODES = ("blank", "indent", "line", "auto")
FORMATS = ("txt", "jsonl", "parquet")
COMPRESSIONS = ("none", "gzip", "zstd")
ON_ERROR = ("skip", "fail")
TOKENS = ("script", "words")
UNITS = ("paragraph", "sentence")


@dataclass(frozen=True)
class Config:
    """Every option of a cleaning run.

    Defaults, and why:
    - `ngram=3` word shingles for paragraphs: paragraphs are short (a news paragraph is
      20-60 words), and with 5-grams one changed word removes up to 5 of ~30 shingles, so
      light edits fall far below any useful threshold; 3-grams keep them near 0.8.
    - `threshold=0.7` Jaccard: measured on word 3-grams, a paragraph with one or two words
      changed in thirty scores 0.75-0.85; two unrelated paragraphs that share a template
      ("Team A beat Team B 3-1") stay below 0.4 because every fact changes a shingle.
    - `num_perm=128`: the standard error of a MinHash estimate is about 1/sqrt(128) = 0.09,
      enough to find candidates; every candidate is then verified on its real shingle set.
    - `min_words=5`: a paragraph shorter than that ("Reuters", "He added:") is never
      matched fuzzily and never removed because another document has it.
    - `tokens="script"`: shingles of words, but of characters in Chinese, Japanese, Korean,
      Thai, Lao, Khmer and Burmese (cleaner.dedup.tokens), so near copies in scripts without
      spaces are found; "words" shingles the `\\w+` words everywhere. Text without those
      scripts gets the same fingerprints either way.
    - `unit="paragraph"`: paragraphs are what is compared, as always; "sentence" also
      removes runs of copied sentences from the paragraphs that remain (cleaner.dedup.windows).
    - `window=3` sentences: the shortest run `--unit sentence` removes. Two sentences are
      still a quote or a stock phrase pair ("Reuters reported the figures. Shares fell.");
      three news sentences are 50-80 words, enough for word 3-gram Jaccard to tell a copy
      with an edited word (about 0.9) from unrelated text, and datatrove's exact-span
      dedup uses 3 sentences too. A window must also hold `window * min_words` words.
    - `paragraphs="blank"`: blank lines are what most scraped text uses; `indent` is for
      hard-wrapped newswire, `auto` decides per document (see cleaner.segment).
    - `format=None`, `compression=None`: write what was read (JSONL stays JSONL, .gz stays .gz).
    - `shard_bytes=500_000_000`: a record output file is closed at the first record after it
      holds 500 MB (JSONL: before compression), a size every loader streams and most tools split at;
      `shard_records=0` sets no count limit.
    - `doc_threshold=0.8` on word `doc_ngram=5`-grams of the whole text: a document that
      is a near copy of an earlier one (the same article saved twice, a syndicated copy
      with a changed byline) is dropped whole; 5-grams over hundreds of words keep distinct
      articles on one topic far apart. 0 turns document dedup off; it needs `scope=corpus`.
    - `boilerplate_min_docs=0` (off): at K >= 2, a paragraph (of at least `min_words`
      words) found in K or more documents is removed from all of them. It costs a first
      pass over the input that counts exact paragraph keys, so it needs an input that can
      be read twice (files or folders, not standard input).
    - `max_file_bytes=64 MiB`: larger inputs are rejected (`too_large`) before they are
      read, so memory stays bounded (a 64 MiB file peaks well under 1 GB in the stages).
    - `max_paragraph_chars=1,000,000`: a news paragraph is under 2,000 characters; a block
      a thousand times that is a dump without line structure (`paragraph_too_long`).
    - `max_combining=30`: Unicode's Stream-Safe Text Format (UAX #15) bound on combining
      marks in a row; real scripts use a handful, "Zalgo" floods hundreds (`combining_flood`).
    - `follow_symlinks=False`: links are listed as rejects, not read, unless asked.
    """

    glob: str = "*.txt"
    repair: str = "safe"
    scope: str = "corpus"
    ngram: int = 3
    threshold: float = 0.7
    num_perm: int = 128
    seed: int = 1
    min_words: int = 5
    tokens: str = "script"
    lsh_recall: float = 0.99
    unit: str = "paragraph"
    window: int = 3
    paragraphs: str = "blank"
    unwrap: bool = False
    text_field: str = "text"
    id_field: str = "id"
    on_error: str = "skip"
    format: str | None = None
    compression: str | None = None
    shard_records: int = 0
    shard_bytes: int = 500_000_000
    doc_threshold: float = 0.8
    doc_ngram: int = 5
    boilerplate_min_docs: int = 0
    follow_symlinks: bool = False
    max_file_bytes: int = 64 * 2**20
    max_paragraph_chars: int = 1_000_000
    max_combining: int = 30

    def __post_init__(self) -> None:
        if not self.glob:
            raise ConfigError("glob must not be empty")
        if self.repair not in REPAIR_PROFILES:
            raise ConfigError(f"repair must be one of {', '.join(REPAIR_PROFILES)}, got {self.repair!r}")
        if self.scope not in SCOPES:
            raise ConfigError(f"scope must be one of {', '.join(SCOPES)}, got {self.scope!r}")
        if not 1 <= self.ngram <= 32:
            raise ConfigError(f"ngram must be in [1, 32], got {self.ngram}")
        if not 0.0 < self.threshold <= 1.0:
            raise ConfigError(f"threshold must be in (0.0, 1.0], got {self.threshold}")
        if not 16 <= self.num_perm <= 1024:
            raise ConfigError(f"num_perm must be in [16, 1024], got {self.num_perm}")
        if self.min_words < 1:
            raise ConfigError(f"min_words must be at least 1, got {self.min_words}")
        if self.tokens not in TOKENS:
            raise ConfigError(f"tokens must be one of {', '.join(TOKENS)}, got {self.tokens!r}")
        if self.unit not in UNITS:
            raise ConfigError(f"unit must be one of {', '.join(UNITS)}, got {self.unit!r}")
        if not 2 <= self.window <= 32:
            raise ConfigError(f"window must be in [2, 32] sentences, got {self.window}")
        if not 0.5 <= self.lsh_recall < 1.0:
            raise ConfigError(f"lsh_recall must be in [0.5, 1.0), got {self.lsh_recall}")
        self._check_formats()
        self._check_dedup()
        self._check_limits()

    def _check_limits(self) -> None:
        if self.max_file_bytes < 1:
            raise ConfigError(f"max_file_bytes must be at least 1, got {self.max_file_bytes}")
        if self.max_paragraph_chars < 1:
            raise ConfigError(f"max_paragraph_chars must be at least 1, got {self.max_paragraph_chars}")
        if self.max_combining < 1:
            raise ConfigError(f"max_combining must be at least 1, got {self.max_combining}")

    def _check_formats(self) -> None:
        if self.paragraphs not in PARAGRAPH_MODES:
            raise ConfigError(f"paragraphs must be one of {', '.join(PARAGRAPH_MODES)}, got {self.paragraphs!r}")
        if self.on_error not in ON_ERROR:
            raise ConfigError(f"on_error must be one of {', '.join(ON_ERROR)}, got {self.on_error!r}")
        if self.format is not None and self.format not in FORMATS:
            raise ConfigError(f"format must be one of {', '.join(FORMATS)}, got {self.format!r}")
        if self.compression is not None and self.compression not in COMPRESSIONS:
            raise ConfigError(f"compression must be one of {', '.join(COMPRESSIONS)}, got {self.compression!r}")
        if not self.text_field or not self.id_field:
            raise ConfigError("text_field and id_field must not be empty")
        if self.text_field == self.id_field:
            raise ConfigError(f"text_field and id_field must differ, both are {self.text_field!r}")
        if self.shard_records < 0 or self.shard_bytes < 0:
            raise ConfigError("shard_records and shard_bytes must be at least 0 (0: no limit)")

    @property
    def keeps_indentation(self) -> bool:
        """Whether normalising must keep line-leading spaces: they mark paragraphs here."""
        return self.paragraphs in ("indent", "auto")

    def _check_dedup(self) -> None:
        if not 0.0 <= self.doc_threshold <= 1.0:
            raise ConfigError(f"doc_threshold must be in [0.0, 1.0] (0 is off), got {self.doc_threshold}")
        if not 1 <= self.doc_ngram <= 32:
            raise ConfigError(f"doc_ngram must be in [1, 32], got {self.doc_ngram}")
        if self.boilerplate_min_docs < 0 or self.boilerplate_min_docs == 1:
            raise ConfigError(f"boilerplate_min_docs must be 0 (off) or at least 2, got {self.boilerplate_min_docs}")

    @property
    def documents_compared(self) -> bool:
        """Whether whole documents are deduplicated (corpus scope, document threshold on)."""
        return self.scope == "corpus" and self.doc_threshold > 0.0

    def as_dict(self) -> dict:
        return asdict(self)

    def digest(self) -> str:
        """A short stable hash of every option that shapes the output, to tell whether two
        runs are comparable (how a run goes, RunOptions, is not part of it)."""
        blob = json.dumps(self.as_dict(), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]
