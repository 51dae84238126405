"""``storyline serve`` and ``storyline watch``, registered on the main command by
:func:`register` (``storyline/cli.py`` calls it)."""

import logging
import threading
from pathlib import Path
from typing import Annotated, Optional

import typer

from storyline.config import checked_token, db_location, default_db, preset
from storyline.errors import StorylineError, UsageError
from storyline.options import (
    ArticleOption,
    DbOption,
    EncodingOption,
    FastOption,
    FeedOption,
    FetchOption,
    FolderOption,
    IntervalOption,
    ModelOption,
    PresetOption,
)


def _fail(message: str) -> None:
    """Reported by the CLI's one error reporter (storyline.cli.ReportingGroup), exit 1."""
    raise StorylineError(message)


def _check_choices(preset_name: str | None, model: str | None) -> None:
    """An unknown preset or model is wrong usage (exit 2), said once before anything
    starts (a watcher would say it again for every file)."""
    if preset_name is not None:
        preset(preset_name)  # a UsageError for a preset it does not know
    if model is not None and model != "none":
        from storyline.models.encoders import check_encoder_name

        check_encoder_name(model)


def _db(db: str | Path | None) -> str | Path:
    """The store: this command's --db, else the one given before the command, else the
    default (a path, or a ``postgresql://`` URL)."""
    from storyline.cli_support import STATE

    given = db or STATE.db
    return db_location(given) if given else default_db()


def _need_web_extra() -> None:
    """The server and the watcher need the ``web`` extra; say so plainly without it."""
    import importlib.util

    missing = [m for m in ("fastapi", "uvicorn", "jinja2", "feedparser", "trafilatura")
               if importlib.util.find_spec(m) is None]
    if missing:
        _fail(f"{', '.join(missing)} not installed: pip install 'storyline[web]'")


def serve(
    db: DbOption = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=0, max=65535)] = 8000,
    token: Annotated[Optional[str], typer.Option(
        envvar="STORYLINE_TOKEN", show_envvar=True,
        help="Token for POST /api/batches (and for reading, with --private); without one, "
             "ingest over HTTP is off. Prefer the environment variable.")] = None,
    private: Annotated[bool, typer.Option("--private", help="Reads need the token too "
                                          "(browsers: any user name, the token as password).")
                       ] = False,
    preset_name: PresetOption = None,
    model: ModelOption = None,
    fast: FastOption = False,
    facts: Annotated[bool, typer.Option("--facts/--no-facts", help="The story page's facts "
                                        "table (facts not read at ingest are read then).")] = True,
    max_body_mb: Annotated[float, typer.Option(help="Largest POST body, in MiB.", min=0.001)
                           ] = 20.0,
    watch_folder: FolderOption = None,
    encoding: EncodingOption = None,
    feed: FeedOption = None,
    article: ArticleOption = None,
    fetch_articles: FetchOption = False,
    interval: IntervalOption = 300.0,
) -> None:
    """Serve the stories: web pages, a JSON API under /api (OpenAPI at /openapi.json),
    and, with --watch-folder/--feed/--article, ingest on an interval while serving."""
    _need_web_extra()
    import uvicorn

    from storyline.store import StoreError, display_url, is_url
    from storyline.web.access import WebSettings
    from storyline.web.app import create_app

    preset_name = "fast" if fast else preset_name
    _check_choices(preset_name, model)
    path = _db(db)
    shown = display_url(path) if is_url(path) else path
    settings = WebSettings(
        db=path, token=checked_token(token), private=private, preset_name=preset_name,
        model=model, facts=facts, max_body_bytes=int(max_body_mb * 1024 * 1024),
        watch_folder=watch_folder, watch_encoding=encoding,
        feeds=feed or [], articles=article or [], fetch_articles=fetch_articles,
        watch_interval=interval,
    )
    if not is_url(path) and not Path(path).exists():
        typer.echo(f"no store at {path}: starting an empty one", err=True)
    try:
        app = create_app(settings)
    except (StoreError, ValueError) as exc:
        _fail(str(exc))
    reads = "private (token needed)" if private else "open"
    ingest = "on (token set)" if settings.token else "off (no --token / STORYLINE_TOKEN)"
    typer.echo(f"storyline: {shown} on http://{host}:{port}/ — reads {reads}, ingest {ingest}",
               err=True)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(name)s: %(message)s")
    uvicorn.run(app, host=host, port=port, log_level="info")


def watch(
    db: DbOption = None,
    watch_folder: Annotated[Optional[Path], typer.Option(
        "--folder", help="Ingest each batch file dropped in this folder (write it under a "
        "name starting with '.' and rename it when complete).", file_okay=False)] = None,
    encoding: EncodingOption = None,
    feed: FeedOption = None,
    article: ArticleOption = None,
    fetch_articles: FetchOption = False,
    interval: IntervalOption = 300.0,
    once: Annotated[bool, typer.Option("--once", help="Poll once and exit (for cron); exit 1 "
                                       "if a source failed.")] = False,
    settle: Annotated[float, typer.Option(help="Seconds a new file must be left unchanged "
                                          "before it is read.", min=0.0)] = 2.0,
    window: Annotated[Optional[str], typer.Option(
        "--window", help="Batches by published_at (6h, 1d) instead of one per file or poll; "
        "a window an earlier poll wrote gets a batch of its own (NAME-2).")] = None,
    preset_name: PresetOption = None,
    model: ModelOption = None,
    fast: FastOption = False,
) -> None:
    """Ingest from a folder of batch files, RSS/Atom feeds and article pages, on an interval."""
    _need_web_extra()
    from storyline.feeds import Watcher
    from storyline.pipeline.window import parse_window
    from storyline.store import StoreError
    from storyline.web.access import StoreAccess, WebSettings

    if not (watch_folder or feed or article):
        raise UsageError("nothing to watch: give --folder, --feed or --article")
    preset_name = "fast" if fast else preset_name
    span = parse_window(window) if window else None  # a bad one: UsageError, exit 2
    _check_choices(preset_name, model)
    try:
        access = StoreAccess(WebSettings(db=_db(db), preset_name=preset_name,
                                         model=model))
    except (StoreError, ValueError) as exc:
        _fail(str(exc))
    watcher = Watcher(access, folder=watch_folder, feeds=feed or [], articles=article or [],
                      fetch_articles=fetch_articles, settle=settle, window=span,
                      encoding=encoding)
    stop = threading.Event()
    try:
        while True:
            result = watcher.poll()
            for r in result.reports:
                if r.already_ingested:
                    typer.echo(f"batch {r.batch}: already in the store")
                else:
                    typer.echo(f"batch {r.batch}: {r.records} records → {r.new_snippets} new "
                               f"snippets, {r.new_stories} new stories")
            for error in result.errors:
                typer.echo(f"error: {error}", err=True)
            if once:
                if result.errors:
                    raise typer.Exit(1)
                return
            if watcher.wait(interval, stop):  # a file dropped in the folder: sooner
                return
    except KeyboardInterrupt:
        typer.echo("stopped", err=True)
        if once:  # a cron job's poll cut short is no success
            raise typer.Exit(130) from None
    finally:
        watcher.close()
        access.close()


def register(app: typer.Typer) -> None:
    """Adds ``serve`` and ``watch`` to the ``storyline`` command."""
    app.command()(serve)
    app.command()(watch)
