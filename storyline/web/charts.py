"""Geometry of the inline SVG charts: the list's sparklines and the story's timeline.

The templates draw the shapes; this module only computes where they go, so the charts
need no script and no external library, and every label passes through Jinja's escaping.
"""

from __future__ import annotations

from dataclasses import dataclass

from storyline.types import TimelineEntry


@dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str  # the tooltip (<title>)
    kind: str = "all"  # css class: "all", "new" or "repeat"


@dataclass
class Chart:
    width: float
    height: float
    bars: list[Bar]
    first: str = ""  # batch names under the two ends of the axis
    last: str = ""
    peak: int = 0


def sparkline(timeline: list[TimelineEntry], batches: list[str], width: float = 96,
              height: float = 22) -> Chart:
    """Arrivals per batch over ``batches`` (the store's latest ones, shared by every line
    of the list so that the lines compare), one bar each, zero where the story had none."""
    width_per_bar = min(16.0, width / max(len(batches), 1))
    counts = {t.batch: t.snippets for t in timeline}
    peak = max((counts.get(b, 0) for b in batches), default=0) or 1
    bars = []
    for i, name in enumerate(batches):
        n = counts.get(name, 0)
        h = max(1.0, height * n / peak) if n else 0.0
        bars.append(Bar(x=i * width_per_bar, y=height - h, width=max(width_per_bar - 1, 1),
                        height=h,
                        label=f"batch {name}: {n} arrival{'s' if n != 1 else ''}"))
    return Chart(width=max(width_per_bar * len(batches), 1), height=height, bars=bars,
                 first=batches[0] if batches else "", last=batches[-1] if batches else "",
                 peak=peak)


def timeline(entries: list[TimelineEntry], batches: list[str], max_bars: int = 60,
             height: float = 120) -> Chart:
    """Stacked bars per batch from the story's first batch to the store's last (the
    latest ``max_bars`` of them): new snippets below, copies and repeats above."""
    counts = {t.batch: t for t in entries}
    first = next((i for i, b in enumerate(batches) if b in counts), 0)
    span = batches[first:][-max_bars:]
    peak = max((counts[b].snippets for b in span if b in counts), default=0) or 1
    step = 600 / max(len(span), 1)
    bar_w = max(step * 0.8, 1)
    bars = []
    for i, name in enumerate(span):
        entry = counts.get(name)
        if entry is None:
            continue
        new_h = height * entry.new / peak
        rest = entry.snippets - entry.new
        rest_h = height * rest / peak
        x = i * step + (step - bar_w) / 2
        label = f"batch {name}: {entry.new} new, {rest} cop{'y' if rest == 1 else 'ies'}"
        if entry.new:
            bars.append(Bar(x=x, y=height - new_h, width=bar_w, height=new_h, label=label,
                            kind="new"))
        if rest:
            bars.append(Bar(x=x, y=height - new_h - rest_h, width=bar_w, height=rest_h,
                            label=label, kind="repeat"))
    return Chart(width=600, height=height, bars=bars, first=span[0] if span else "",
                 last=span[-1] if span else "", peak=peak)
