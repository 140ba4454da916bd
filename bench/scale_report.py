"""The "At scale" section of bench/RESULTS.md, from bench/scale.py's jobs."""

from __future__ import annotations

import json
from pathlib import Path
import statistics

from generate import sidecars

TITLE = "## At scale"
KINDS = ("paragraph exact", "paragraph near", "document exact", "document near")


def corpus_mb(path: Path) -> float:
    return json.loads(sidecars(path)[1].read_text())["text_bytes"] / 1e6


def _recall(job) -> str:
    r = job.recall
    kinds = " | ".join(f"{r.get(k, 0):.3f}" for k in KINDS)
    return f"{job.removed:,} | {r.get('all', 0):.4f} | {kinds} | {r.get('other', 0):,}"


def row(job, scale: float = 1.0, note: str = "") -> str:
    """One table line: medians of the job's runs (times multiplied by `scale` when extrapolated)."""
    mb = corpus_mb(job.corpus) * scale
    if not job.runs:
        return f"| {mb:.0f} | {job.label} | 0 | failed: {job.error} |"
    wall, cpu = job.median("seconds") * scale, job.median("cpu_seconds") * scale
    memory = "n/a | n/a" if note else f"{job.median('peak_mb'):.0f} | {job.median('max_rss_mb'):.0f}"
    load = f"{statistics.median(job.loads):.1f}" if job.loads and not note else "n/a"
    return (f"| {mb:.0f} | {job.label}{note} | {len(job.runs)} | {load} | {wall:.1f} | {cpu:.1f} | {mb / wall:.2f} | "
            f"{mb / cpu:.2f} | {memory} | {_recall(job)} |")


def _find(jobs, label: str, corpus: Path | None):
    return next((j for j in jobs if j.label == label and j.corpus == corpus and j.runs), None)


def _ratio(line: str, slow, fast, target: float | None = None) -> str:
    if slow is None or fast is None:
        return f"- {line}: n/a (a run failed or was not planned)"
    wall = slow.median("seconds") / fast.median("seconds")
    cpu = slow.median("cpu_seconds") / fast.median("cpu_seconds")
    goal = f" (target >= {target:g}x wall: {'met' if wall >= target else 'not met'})" if target else ""
    return f"- {line}: **{wall:.2f}x** wall, {cpu:.2f}x CPU; per round {_paired(slow, fast)}{goal}"


def _paired(slow, fast) -> str:
    """The ratio within each round (the two runs were minutes apart, not a whole bench)."""
    rounds = min(len(slow.runs), len(fast.runs))
    walls = [slow.runs[i].seconds / fast.runs[i].seconds for i in range(rounds)]
    cpus = [slow.runs[i].cpu_seconds / fast.runs[i].cpu_seconds for i in range(rounds)]
    return "wall " + "/".join(f"{w:.2f}" for w in walls) + ", CPU " + "/".join(f"{c:.2f}" for c in cpus)


def ratios(jobs, info: dict) -> list[str]:
    full, part, rev = info["full"], info["slice"], info["previous"]
    main = _find(jobs, "cleaner --workers 2", full)
    small = _find(jobs, "cleaner --workers 2", part or full)
    lines = []
    if main is not None:
        speed = corpus_mb(full) / main.median("seconds")
        lines.append(f"- cleaner --workers 2 on {corpus_mb(full):.0f} MB: **{speed:.2f} MB/s** wall, "
                     f"{corpus_mb(full) / main.median('cpu_seconds'):.2f} MB per CPU second "
                     f"(target >= 25 MB/s: {'met' if speed >= 25 else 'not met'})")
    if rev:
        lines.append(_ratio(f"previous release {rev} --workers 2 / cleaner --workers 2",
                            _find(jobs, f"cleaner {rev} --workers 2", full), main, 3))
        lines.append(_ratio(f"previous release {rev} --workers 1 / cleaner --workers 1",
                            _find(jobs, f"cleaner {rev} --workers 1", full), _find(jobs, "cleaner --workers 1", full)))
    lines.append(_ratio("cleaner --workers 1 / --workers 2", _find(jobs, "cleaner --workers 1", full), main, 1.8))
    if rev:
        lines.append(_ratio(f"{rev} --workers 1 / --workers 2", _find(jobs, f"cleaner {rev} --workers 1", full),
                            _find(jobs, f"cleaner {rev} --workers 2", full)))
    where = f"on the {corpus_mb(part):.0f} MB slice" if part else "on the full corpus"
    for name, target in (("naive", 20), ("careful", None), ("datatrove", 10)):
        lines.append(_ratio(f"{name} / cleaner --workers 2, {where}", _find(jobs, name, part or full), small, target))
    return lines


def table(jobs, info: dict) -> list[str]:
    full, part = info["full"], info["slice"]
    lines = ["| MB | tool | runs | load | wall s | CPU s | MB/s | MB per CPU s | peak MB | max RSS MB | removed | "
             "recall | para exact | para near | doc exact | doc near | other removed |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    lines += [row(job) for job in jobs]
    if part is not None:
        scale = corpus_mb(full) / corpus_mb(part)
        note = f" (extrapolated x{scale:.1f} from the {corpus_mb(part):.0f} MB slice)"
        lines += [row(job, scale, note) for job in jobs if job.corpus == part and not job.label.startswith("cleaner")]
    return lines


def section(jobs, info: dict) -> str:
    machine, meta = info["machine"], json.loads(sidecars(info["full"])[1].read_text())
    copies = ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in meta["copies"].items())
    versions = lambda found: ", ".join(f"{k} {v}" for k, v in found.items()) or "?"  # noqa: E731
    return "\n".join([
        TITLE, "",
        f"Written by `{info['command']}` (`make bench-scale`). {machine['cores']} cores ({machine['cpu']}), "
        f"Python {machine['python']}; load average before {machine['load']}, after {info['load after']} "
        "(a shared machine: CPU seconds are steadier than wall).",
        f"cleaner venv: {versions(info['cleaner'])}; anchor venv: {versions(info['anchors'])}.", "",
        f"Corpus: `bench/generate.py --seed {meta['seed']}`, {meta['text_bytes'] / 1e6:.0f} MB of text in "
        f"{meta['documents']:,} articles, {meta['paragraphs']:,} paragraphs, `.jsonl.zst`; injected copies: "
        f"{copies}. The slice is the same generator at a smaller size, i.e. the first articles of the same "
        "corpus.", "",
        f"Every row is the median of {info['repeat']} runs; the runs were interleaved (one run of every tool, "
        "then again). Wall seconds are process start to exit; CPU s is user + system over the whole process "
        "tree; peak MB the largest sampled sum of PSS over the tree, max RSS the largest single process. "
        "Recall: injected copies (paragraph units; a copied document is all its paragraphs) that the tool "
        "removed; `other removed` are removals that are no injected copy (mostly real near copies the "
        "generator made by chance: two paragraphs sharing one long sentence; they grow with the square of "
        "the size). load: median 1-minute load average as the runs started.", "",
        *_loaded(jobs, machine), "",
        *table(jobs, info), "",
        "Ratios (the other run's median time / this one's):", "",
        *ratios(jobs, info), "",
    ])


def _loaded(jobs, machine: dict) -> list[str]:
    """A warning when the machine ran more than its cores' worth of processes during the bench."""
    loads = [load for job in jobs for load in job.loads]
    cores = int(machine["cores"] or 1)
    if not loads or max(loads) <= cores:
        return []
    return [f"**The machine was loaded** (1-minute load {min(loads):.1f} to {max(loads):.1f} on {cores} cores "
            "as runs started): wall times here measure the neighbours as much as the tools, so wall ratios "
            "(and the wall targets) are not reliable; CPU seconds are."]


def write_scale_section(jobs, info: dict, path: Path) -> str:
    """Replace (or add) the At scale section at the end of `path`; return the section."""
    text = section(jobs, info)
    old = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    head, _, rest = old.partition("\n" + TITLE)
    after = rest.find("\n## ")  # sections after this one (bench/steps_speed.py's) stay
    path.write_text(head.rstrip("\n") + "\n\n" + text + (rest[after:] if after >= 0 else ""), encoding="utf-8")
    return text


def kept_section(path: Path) -> str:
    """The At scale section of `path`, if any, for bench/run.py to keep when it rewrites the file."""
    if not path.exists() or "\n" + TITLE not in path.read_text(encoding="utf-8"):
        return ""
    return TITLE + path.read_text(encoding="utf-8").split("\n" + TITLE, 1)[1]
