"""Recall of a generated corpus's injected copies (bench/generate.py's truth file) in what a tool removed.

A copy is a paragraph unit: an injected paragraph copy is one, a copied document is all its
paragraphs. A unit counts as found when the tool removed that paragraph (or its whole
document). Removals that are no injected copy are counted as `other` (the generator's
originals repeat sentences, never whole paragraphs, so these are mostly false positives).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
import json
from pathlib import Path


def copy_units(truth: Path) -> dict[str, str]:
    """`id#paragraph` of every injected copy -> its kind, e.g. "paragraph near" or "document exact"."""
    units: dict[str, str] = {}
    with truth.open(encoding="utf-8") as lines:
        for line in map(json.loads, lines):
            kind = f"{line['level']} {line['kind']}"
            if line["level"] == "document":
                units.update({f"{line['id']}#{index}": kind for index in range(line["paragraphs"])})
            else:
                units[f"{line['id']}#{line['paragraph']}"] = kind
    return units


def recall(truth: Path, removed: Iterable[str]) -> dict[str, float | int]:
    """Found / injected per kind and overall, and the removals that are no injected copy."""
    units = copy_units(truth)
    removed = set(removed)
    injected, found = Counter(units.values()), Counter(kind for unit, kind in units.items() if unit in removed)
    result: dict[str, float | int] = {kind: found[kind] / injected[kind] for kind in sorted(injected)}
    result["all"] = sum(found.values()) / max(1, len(units))
    result["injected"] = len(units)
    result["other"] = len(removed - units.keys())
    return result


def removed_ids(log: Path) -> list[str]:
    """`id#paragraph` of every paragraph in a cleaner removed.jsonl; a removed document counts all of its."""
    ids = []
    with log.open(encoding="utf-8") as lines:
        for record in map(json.loads, lines):
            paragraphs = [record["paragraph"]] if "paragraph" in record else range(record.get("paragraphs", 1))
            ids.extend(f"{record['id']}#{index}" for index in paragraphs)
    return ids
