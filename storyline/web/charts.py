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


# -- stories over time (the list page and `storyline export --format svg`) --------------

PALETTE = ("#0b5cad", "#c2410c", "#1b7f4b", "#7c3aed", "#b91c1c", "#0e7490", "#a16207",
           "#be185d")


@dataclass
class Series:
    story_id: int
    label: str
    colour: str
    points: list[tuple[float, float, int, str]]  # x, y, arrivals, the batch's label


@dataclass
class Overview:
    width: float
    height: float
    peak: int
    series: list[Series]
    ticks: list[tuple[float, str]]  # x, label (the batch's date, or its name)


def _tick_label(name: str, clock: str | None) -> str:
    return clock[:10] if clock else name


def overview(stories: list, batches: list, max_batches: int = 60, width: float = 640,
             height: float = 160) -> Overview:
    """Arrivals per batch of each of ``stories`` (``StorySummary``, biggest first) over the
    store's latest ``batches`` (``BatchRow``, in order): a line per story, like a
    topics-over-time chart, with the batches' dates (their clock) on the axis."""
    span = batches[-max_batches:]
    step = width / max(len(span) - 1, 1)
    peak = max((t.snippets for s in stories for t in s.batches), default=0) or 1
    index = {b.name: i for i, b in enumerate(span)}
    series = []
    for n, story in enumerate(stories):
        counts = {t.batch: t.snippets for t in story.batches}
        points = [(index[b.name] * step, height - height * counts.get(b.name, 0) / peak,
                   counts.get(b.name, 0), _tick_label(b.name, b.clock)) for b in span]
        label = story.headline if len(story.headline) <= 48 else story.headline[:47] + "…"
        series.append(Series(story.id, label, PALETTE[n % len(PALETTE)], points))
    picks = sorted({0, len(span) // 2, len(span) - 1}) if span else []
    ticks = [(i * step, _tick_label(span[i].name, span[i].clock)) for i in picks]
    return Overview(width=width, height=height, peak=peak, series=series, ticks=ticks)


def overview_svg(chart: Overview, title: str = "Stories over time",
                 standalone: bool = True) -> str:
    """The chart as SVG (labels escaped): a document for export, with its legend, or
    (``standalone`` False: no namespace, no legend) an element inside a page, which
    lists the stories as text that stays readable when the chart shrinks to a phone."""
    from html import escape

    legend_h = 16 * len(chart.series) if standalone else 0
    w, h = chart.width, chart.height
    xmlns = ' xmlns="http://www.w3.org/2000/svg"' if standalone else ""
    parts = [f'<svg{xmlns} class="overview" '
             f'viewBox="-30 -24 {w + 60} {h + 50 + legend_h}" role="img" '
             f'aria-label="{escape(title)}" font-family="sans-serif" font-size="11">',
             f'<title>{escape(title)}</title>',
             f'<text x="-30" y="-10" fill="#5f6b73">{chart.peak} '
             f'arrival{"" if chart.peak == 1 else "s"}</text>',
             f'<line x1="0" y1="{h}" x2="{w}" y2="{h}" stroke="#d9dee2"/>']
    for x, label in chart.ticks:
        anchor = "end" if x >= w - 1 and x > 0 else ("start" if x == 0 else "middle")
        parts.append(f'<text class="tick" x="{x:.1f}" y="{h + 15}" text-anchor="{anchor}" '
                     f'fill="#5f6b73">{escape(label)}</text>')
    for k, s in enumerate(chart.series):
        points = " ".join(f"{x:.1f},{y:.1f}" for x, y, _, _ in s.points)
        dots = "".join(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{s.colour}">'
                       f'<title>{escape(s.label)}: {n} in {escape(when)}</title></circle>'
                       for x, y, n, when in s.points if n)
        parts.append(f'<g class="series" data-story="{s.story_id}">'
                     f'<polyline points="{points}" fill="none" stroke="{s.colour}" '
                     f'stroke-width="2"/>{dots}</g>')
        if not standalone:
            continue
        y = h + 34 + 16 * k
        parts.append(f'<rect x="0" y="{y - 9}" width="10" height="10" fill="{s.colour}"/>'
                     f'<text x="16" y="{y}">{escape(s.label)}</text>')
    parts.append("</svg>")
    return "\n".join(parts)
