"""Inline SVG charts for report.html, drawn in Python: no JavaScript charting library, no
network, so the page works from file:// and as a mail attachment. Labels are escaped."""

from __future__ import annotations

from collections import Counter
from html import escape

from markupsafe import Markup

WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 560, 230, 44, 28, 26


def similarity_histogram(bins: Counter, threshold: float, label: str) -> Markup:
    """Bars of removals per 0.01 of verified similarity, from just below `threshold` to 1,
    with the threshold drawn as a dashed line."""
    low = min([*bins, int(threshold * 100) - 5])
    low = max(0, low - low % 5)
    slots = list(range(low, 101))
    peak = max(bins.values(), default=1)
    plot_w, plot_h = WIDTH - LEFT - 10, HEIGHT - BOTTOM - TOP
    step = plot_w / len(slots)
    parts = [_axis_y(peak, plot_h)]
    for i, slot in enumerate(slots):
        count = bins.get(slot, 0)
        x = LEFT + i * step
        if count:
            h = max(1.0, plot_h * count / peak)
            tip = f"{slot / 100:.2f}–{min(slot + 1, 100) / 100:.2f}: {count:,} {label}"
            parts.append(f'<rect class="bar" data-bin="{slot / 100:.2f}" data-count="{count}" x="{x + 1:.1f}" '
                         f'y="{TOP + plot_h - h:.1f}" width="{max(step - 2, 1):.1f}" height="{h:.1f}">'
                         f"<title>{escape(tip)}</title></rect>")
        if slot % 5 == 0:
            parts.append(f'<text class="tick" x="{x:.1f}" y="{HEIGHT - 10}" '
                         f'text-anchor="middle">{slot / 100:.2f}</text>')
    tx = LEFT + (threshold * 100 - low) * step
    parts.append(f'<line class="threshold" x1="{tx:.1f}" x2="{tx:.1f}" y1="{TOP - 6}" y2="{TOP + plot_h}"/>'
                 f'<text class="threshold-label" x="{tx:.1f}" y="{TOP - 10}" text-anchor="middle">'
                 f"threshold {threshold:g}</text>")
    return _svg(parts, f"Histogram of verified similarity of {label}")


def _axis_y(peak: int, plot_h: float) -> str:
    base = TOP + plot_h
    return (f'<line class="axis" x1="{LEFT}" x2="{WIDTH - 10}" y1="{base}" y2="{base}"/>'
            f'<text class="tick" x="{LEFT - 6}" y="{TOP + 4}" text-anchor="end">{peak:,}</text>'
            f'<text class="tick" x="{LEFT - 6}" y="{base}" text-anchor="end">0</text>')


def bar_list(items: list[tuple[str, int]], total: int, title: str, width: int = 560) -> Markup:
    """Horizontal bars, one per (label, count), longest first, each with its share of `total`."""
    row, label_w = 26, 170
    peak = max((count for _, count in items), default=1)
    parts = []
    for i, (name, count) in enumerate(items):
        y = 6 + i * row
        w = max(1.0, (width - label_w - 110) * count / peak)
        share = f" ({100 * count / total:.1f}%)" if total else ""
        short = name if len(name) <= 24 else name[:23] + "…"
        parts.append(f'<text class="label" x="{label_w - 8}" y="{y + 15}" text-anchor="end">{escape(short)}'
                     f"<title>{escape(name)}</title></text>"
                     f'<rect class="hbar" data-count="{count}" x="{label_w}" y="{y + 3}" '
                     f'width="{w:.1f}" height="{row - 8}"/>'
                     f'<text class="value" x="{label_w + w + 6:.1f}" y="{y + 15}">{count:,}{share}</text>')
    return _svg(parts, title, height=12 + row * len(items), width=width)


def _svg(parts: list[str], title: str, height: int = HEIGHT, width: int = WIDTH) -> Markup:
    body = "".join(parts)
    return Markup(f'<svg class="chart" viewBox="0 0 {width} {height}" width="100%" role="img" '
                  f'preserveAspectRatio="xMinYMin meet" style="max-width:{width}px">'
                  f"<title>{escape(title)}</title>{body}</svg>")
