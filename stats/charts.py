"""The statistics page's charts, drawn here as SVG on the server: no script, no library, no
CDN. Each chart is an <svg role="img"> with a <title> and a text summary; the tables beside
it hold the same figures for screen readers and for copying."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

# Colours from the app's palette (static/app.css), legible on white (WCAG non-text contrast).
COLOURS = ("#0969da", "#bf8700", "#cf222e", "#1a7f37", "#8250df")


@dataclass(frozen=True)
class Bar:
    label: str  # under the bar (a year, a name)
    parts: tuple[int, ...]  # stacked from the bottom, in the order of the legend


def _nice_top(value: int) -> int:
    """A round axis maximum ≥ value (1, 2, 5 × 10ⁿ)."""
    if value <= 5:
        return max(value, 1)
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return step * factor
        step *= 10


def stacked_bars(title: str, bars: Sequence[Bar], legend: Sequence[str], *, width: int = 420,
                 height: int = 220) -> Markup:
    """Vertical stacked bars with a y axis of whole numbers, a legend, and the value on each bar."""
    left, right, top, bottom = 40, 10, 28, 36
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = _nice_top(max((sum(b.parts) for b in bars), default=0))
    slot = plot_w / max(len(bars), 1)
    bar_w = min(48.0, slot * 0.6)
    summary = "; ".join(f"{b.label}: " + ", ".join(f"{name} {v}" for name, v in zip(legend, b.parts)) for b in bars)
    out = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
           f'xmlns="http://www.w3.org/2000/svg" preserveAspectRatio="xMidYMid meet">',
           f"<title>{escape(title)}</title><desc>{escape(summary)}</desc>"]
    for i in range(5):  # grid lines and their labels
        value = peak * i / 4
        y = top + plot_h - plot_h * i / 4
        out.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#d0d7de"/>')
        label = f"{value:g}" if value == int(value) else ""
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" fill="#57606a">{label}</text>')
    for index, bar in enumerate(bars):
        x = left + slot * index + (slot - bar_w) / 2
        base = top + plot_h
        for part, value in enumerate(bar.parts):
            if not value:
                continue
            h = plot_h * value / peak
            base -= h
            out.append(f'<rect x="{x:.1f}" y="{base:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                       f'fill="{COLOURS[part % len(COLOURS)]}"><title>{escape(bar.label)} {escape(legend[part])}: '
                       f'{value}</title></rect>')
        total = sum(bar.parts)
        out.append(f'<text x="{x + bar_w / 2:.1f}" y="{base - 4:.1f}" text-anchor="middle" font-size="11" '
                   f'fill="#24292f">{total}</text>')
        out.append(f'<text x="{x + bar_w / 2:.1f}" y="{height - bottom + 16}" text-anchor="middle" font-size="12" '
                   f'fill="#24292f">{escape(bar.label)}</text>')
    x = left
    for part, name in enumerate(legend):  # the legend, top left
        out.append(f'<rect x="{x}" y="8" width="12" height="12" fill="{COLOURS[part % len(COLOURS)]}"/>')
        out.append(f'<text x="{x + 16}" y="18" font-size="12" fill="#24292f">{escape(name)}</text>')
        x += 24 + 13 * len(name)
    out.append("</svg>")
    return Markup("".join(out))


def horizontal_bars(title: str, items: Sequence[tuple[str, float]], *, unit: str = "", width: int = 420,
                    row: int = 24) -> Markup:
    """One bar per item, longest first as given, the value written at its end."""
    label_w, right = 110, 60
    height = row * max(len(items), 1) + 10
    peak = max((v for _, v in items), default=0) or 1
    summary = "; ".join(f"{name}: {value:g}{unit}" for name, value in items)
    out = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
           f'xmlns="http://www.w3.org/2000/svg" preserveAspectRatio="xMidYMid meet">',
           f"<title>{escape(title)}</title><desc>{escape(summary)}</desc>"]
    for index, (name, value) in enumerate(items):
        y = 5 + index * row
        w = (width - label_w - right) * value / peak
        out.append(f'<text x="{label_w - 8}" y="{y + row * 0.65:.1f}" text-anchor="end" font-size="12" '
                   f'fill="#24292f">{escape(name)}</text>')
        out.append(f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row - 8}" fill="{COLOURS[0]}"/>')
        out.append(f'<text x="{label_w + w + 6:.1f}" y="{y + row * 0.65:.1f}" font-size="12" '
                   f'fill="#24292f">{value:g}{escape(unit)}</text>')
    out.append("</svg>")
    return Markup("".join(out))
