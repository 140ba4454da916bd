"""A generated state folder of a run with a million removals, for the report's scale tests.

Writing it through the pipeline would take minutes; the logs are written directly instead,
in the format cleaner.io.logs writes (one JSON line per removal), from varied sentences made
by a seeded RNG, so the report has realistic text to lay out. Returns the exact counts the
report must show.
"""

from __future__ import annotations

from collections import Counter
import json
from pathlib import Path
import random

SUBJECTS = ["The council", "A spokesman", "The minister", "Shareholders", "The club", "Researchers", "The court",
            "Local residents", "The central bank", "Union leaders", "The company", "Police", "The committee"]
VERBS = ["said", "announced", "warned", "confirmed", "denied", "argued", "reported", "suggested", "insisted"]
OBJECTS = ["the budget would rise by", "profits fell by", "the vote was delayed by", "prices climbed by",
           "the deal was worth", "attendance dropped by", "exports grew by", "the deficit narrowed by"]
TAILS = ["after a long session that ran past midnight.", "according to figures released on Tuesday.",
         "despite strong opposition from the regional assembly.", "in a statement issued late on Friday.",
         "while critics called the plan unrealistic.", "as talks continued into the weekend."]
BOILERPLATE = [f"Sign up for our newsletter number {i} to get the headlines in your inbox every morning."
               for i in range(40)]
REASONS = ["exact_duplicate", "near_duplicate", "duplicate_document", "boilerplate", "exact_repeat", "emptied"]
WEIGHTS = [40, 25, 15, 12, 6, 2]


def sentence(rng: random.Random) -> str:
    number = f"{rng.randint(1, 900)}.{rng.randint(0, 9)}%"
    return f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)} {number} {rng.choice(TAILS)}"


def paragraphs(rng: random.Random, count: int) -> list[str]:
    """`count` paragraphs of two to five sentences, pre-encoded as JSON strings."""
    return [json.dumps(" ".join(sentence(rng) for _ in range(rng.randint(2, 5))), ensure_ascii=False)
            for _ in range(count)]


def line(rng: random.Random, n: int, reason: str, pool: list[str], threshold: float) -> str:
    source, kept = f"wire-{n % 50:02d}.jsonl", f"wire-{rng.randrange(50):02d}.jsonl"
    head = f'{{"source": "{source}", "id": "doc-{n}", "line": {n // 50 + 1}'
    if reason in ("duplicate_document", "emptied"):
        similarity = 1.0 if reason == "emptied" or rng.random() < 0.5 else round(rng.uniform(0.8, 0.999), 4)
        ref = "null" if reason == "emptied" else f'{{"source": "{kept}", "id": "doc-{rng.randrange(n + 1)}"}}'
        return (f'{head}, "paragraphs": {rng.randint(1, 12)}, "reason": "{reason}", "duplicate_of": {ref}, '
                f'"similarity": {similarity}, "estimated_similarity": {similarity}}}\n')
    if reason == "boilerplate":
        text, ref, similarity = json.dumps(BOILERPLATE[n % len(BOILERPLATE)]), "null", 1.0
    else:
        text = pool[rng.randrange(len(pool))]
        similarity = round(rng.uniform(threshold, 0.999), 4) if reason == "near_duplicate" else 1.0
        ref = f'{{"source": "{kept}", "id": "doc-{rng.randrange(n + 1)}", "paragraph": {rng.randint(0, 8)}}}'
    extra = f', "documents": {1000 + n % len(BOILERPLATE)}' if reason == "boilerplate" else ""
    return (f'{head}, "paragraph": {rng.randint(0, 9)}, "text": {text}, "reason": "{reason}", '
            f'"duplicate_of": {ref}, "similarity": {similarity}, "estimated_similarity": {similarity}{extra}}}\n')


def write_million_run(state: Path, removals: int = 1_000_000, seed: int = 14) -> tuple[Counter, Counter]:
    """Write report.json, removed.jsonl and rejects.jsonl of a record run with `removals`
    removal lines into `state`; return the removal counts by reason and by boilerplate text."""
    rng, threshold = random.Random(seed), 0.7
    pool = paragraphs(rng, 20_000)
    state.mkdir(parents=True, exist_ok=True)
    counts: Counter = Counter()
    boilerplate: Counter = Counter()
    reasons = rng.choices(REASONS, WEIGHTS, k=removals)
    with (state / "removed.jsonl").open("w", encoding="utf-8") as out:
        for n, reason in enumerate(reasons):
            counts[reason] += 1
            if reason == "boilerplate":
                boilerplate[BOILERPLATE[n % len(BOILERPLATE)]] += 1
            out.write(line(rng, n, reason, pool, threshold))
    (state / "rejects.jsonl").write_text(
        '{"source": "wire-07.jsonl", "id": null, "line": 12, "reason": "bad_json", "message": "not JSON"}\n')
    (state / "report.json").write_text(json.dumps(_report(counts, removals, threshold), indent=2))
    return counts, boilerplate


def _report(counts: Counter, removals: int, threshold: float) -> dict:
    documents = counts["duplicate_document"] + counts["emptied"]
    paragraphs_removed = removals - documents
    return {
        "config": {"threshold": threshold, "doc_threshold": 0.8, "ngram": 3, "paragraphs": "blank"},
        "documents": {"in": 3_000_000, "out": 3_000_000 - documents - 1, "rejected": 1,
                      "removed": counts["duplicate_document"], "emptied": counts["emptied"]},
        "paragraphs": {"in": 20_000_000, "out": 20_000_000 - paragraphs_removed, "removed": paragraphs_removed,
                       "in_removed_documents": 6 * documents},
        "bytes": {"in": 9_000_000_000, "out": 8_500_000_000},
        "removed_by_reason": dict(sorted(counts.items())), "rejected_by_reason": {"bad_json": 1},
        "fixes": {}, "decoded_as": {}, "decode_fallback": {},
        "replacement_chars": {"count": 0, "documents": 0}, "seconds": 812.4,
    }
