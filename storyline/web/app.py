"""The web server: server-rendered story pages and a JSON API under ``/api``.

``create_app(WebSettings(db=...))`` gives a FastAPI application; ``storyline serve``
runs it under uvicorn. One route table, in modules: :mod:`storyline.web.pages` (``/``,
``/stories/{id}``, ``/batches``, ``/batches/{batch}``, ``/search?q=``),
:mod:`storyline.web.api` (``/api/stories``, ``/api/stories/{id}``, ``/api/batches`` GET
and POST, ``/api/batches/{batch}``, ``/api/search?q=``; OpenAPI at ``/openapi.json``),
:mod:`storyline.web.auth` (the token) and :mod:`storyline.web.errors` (errors as
answers). Everything is served from this package: no script, no external stylesheet or
font, and a Content-Security-Policy that forbids scripts, so text from the snippets can
only ever be text.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders

from storyline.web import api, errors, pages
from storyline.web.access import StoreAccess, WebSettings
from storyline.web.auth import read_statuses, readers
from storyline.web.reads import warm_list
from storyline.web.schemas import html_problems, problems

log = logging.getLogger("storyline.web")

# No script may run on these pages, whatever a snippet holds; styles come from /static.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self' data:; "
                               "form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


class SecurityHeaders:
    """Adds :data:`SECURITY_HEADERS` to every response (a plain ASGI middleware: it
    only touches the response's first message)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


class HeadAsGet:
    """HEAD answered as GET without its body (FastAPI's routes take only the methods they
    name; a monitor's or link checker's HEAD got 405)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def send_headers_only(message: dict) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, send_headers_only)


class NoTrailingSlash:
    """``/stories/1/`` is ``/stories/1``: a 308 to the path without its slash, as a path
    alone (Starlette's own redirect named the host the request's Host header gave, and
    ``/batches/`` was a batch with an empty name: 422)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path == "/" or not path.endswith("/"):
            await self.app(scope, receive, send)
            return
        from urllib.parse import quote

        target = quote(path.rstrip("/"), safe="/") or "/"
        query = scope.get("query_string", b"").decode("latin-1")
        # Two slashes would make the path a host ("//evil.example/"): one only.
        target = "/" + target.lstrip("/")
        response = RedirectResponse(target + (f"?{query}" if query else ""), status_code=308)
        await response(scope, receive, send)


def create_app(settings: WebSettings, access: StoreAccess | None = None) -> FastAPI:
    """The server over one store, as ``settings`` say."""
    if settings.private and not settings.token:
        raise ValueError("a private server needs a token (--token or STORYLINE_TOKEN)")
    access = access or StoreAccess(settings)
    app = FastAPI(
        title="storyline",
        summary="News snippets turned into stories: browse, search, follow, ingest.",
        version=_version(),
        docs_url=None, redoc_url=None,  # their pages load scripts from a CDN
        lifespan=_lifespan,
        # No slash added (NoTrailingSlash takes slashes away): "/static" was a redirect to
        # "/static/" on whatever host the Host header named, and that one back: a loop.
        redirect_slashes=False,
    )
    app.state.access = access
    app.state.settings = settings
    app.state.templates = pages.templates()
    app.mount("/static", StaticFiles(directory=pages.HERE / "static"), name="static")
    app.add_middleware(NoTrailingSlash)  # (the last added is the outermost)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(HeadAsGet)
    errors.install(app)
    guarded = readers(settings)
    # 422 is declared here: its detail is a string, as every error's (not FastAPI's list).
    app.include_router(api.reads, dependencies=guarded,
                       responses=problems(422, *read_statuses(settings)))
    app.include_router(api.writes, responses=problems(422))
    app.include_router(pages.router, dependencies=guarded,
                       responses=html_problems(422, *read_statuses(settings)))
    return app


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Before the first request: templates compiled, a connection open, the first page
    of the list built (and built again after each ingest that follows a reader's visit,
    so that the page most asked for is ready when the batch lands); the facts worker and
    the watcher started."""
    access: StoreAccess = app.state.access
    settings: WebSettings = app.state.settings
    await run_in_threadpool(_warm_up, app)
    hook = _ListWarmer(access)
    if hook not in access.after_write:
        access.after_write.append(hook)
    ingesting = bool(settings.token or settings.watch_folder or settings.feeds
                     or settings.articles)
    with access.read() as sl:
        reads_facts = sl.config.extract_facts
    if ingesting and reads_facts:
        # The facts worker loads spaCy (seconds): start it now, in the background,
        # rather than in the first batch's request.
        threading.Thread(target=_warm_facts, name="storyline-facts-warm-up",
                         daemon=True).start()
    stop = threading.Event()
    thread = _start_watcher(access, settings, stop)
    try:
        yield
    finally:
        stop.set()
        if thread is not None:
            thread.join(timeout=30)
        access.close()


class _ListWarmer:
    """The after-ingest hook that builds the list's first page again (one per access:
    equal to any other for the same access, so a restarted app adds it once)."""

    def __init__(self, access: StoreAccess) -> None:
        self.access = access

    def __call__(self) -> None:
        warm_list(self.access, unless_unread=True)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _ListWarmer) and other.access is self.access

    def __hash__(self) -> int:
        return id(self.access)


def _warm_up(app: FastAPI) -> None:
    env = app.state.templates.env
    for name in env.list_templates(extensions=["html"]):
        env.get_template(name)
    warm_list(app.state.access)


def _warm_facts() -> None:
    from storyline.pipeline.facts import worker as facts_worker

    try:
        facts_worker.warm_up()
    except Exception:  # the first batch will say what is wrong, in its answer
        log.warning("could not start the facts worker", exc_info=True)


def _start_watcher(access: StoreAccess, settings: WebSettings,
                   stop: threading.Event) -> threading.Thread | None:
    """The watcher of folders, feeds and pages, in a thread, when settings name any."""
    if not (settings.watch_folder or settings.feeds or settings.articles):
        return None
    from storyline.feeds import Watcher

    watcher = Watcher(access, folder=settings.watch_folder, feeds=settings.feeds,
                      articles=settings.articles, fetch_articles=settings.fetch_articles,
                      encoding=settings.watch_encoding)
    thread = threading.Thread(target=watcher.run, args=(settings.watch_interval, stop),
                              name="storyline-watch", daemon=True)
    thread.start()
    return thread


def _version() -> str:
    from storyline import __version__

    return __version__
