"""``storyline export``: the whole store as a Markdown briefing, JSON, a table (CSV,
Parquet, a row per snippet) or a chart (SVG, PNG).

Exports stream a story at a time, all read in one snapshot of the store: memory holds
one story, not the store (built whole, the CSV of a 2 M-arrival store took 2.9 GB). A
file is written beside its target and renamed over it once whole, so an export that
fails or is stopped leaves the target as it was, never a partial file.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from storyline.errors import UsageError
from storyline.outfile import replacing

EXPORT_FORMATS = ("md", "json", "csv", "parquet", "svg", "png")
OVERVIEW_STORIES = 8  # lines on the stories-over-time chart
TABLE_COLUMNS = ("story_id", "headline", "status", "size", "copies", "sources",
                 "first_batch", "last_batch", "snippet_id", "batch", "source", "url",
                 "published_at", "copy_count", "text")
_INTEGERS = ("story_id", "size", "copies", "sources", "snippet_id", "copy_count")
_FORMULA = re.compile(r"^[=+\-@\t\r]")
_NUMBER = re.compile(r"^[+-]?\d[\d,.]*%?$")
PARQUET_ROWS = 50_000  # rows a Parquet row group holds before it is written out
PROGRESS_EVERY = 100  # stories between two progress calls
Progress = Callable[[str, int, int], None]


def story_rows(story: Any) -> list[dict[str, Any]]:
    """One row per snippet of a story (``StoryDetail``), for a table."""
    return [{
        "story_id": story.id, "headline": story.headline, "status": story.status,
        "size": story.size, "copies": story.copies, "sources": story.sources,
        "first_batch": story.first_batch, "last_batch": story.last_batch,
        "snippet_id": s.snippet_id, "batch": s.batch, "source": s.source,
        "url": s.url, "published_at": s.published_at, "copy_count": len(s.copies),
        "text": s.text,
    } for s in story.snippets]


def _csv_safe(value: Any) -> Any:
    """A text a spreadsheet would run as a formula (``=HYPERLINK(…)``, ``+…``, ``@…``)
    starts with ``'`` (OWASP's advice); a number stays as it is."""
    if isinstance(value, str) and _FORMULA.match(value) and not _NUMBER.match(value):
        return "'" + value
    return value


def csv_chunks(sl: Any, progress: Progress | None = None) -> Iterator[str]:
    """The table as CSV, a story's rows at a time (the header first)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=TABLE_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for story in details(sl, progress):
        writer.writerows({k: _csv_safe(v) for k, v in row.items()} for row in story_rows(story))
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


def json_chunks(sl: Any, progress: Progress | None = None) -> Iterator[str]:
    """``{"counts": …, "stories": [...]}`` as ``shapes.dumps`` writes it, a story at a
    time (each indented to its place in the list)."""
    from storyline.shapes import plain

    with sl.store.snapshot():
        counts = json.dumps(plain(sl.store.counts()), ensure_ascii=False, indent=2)
        yield '{\n  "counts": ' + counts.replace("\n", "\n  ") + ',\n  "stories": ['
        first = True
        for story in details(sl, progress):
            text = json.dumps(plain(story), ensure_ascii=False, indent=2)
            yield ("\n    " if first else ",\n    ") + text.replace("\n", "\n    ")
            first = False
        yield "]\n}" if first else "\n  ]\n}"


def markdown_chunks(sl: Any, progress: Progress | None = None) -> Iterator[str]:
    """A briefing: every story with its summary, timeline, sources and snippets (their
    text escaped: it is the outlets', not markup), a story at a time."""
    with sl.store.snapshot():
        counts = sl.store.counts()
        yield (f"# Briefing\n\n{counts['stories']} stories from {counts['snippets']} "
               f"snippets ({counts['copies']} arrivals) in {counts['batches']} batches.\n")
        for story in details(sl, progress):
            yield briefing_story(story)


def briefing_story(story: Any) -> str:
    """One story (``StoryDetail``) of the Markdown briefing."""
    from storyline.views import md_text, sources_line

    timeline = ", ".join(f"{md_text(t.batch)}: {t.snippets}" for t in story.batches)
    parts = [f"## {md_text(story.headline)}",
             f"*Story {story.id} — {story.size} snippets, {story.copies} arrivals, "
             f"batches {timeline}*"]
    if story.summary and story.size > 1:
        parts.append(md_text(story.summary))
    if story.source_counts:
        parts.append(md_text(sources_line(story.source_counts)))
    parts.append("\n".join(
        f"- \\[{md_text(s.batch)}\\] {md_text(s.text)}"
        + (f" ×{len(s.copies)}" if len(s.copies) > 1 else "") for s in story.snippets))
    return "\n" + "\n\n".join(parts) + "\n"


def details(sl: Any, progress: Progress | None = None) -> Iterator[Any]:
    """Every story's detail (``StoryDetail``) in the story list's order, in one snapshot;
    ``progress("export", done, total)`` every PROGRESS_EVERY stories and at the end."""
    with sl.store.snapshot():
        summaries = sl.stories()
        for done, summary in enumerate(summaries, 1):
            yield sl.story(summary.id)
            if progress is not None and (done % PROGRESS_EVERY == 0 or done == len(summaries)):
                progress("export", done, len(summaries))


def write_parquet(sl: Any, path: Path, progress: Progress | None = None) -> None:
    """The table as Parquet, in row groups of up to PARQUET_ROWS rows."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise UsageError("--format parquet needs pyarrow: pip install 'storyline[export]' "
                         "(or pyarrow); csv needs nothing") from None
    schema = pa.schema([(c, pa.int64() if c in _INTEGERS else pa.string())
                        for c in TABLE_COLUMNS])
    with replacing(path, binary=True) as fh, pq.ParquetWriter(fh, schema) as writer:
        rows: list[dict[str, Any]] = []
        for story in details(sl, progress):
            rows.extend(story_rows(story))
            if len(rows) >= PARQUET_ROWS:
                writer.write_table(pa.Table.from_pylist(rows, schema=schema))
                rows = []
        if rows:
            writer.write_table(pa.Table.from_pylist(rows, schema=schema))


def overview_svg(sl: Any, top: int = OVERVIEW_STORIES) -> str:
    """The stories-over-time chart of a store (``Storyline``) as an SVG document."""
    from storyline.web.charts import overview
    from storyline.web.charts import overview_svg as render

    return render(overview(sl.stories(limit=top), sl.store.batches()))


def write_png(svg: str, path: Path) -> None:
    try:
        import cairosvg
    except ImportError:
        raise UsageError("--format png needs cairosvg: pip install 'storyline[export]' "
                         "(or use --format svg)") from None
    png = cairosvg.svg2png(bytestring=svg.encode("utf-8"), output_width=1200)
    with replacing(path, binary=True) as fh:
        fh.write(png)


def export(sl: Any, fmt: str, output: Path | None, stdout: IO[str],
           progress: Progress | None = None) -> None:
    """The store (``Storyline``) as ``fmt``, written to ``output`` or, where it is None,
    to ``stdout`` (parquet and png are binary: they need ``output``); ``progress`` is
    told of the stories written."""
    if fmt not in EXPORT_FORMATS:
        raise UsageError(f"unknown export format {fmt!r}: {', '.join(EXPORT_FORMATS)}")
    if fmt in ("parquet", "png") and output is None:
        raise UsageError(f"--format {fmt} writes a binary file: give --out FILE")
    if fmt == "parquet":
        write_parquet(sl, output, progress)
        return
    if fmt == "png":
        write_png(overview_svg(sl), output)
        return
    chunks = {"md": markdown_chunks, "json": json_chunks, "csv": csv_chunks}.get(fmt)
    texts = chunks(sl, progress) if chunks else iter([overview_svg(sl)])
    if output is None:
        _write_lines(texts, stdout)
        return
    with replacing(output) as fh:
        _write_lines(texts, fh)


def _write_lines(texts: Iterator[str], fh: IO[str]) -> None:
    """The chunks, ending with one newline. A write that fails (a reader gone: ``| head``)
    closes the chunks' generator now, while the store is open: left to the garbage
    collector, its snapshot would end on a closed store, a traceback on standard error."""
    last = ""
    try:
        for text in texts:
            if text:
                fh.write(text)
                last = text
        if not last.endswith("\n"):
            fh.write("\n")
    finally:
        close = getattr(texts, "close", None)
        if close is not None:
            close()
