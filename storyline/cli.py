"""The ``storyline`` command: a thin layer over :mod:`storyline.api` and :mod:`storyline.jobs`."""

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from typer.core import TyperGroup

from storyline import cli_support, shapes
from storyline.cli_support import STATE, LazyConsole, LineProgress, escape
from storyline.config import db_location, preset
from storyline.errors import InputError, NotFoundError, StorylineError, UsageError
from storyline.options import (
    DbOption,
    EncodingOption,
    FastOption,
    JsonOption,
    ModelOption,
    PresetOption,
    WindowOption,
)
from storyline.outfile import refuse_overwrite, replacing, write_text
from storyline.shapes import MAX_COUNT, MAX_ID

cli_support.tidy_help()

# Lines a pipe gets whole; no highlighting (rich's guesses are noise, 0.1 s a page).
out = LazyConsole(soft_wrap=True, highlight=False)
err = LazyConsole(stderr=True)


class ReportingGroup(TyperGroup):
    """The one place errors are reported: ``error: MESSAGE`` on one line, exit with its
    ``exit_code`` (docs/cli.md lists them); no traceback reaches a user."""

    def invoke(self, ctx: typer.Context):
        try:
            return super().invoke(ctx)
        except Exception as exc:
            if cli_support.reader_gone(exc):  # `| head` read what it wanted: a quiet end
                raise typer.Exit(cli_support.PIPE_CLOSED_EXIT) from None
            code, message = cli_support.error_report(exc)  # or raised again, as it must be
        err.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
        raise typer.Exit(code) from None


app = typer.Typer(cls=ReportingGroup,
    help="storyline turns streams of news snippets into stories: ingest batches, collapse "
    "duplicates, cluster stories online, describe them, and serve them.",
    no_args_is_help=True, add_completion=True, rich_markup_mode=None,
)
eval_app = typer.Typer(help="Score clusterings against gold labels.", no_args_is_help=True)
app.add_typer(eval_app, name="eval")
from storyline.models.commands import models_app  # noqa: E402

app.add_typer(models_app, name="models")
from storyline.spark.cli import spark_app  # noqa: E402  (imports no Spark until a command runs)

app.add_typer(spark_app, name="spark")


def _print_version(value: bool) -> None:
    if value:
        out.print(f"storyline {cli_support.package_version()}")
        raise typer.Exit()


@app.callback()
def _global_options(
    version: Annotated[bool, typer.Option("--version", is_eager=True, callback=_print_version,
                                          help="Print the version and exit.")] = False,
    db: DbOption = None,
    verbose: Annotated[int, typer.Option("--verbose", "-v", count=True, show_default=False,
                                         help="More log lines (-vv: debug).")] = 0,
    quiet: Annotated[int, typer.Option("--quiet", "-q", count=True, show_default=False,
                                       help="Fewer log lines: errors only.")] = 0,
) -> None:
    """storyline turns streams of news snippets into stories: ingest batches, collapse
    duplicates, cluster stories online, describe them, and serve them."""
    STATE.db = db  # a command's own --db wins
    cli_support.set_log_level(verbose, quiet)


def _open(db: str | Path | None, preset_name: str | None = None, model: str | None = None,
          must_exist: bool = True):
    from storyline.api import Storyline
    from storyline.store import is_url

    path = cli_support.db_path(db)
    try:  # a read makes no file and no tables
        sl = Storyline(path, preset_name, model=model, create=not must_exist)
    except NotFoundError:
        raise cli_support.no_store(path) from None
    # On a server, asked on the connection the command goes on with (not a second one).
    if must_exist and is_url(path) and not sl.store.batches():
        sl.close()
        raise cli_support.no_store(path)
    return sl


def _print_json(obj) -> None:
    """One shape per object, the HTTP API's (storyline/shapes.py)."""
    sys.stdout.write(shapes.dumps(obj) + "\n")


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Batch files, or folders of them "
                                                "(a folder's files are batches in name order); "
                                                "- reads standard input.")],
    db: DbOption = None,
    fmt: Annotated[Optional[str], typer.Option("--format", help="text, jsonl or csv "
                                               "[default: from the file suffix]")] = None,
    batch: Annotated[Optional[str], typer.Option(help="Batch name [default: the file name up to "
                                                 "its first _ or .]")] = None,
    text_column: Annotated[Optional[str], typer.Option(help="CSV column with the text.")] = None,
    id_column: Annotated[Optional[str], typer.Option(help="CSV column with the id.")] = None,
    source_column: Annotated[Optional[str], typer.Option(help="CSV column with the source.")
                             ] = None,
    url_column: Annotated[Optional[str], typer.Option(help="CSV column with the url.")] = None,
    time_column: Annotated[Optional[str], typer.Option(help="CSV column with published_at.")
                           ] = None,
    title_column: Annotated[Optional[str], typer.Option(help="CSV column with the title.")
                            ] = None,
    batch_column: Annotated[Optional[str], typer.Option(help="CSV column with the batch.")
                            ] = None,
    skip_bad: Annotated[bool, typer.Option("--skip-bad", help="Skip bad records, counted by "
                                           "reason, instead of stopping.")] = False,
    window: WindowOption = None,
    encoding: EncodingOption = None,
    preset_name: PresetOption = None,
    model: ModelOption = None,
    fast: FastOption = False,
    as_json: JsonOption = False,
    server: Annotated[Optional[str], typer.Option(
        envvar="STORYLINE_SERVER", show_envvar=True, metavar="URL",
        help="Hand the batches to a running `storyline serve` at URL (its store, preset "
             "and loaded models; read and checked here first).")] = None,
    token: Annotated[Optional[str], typer.Option(
        envvar="STORYLINE_TOKEN", show_envvar=True,
        help="With --server: the server's token. Prefer the environment variable.")] = None,
    max_body_mb: Annotated[float, typer.Option(
        help="With --server: the largest batch to send, in MiB (as the server's "
             "--max-body-mb).", min=0.001)] = 20.0,
) -> None:
    """Ingest batches, in order, streamed. A batch is written in transactions of up to
    10,000 records: a stopped ingest, run again, goes on where it stopped; a batch
    already in the store is a no-op. With --server, a running server ingests them: a
    process per batch (cron) then pays no model load."""
    columns = {k: v for k, v in {"text": text_column, "id": id_column, "source": source_column,
                                 "url": url_column, "published_at": time_column,
                                 "title": title_column, "batch": batch_column}.items() if v}
    options = dict(fmt=fmt, batch=batch, columns=columns or None, skip_bad=skip_bad,
                   encoding=encoding)
    warnings = cli_support.Warnings(err)
    try:
        if server:
            cli_support.refuse_local_options(db=db, preset=preset_name, model=model, fast=fast)
            reports = _ingest_on_server(paths, server, token, window, warnings, as_json,
                                        max_body_mb=max_body_mb, **options)
        else:
            sl = _open(db, "fast" if fast else preset_name, model, must_exist=False)
            try:
                reports = _ingest_here(sl, paths, window, warnings, as_json, **options)
            finally:
                sl.close()
    except InputError as exc:
        raise InputError(exc.origin, exc.line, f"{exc.message} (fix it and run the same "
                         "command again: what was stored stays; or skip bad records with "
                         "--skip-bad)") from None
    finally:
        warnings.close()
    _ingest_summary(reports, skip_bad, as_json)


def _ingest_here(sl, paths: list[Path], window: str | None, warnings, as_json: bool,
                 **options):
    shown = not (as_json or STATE.quiet)
    bars = cli_support.Bars(err.console(), enabled=shown and err.is_terminal)
    lines = LineProgress() if shown and not err.is_terminal else None
    with bars.progress:
        return sl.ingest(*paths, window=window, progress=lines or bars, on_warning=warnings,
                         on_skipped=warnings.note, **options)


def _ingest_on_server(paths: list[Path], server: str, token: str | None,
                      window: str | None, warnings, as_json: bool, **options):
    """``ingest --server``: the files read here, the batches ingested by the server (a
    line for each as it is done, on a terminal)."""
    from storyline.pipeline.window import parse_window
    from storyline.remote import ingest_remote

    def done(report) -> None:  # as it happens: a later failure leaves these stored
        if not as_json:
            err.print(f"batch {escape(report.batch)}: ingested by the server", highlight=False)

    return ingest_remote(paths, server, token=token,
                         window=parse_window(window) if window else None, on_batch=done,
                         on_warning=warnings, on_skipped=warnings.note, **options)


def _ingest_summary(reports, skip_bad: bool, as_json: bool) -> None:
    """The reports; with --skip-bad, what was skipped and one line counting it by reason
    (exit 1 when nothing at all was ingested)."""
    from storyline.pipeline.batches import skip_summary

    skipped = [e for r in reports for e in r.skipped_bad]
    if as_json:
        _print_json(shapes.ingest_result(reports))
    else:
        for line in filter(None, map(cli_support.ingest_line, reports)):
            out.print(line)
    for problem in skipped[:20]:
        err.print(f"[yellow]skipped:[/] {escape(problem)}", soft_wrap=True)
    if skipped:
        err.print(escape(skip_summary(skipped)), highlight=False, soft_wrap=True)
    if skip_bad and not any(r.records for r in reports):
        raise StorylineError("nothing was ingested: every record was bad (see above)")


@app.command()
def stories(
    db: DbOption = None,
    batch: Annotated[Optional[str], typer.Option(help="Only stories with news in this batch.")
                     ] = None,
    status: Annotated[Optional[str], typer.Option(help="active or dormant.", metavar="STATUS")
                      ] = None,
    text: Annotated[Optional[str], typer.Option(help="Only stories whose headline or summary "
                                                "holds this text.")] = None,
    limit: Annotated[int, typer.Option(help="How many.", min=1, max=MAX_COUNT)] = 50,
    offset: Annotated[int, typer.Option(help="Skip this many.", min=0, max=MAX_COUNT)] = 0,
    min_size: Annotated[int, typer.Option(help="Only stories of at least this many snippets.")
                        ] = 1,
    as_json: JsonOption = False,
) -> None:
    """Stories, biggest first: id, headline, size, outlets, batches."""
    from storyline.config import dormancy
    from storyline.views import story_page

    batch, text = batch or None, text or None  # empty: no filter (as GET /api/stories)
    if status not in (None, "active", "dormant"):
        raise UsageError(f"unknown status {status!r}: active or dormant")
    with _open(db) as sl:
        page = story_page(sl.store, batch=batch, status=status, text=text, limit=limit,
                          offset=offset, min_size=min_size, dormancy=dormancy(sl.config))
    rows = page.stories
    if as_json:
        _print_json(shapes.story_list(page.total, limit, offset, rows))
        return
    table = cli_support.table()
    for name in ("id", "size", "copies", "outlets", "batches", "status"):
        table.add_column(name, no_wrap=True)
    table.add_column("headline")
    for s in rows:
        spark = cli_support.batch_span(s.batches)
        headline = s.headline if len(s.headline) <= 60 else s.headline[:59] + "…"
        table.add_row(str(s.id), str(s.size), str(s.copies), str(s.sources or ""), spark, s.status,
                      escape(headline))
    out.print(table)
    _more(page.total, limit, offset, len(rows))


@app.command()
def show(
    story: Annotated[int, typer.Argument(help="Story id (an id merged away resolves to its "
                                         "story).", min=1, max=MAX_ID)],
    db: DbOption = None,
    limit: Annotated[int, typer.Option(help="How many snippets.", min=1, max=MAX_COUNT)
                     ] = shapes.SNIPPETS_PAGE,
    offset: Annotated[int, typer.Option(help="Skip this many snippets.", min=0, max=MAX_COUNT)
                      ] = 0,
    as_json: JsonOption = False,
) -> None:
    """One story: headline, summary, timeline, sources, a page of snippets with copies."""
    from storyline.views import sources_line

    with _open(db) as sl:
        detail = sl.story(story)
    if as_json:
        return _print_json(shapes.story(detail, None, limit, offset))
    if detail.id != story:
        out.print(f"[dim]story {story} was merged into story {detail.id}[/]")
    out.print(f"[bold]{escape(detail.headline)}[/]  (story {detail.id}, {detail.status})")
    out.print()
    out.print(escape(detail.summary))
    out.print()
    out.print("Timeline: " + ", ".join(f"batch {t.batch}: {t.snippets} arrivals, {t.new} new"
                                       for t in detail.batches))
    if detail.source_counts:
        out.print(escape(sources_line(detail.source_counts)))
    if detail.merged_from:
        out.print("Merged from: " + ", ".join(map(str, detail.merged_from)))
    total = len(detail.snippets)
    out.print(f"Snippets {min(offset + 1, total)}–{min(offset + limit, total)} of {total}:")
    for s in shapes.page_of(detail.snippets, limit, offset):
        marks = "" if s.novel else " [dim](nothing new)[/]"
        cut = " [dim](truncated)[/]" if s.truncated else ""
        lines = [f"[cyan]{s.batch}[/] #{s.snippet_id}{marks}{cut} {escape(s.text)}"]
        lines += [f"      [dim]{c.kind} copy #{c.copy_id} in batch {c.batch}"
                  f"{' from ' + escape(c.source) if c.source else ''}[/]" for c in s.copies[1:]]
        out.print("\n".join(lines))


@app.command()
def changes(
    batch_name: Annotated[Optional[str], typer.Argument(metavar="BATCH",
                                                        help="The batch to report on.")] = None,
    batch: Annotated[Optional[str], typer.Option("--batch", help="The same, as an option.")
                     ] = None,
    db: DbOption = None,
    limit: Annotated[int, typer.Option(help="How many stories (most new snippets first).",
                                       min=1, max=MAX_COUNT)] = 50,
    offset: Annotated[int, typer.Option(help="Skip this many stories.", min=0, max=MAX_COUNT)
                      ] = 0,
    as_json: JsonOption = False,
) -> None:
    """What is new in a batch, per story: new snippets, and repeats of what was known."""
    from storyline.views import changes_page

    name = batch_name or batch
    if name is None:
        raise UsageError("which batch? storyline changes BATCH (see storyline batches)")
    with _open(db) as sl:
        page = changes_page(sl.store, name, limit, offset)
    if as_json:
        _print_json(shapes.batch_changes(page, limit, offset))
        return
    for ch in page.changes:
        tag = "new story" if ch.new_story else f"story {ch.story_id}"
        lines = [f"[bold]{escape(ch.headline)}[/] ({tag}, id {ch.story_id})"]
        lines += [f"  [green]new[/]      {escape(s.text)}" for s in ch.new]
        lines += [f"  [dim]repeated {escape(s.text)}[/]" for s in ch.repeated]
        out.print("\n".join(lines) + "\n")  # one print a story: rich's cost is per call
    _more(page.total, limit, offset, len(page.changes))


def _more(total: int, limit: int, offset: int, shown: int) -> None:
    if line := cli_support.more_line(total, limit, offset, shown):
        err.print(line, highlight=False, soft_wrap=True)


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="Words or a question.")],
    db: DbOption = None,
    limit: Annotated[int, typer.Option(help="How many stories.", min=1, max=MAX_COUNT)] = 20,
    offset: Annotated[int, typer.Option(help="Skip this many stories.", min=0, max=MAX_COUNT)
                      ] = 0,
    as_json: JsonOption = False,
) -> None:
    """Find stories: keyword (full text) and semantic (embedding) search, fused."""
    if not query:  # as GET /api/search?q= is refused (422)
        raise UsageError("an empty query: give words or a question")
    with _open(db) as sl:
        hits = sl.search(query, limit, offset=offset)
    if as_json:
        return _print_json(shapes.search_result(query, limit, hits, offset))
    if not hits:
        return out.print(f"No match for {query!r}.", highlight=False)
    table = cli_support.table("story", "headline", "matching snippet", "score")
    for h in hits:
        table.add_row(str(h.story_id), escape(h.headline), escape(h.text), f"{h.score:.3f}")
    out.print(table)


@app.command()
def export(
    fmt: Annotated[str, typer.Option("--format", help="md (a briefing), json (every story), "
                                     "csv or parquet (a row per snippet), svg or png (stories "
                                     "over time).")] = "md",
    db: DbOption = None,
    output: Annotated[Optional[Path], typer.Option("--out", help="File to write [default: "
                                                   "standard output; parquet and png need "
                                                   "one].")] = None,
) -> None:
    """All stories: a Markdown briefing, JSON, a table (CSV, Parquet) or a chart (SVG, PNG)."""
    from storyline.exports import export as write_export

    refuse_overwrite(output, "--out", cli_support.db_path(db))
    shown = not STATE.quiet
    bars = cli_support.Bars(err.console(), enabled=shown and err.is_terminal)
    lines = LineProgress() if shown and not err.is_terminal else None
    with _open(db) as sl, bars.progress:
        write_export(sl, fmt, output, sys.stdout, progress=lines or bars)
    if output is not None:
        err.print(f"wrote {output}")


@app.command()
def batches(db: DbOption = None, as_json: JsonOption = False) -> None:
    """The batches in the store, in ingestion order."""
    with _open(db) as sl:
        rows = sl.store.batches()
    if as_json:
        return _print_json(shapes.batch_list(rows))
    # "latest date": the newest published_at of its records, the clock dormancy counts by.
    table = cli_support.table("batch", "order", "records", "latest date", "ingested",
                              "from")
    for b in rows:
        table.add_row(escape(b.name), str(b.seq), str(b.records), b.clock or "",
                      b.ingested_at, escape(b.origin or "")
                      + (f" (continues {escape(b.continues)})" if b.continues else ""))
    out.print(table)


@app.command()
def check(db: DbOption = None, as_json: JsonOption = False) -> None:
    """Check the store's consistency and its stream statistics (exit 1 on a problem); say
    what a stopped run left to finish."""
    with _open(db) as sl:
        problems, notes = sl.check()
        counts = sl.store.counts()
    if as_json:
        _print_json(shapes.check_result(counts, problems))
        if problems:
            raise typer.Exit(1)
        return
    out.print(", ".join(f"{v} {k}" for k, v in counts.items()))
    for p in problems:
        err.print(f"[red]problem:[/] {p}", soft_wrap=True)
    for n in notes:
        err.print(f"[yellow]to finish:[/] {n}", soft_wrap=True)
    if problems:
        raise typer.Exit(1)
    out.print("consistent")


@app.command("copy")
def copy_command(
    source: Annotated[str, typer.Option("--from", help="The store to copy: a file or a "
                                        "postgresql:// URL.")],
    target: Annotated[str, typer.Option("--to", help="A new or empty store: a file or a "
                                        "postgresql:// URL.")],
) -> None:
    """Copy a whole store into a new one: SQLite to PostgreSQL, back, or file to file."""
    from storyline.copy import copy_store

    counts = copy_store(db_location(source), db_location(target))
    out.print(", ".join(f"{v} {k}" for k, v in counts.items()) + " copied")


@app.command()
def cluster(
    input_path: Annotated[Path, typer.Argument(metavar="IN.jsonl", help="Items: id, text, "
                                               "optional batch, source, url, published_at, "
                                               "title.")],
    output: Annotated[Path, typer.Option("--out", help="OUT.jsonl: id, story, duplicate_of "
                                         "per item, in input order.")],
    db: Annotated[Optional[str], typer.Option("--db", help="Store to use (a file or a "
                                              "postgresql:// URL) [default: a fresh "
                                              "temporary one]")] = None,
    preset_name: PresetOption = None,
    model: ModelOption = None,
    fast: FastOption = False,
    window: WindowOption = None,
    encoding: EncodingOption = None,
) -> None:
    """Cluster a JSONL file online, batch after batch (evaluation interface); --window
    cuts it into batches by published_at instead of its ``batch`` fields."""
    from storyline.jobs import cluster_records
    from storyline.pipeline.window import parse_window, windowed

    refuse_overwrite(output, "--out", input_path, db_location(db) if db else None)
    records = cli_support.read_items(input_path, encoding)
    if window:
        records = list(windowed(records, parse_window(window), "w"))
    from storyline.store import store_exists

    if not fast and preset_name is None and db is not None and store_exists(db_location(db)):
        with _open(db, model=model) as sl:  # a kept store goes on as it was built
            config = sl.config
    else:
        config = preset("fast" if fast else preset_name or "default", model=model)
    bars = cli_support.Bars(err.console(), enabled=err.is_terminal and not STATE.quiet)
    with bars.progress:
        rows = cluster_records(records, config, db_location(db) if db else None,
                               progress=bars)
    with replacing(output) as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    stories_n = len({r["story"] for r in rows})
    dups = sum(r["duplicate_of"] is not None for r in rows)
    err.print(f"{len(rows)} items → {stories_n} stories, {dups} duplicates; wrote {output}")


@app.command()
def summarize(
    input_path: Annotated[Path, typer.Argument(metavar="IN.jsonl", help="A story's items.")],
    output: Annotated[Path, typer.Option("--out", help="OUT.json")],
    words: Annotated[int, typer.Option("--words", help="At most this many words each.",
                                       min=1, max=10_000)] = 100,
    query: Annotated[Optional[str], typer.Option("--query", help="Focus on this question.")
                     ] = None,
    preset_name: PresetOption = None,
    model: ModelOption = None,
) -> None:
    """Summary and update summary per batch of one story (evaluation interface)."""
    from storyline.jobs import summarize_records

    refuse_overwrite(output, "--out", input_path)
    records = cli_support.read_items(input_path)
    config = preset(preset_name or "default", model=model)
    result = summarize_records(records, config, words, query)
    write_text(output, json.dumps({"batches": result}, ensure_ascii=False, indent=2) + "\n")
    err.print(f"{len(result)} batches summarised; wrote {output}")


@app.command()
def facts(
    target: Annotated[str, typer.Argument(metavar="STORY|IN.jsonl", help="A story id, or a "
                                          "JSONL file of items (id, text) for per-snippet facts.")],
    output: Annotated[Optional[Path], typer.Option("--out", help="OUT.jsonl: a fact a line "
                                                   "[default: standard output].")] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Facts: quantities, who said it, corroboration and contradiction."""
    from storyline.pipeline.facts import FactExtractor

    if not (target.isascii() and target.isdigit()):  # "²" is a digit, no story id
        refuse_overwrite(output, "--out", Path(target))
        items = cli_support.read_fact_items(Path(target))
        extracted = FactExtractor().extract_many([text for _, text in items])
        lines = (json.dumps(f.to_json(item_id), ensure_ascii=False) + "\n"
                 for (item_id, _), f in zip(items, extracted))
        records = items
        if output:
            with replacing(output) as fh:
                fh.writelines(lines)
            err.print(f"{len(records)} items; wrote {output}")
        else:
            sys.stdout.writelines(lines)
        return
    refuse_overwrite(output, "--out", cli_support.db_path(db))
    with _open(db) as sl:  # an id past MAX_ID is no story (views.story_detail)
        rows = sl.facts(int(target))
        story = sl.story(int(target))  # an id merged away: the story it lives on in
    if output:
        write_text(output, "".join(json.dumps(shapes.plain(f), ensure_ascii=False) + "\n"
                                   for f in rows))
        err.print(f"{len(rows)} facts; wrote {output}")
        return
    if as_json:
        _print_json(shapes.facts_of(story.id, rows))
        return
    table = cli_support.table("fact", "value", "qualifier", "attributed to",
                              "outlets / snippets", "first batch", "status")
    for f in rows:
        if f.first_batch != story.first_batch and f.status != "contradicted":
            f.status = f"new in {f.first_batch}, {f.status}"
    for f in rows:
        value = f"{f.value:,.0f}" if float(f.value).is_integer() else f"{f.value:,}"
        if f.unit == "%" or (len(f.unit) == 3 and f.unit.isupper()):  # shares and money
            value = f"{value} %" if f.unit == "%" else f"{f.unit} {value}"
        backers = f"{len(f.outlets)} / {len(f.snippet_ids)}"
        status = f.status + (f" (vs {', '.join(rows[i].what for i in f.contradicts)})"
                             if f.contradicts else "")
        table.add_row(escape(f.what), value, escape(" / ".join(f.qualifiers) or "—"),
                      escape("; ".join(f.sources) or "—"), backers, f.first_batch, status)
    out.print(table)


@eval_app.command("clusters")
def eval_clusters(
    predicted: Annotated[Path, typer.Argument(help="OUT.jsonl of `storyline cluster`.")],
    gold: Annotated[Path, typer.Option("--gold", help="Gold labels: JSONL with id and story "
                                       "(or event), or the seeds' gold.json.")],
    as_json: JsonOption = False,
) -> None:
    """B-cubed precision/recall/F1, pairwise F1 and ARI of a clustering."""
    from storyline.evaluate import load_labels, score_clusters, unmatched

    labels, truth = load_labels(predicted), load_labels(gold)
    scores = score_clusters(labels, truth)
    if left_out := unmatched(labels, truth):  # only the items both name are scored
        err.print(f"[yellow]warning:[/] scored {scores.items} items: {left_out}",
                  soft_wrap=True)
    if as_json:
        return _print_json(scores.as_dict())
    table = cli_support.table("measure", "value")
    for k, v in scores.as_dict().items():
        table.add_row(k, f"{v:.4f}" if isinstance(v, float) else str(v))
    out.print(table)


from storyline.web.commands import register  # noqa: E402  (serve, watch)

register(app)


def main() -> None:
    """The ``storyline`` command (errors are reported by ReportingGroup)."""
    cli_support.run_command(app)


if __name__ == "__main__":
    main()
