"""One frozen configuration, validated as soon as it is made, passed down to every stage."""

from __future__ import annotations

from dataclasses import asdict, dataclass
import hashlib
import json

from .errors import ConfigError

SCOPES = ("document", "corpus")
REPAIR_PROFILES = ("safe", "aggressive", "off")


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
    """

    glob: str = "*.txt"
    repair: str = "safe"
    scope: str = "corpus"
    ngram: int = 3
    threshold: float = 0.7
    num_perm: int = 128
    seed: int = 1
    min_words: int = 5
    lsh_recall: float = 0.99

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
        if not 0.5 <= self.lsh_recall < 1.0:
            raise ConfigError(f"lsh_recall must be in [0.5, 1.0), got {self.lsh_recall}")

    def as_dict(self) -> dict:
        return asdict(self)

    def digest(self) -> str:
        """A short stable hash of every option, to tell whether two runs are comparable."""
        blob = json.dumps(self.as_dict(), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]
