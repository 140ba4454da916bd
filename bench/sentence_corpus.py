"""A corpus with known copied sentence runs, built at run time from real BBC sentences.

Articles are BBC articles (read from ../shared/data/bbc, never stored here) that share no
sentence and no 8-word phrase with each other. The first half are sources; each article of
the second half (a host) receives runs of 3-8 consecutive sentences of a source (across
its paragraph breaks), some with one word changed, put between two of its own sentences
or as a paragraph of their own (never next to a fragment without a full stop, which runs
into them as one sentence); it also receives single sentences and pairs ("quotes"),
which must stay. Every article is re-wrapped (textwrap) at its own width, so a copy's
line breaks differ from its source's. `score` reads the cleaned texts: a run counts as
found when none of its sentences is left, and any other sentence missing is a false removal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import html
from pathlib import Path
import random
import re
import textwrap

from cleaner.text.sentences import split_sentences

WORD = re.compile(r"[a-z]{4,}")
STOPS = ".!?\"'"
EDITS = ("notably", "reportedly", "briefly", "largely", "formally")


@dataclass
class Built:
    """The articles (name -> text, sources first by name) and what was copied where."""

    texts: dict[str, str]
    runs: list[tuple[str, list[str]]] = field(default_factory=list)  # (host, copied sentences as written)
    own: dict[str, list[str]] = field(default_factory=dict)  # article -> sentences that must stay
    quotes: list[tuple[str, list[str]]] = field(default_factory=list)  # (host, 1-2 copied sentences)


def bbc_articles(folder: Path, limit: int) -> list[list[list[str]]]:
    """Up to `limit` BBC articles as paragraphs of sentences (title left out), in name
    order, skipping any that shares a sentence or an 8-word phrase with one taken before."""
    seen_sentences: set[str] = set()
    seen_phrases: set[tuple[str, ...]] = set()
    articles = []
    for path in sorted(folder.rglob("*.txt")):
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
        # As cleaner repairs it (HTML entities: "communiqu&#233;" is written "communiqué").
        paragraphs = [" ".join(html.unescape(p).split()) for p in text.split("\n\n")[1:] if p.strip()]
        article = [split_sentences(p) for p in paragraphs]
        sentences = [s for p in article for s in p]
        words = " ".join(sentences).lower().split()
        phrases = {tuple(words[i:i + 8]) for i in range(len(words) - 7)}
        if len(sentences) < 10 or seen_sentences.intersection(sentences) or seen_phrases & phrases:
            continue
        seen_sentences.update(sentences)
        seen_phrases.update(phrases)
        articles.append(article)
        if len(articles) == limit:
            break
    return articles


def build(folder: Path, articles: int, seed: int = 18, runs_per_host: int = 2, quotes_per_host: int = 1) -> Built:
    """`articles` articles, half sources and half hosts; each host gets `runs_per_host`
    copied runs (half of them with one word changed) and `quotes_per_host` short quotes."""
    rng = random.Random(seed)
    base = bbc_articles(folder, articles)
    half = len(base) // 2
    built = Built({})
    for number, article in enumerate(base):
        name = f"{number:04d}-{'source' if number < half else 'host'}"  # sources first by name
        built.own[name] = [s for p in article for s in p]
        if number >= half:
            article = _host(article, base[:half], rng, name, built, runs_per_host, quotes_per_host)
        width = rng.randrange(40, 100)
        built.texts[name] = "\n\n".join(textwrap.fill(" ".join(p), width, break_on_hyphens=False,
                                                      break_long_words=False) for p in article)
    return built


def _host(article: list[list[str]], sources: list[list[list[str]]], rng: random.Random, name: str, built: Built,
          runs: int, quotes: int) -> list[list[str]]:
    """`article` with copied runs and quotes put in at distinct sentence boundaries."""
    paragraphs = [list(p) for p in article]
    places = rng.sample([(i, k) for i, p in enumerate(paragraphs) for k in range(len(p) + 1) if _between(p, k)],
                        runs + quotes)
    inserts = []
    for n, place in enumerate(places):
        source = [s for p in rng.choice(sources) for s in p]
        length = rng.randint(3, 8) if n < runs else rng.randint(1, 2)
        starts = [k for k in range(len(source) - length + 1) if _between(source, k) and _between(source, k + length)]
        start = rng.choice(starts or [0])  # whole sentences, as they would be put between two
        copied = source[start:start + length]
        if n < runs and n % 2:
            copied = _edited(copied, rng)
        (built.runs if n < runs else built.quotes).append((name, copied))
        inserts.append((place, copied, rng.random() < 0.3))
    for (i, k), copied, alone in sorted(inserts, key=lambda x: x[0], reverse=True):
        if alone:  # a paragraph of its own, after sentence k's paragraph part
            paragraphs[i:i + 1] = [p for p in (paragraphs[i][:k], copied, paragraphs[i][k:]) if p]
        else:
            paragraphs[i][k:k] = copied
    return paragraphs


def _between(paragraph: list[str], k: int) -> bool:
    """Whether place `k` of a paragraph's sentences is between two sentences: BBC text has
    fragments ("8,661", a line broken mid-sentence) that run into whatever follows them."""
    return (k == 0 or paragraph[k - 1][-1] in STOPS) and (k == len(paragraph) or not paragraph[k][0].islower())


def _edited(sentences: list[str], rng: random.Random) -> list[str]:
    """`sentences` with one lower-case word of one of them changed."""
    order = list(range(len(sentences)))
    rng.shuffle(order)
    for i in order:
        found = [m for m in WORD.finditer(sentences[i]) if m.start() > 0]
        if found:
            m = rng.choice(found)
            edit = next(e for e in EDITS if e != m.group())
            return [*sentences[:i], sentences[i][:m.start()] + edit + sentences[i][m.end():], *sentences[i + 1:]]
    return sentences


def _flat(text: str) -> str:
    return " ".join(text.split())


@dataclass
class Score:
    runs: int
    found: int
    sentences: int
    sentences_removed: int
    kept_expected: int
    false_removals: int
    examples: list[str]

    @property
    def recall(self) -> float:
        return self.found / self.runs if self.runs else 1.0


def score(built: Built, cleaned: dict[str, str]) -> Score:
    """Recall of the copied runs and the sentences removed outside them, from the cleaned
    texts (name -> text as written, "" when nothing was left)."""
    flat = {name: _flat(cleaned.get(name, "")) for name in built.texts}
    found = sentences = removed = 0
    for host, copied in built.runs:
        gone = [_flat(s) not in flat[host] for s in copied if any(c.isalnum() for c in s)]  # not a lone "'"
        found += all(gone)
        sentences += len(gone)
        removed += sum(gone)
    must_stay = [(name, s) for name, own in built.own.items() for s in own]
    must_stay += [(host, s) for host, quote in built.quotes for s in quote]
    missing = [f"{name}: {s}" for name, s in must_stay if _flat(s) not in flat[name]]
    return Score(len(built.runs), found, sentences, removed, len(must_stay), len(missing), missing[:5])
