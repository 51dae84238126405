"""The web server: server-rendered story pages and a JSON API under ``/api``.

``create_app(WebSettings(db=...))`` gives a FastAPI application; ``storyline serve``
runs it under uvicorn. Pages: ``/`` (the story list), ``/stories/{id}``, ``/batches``,
``/batches/{batch}`` (what the batch changed), ``/search?q=``. API: ``/api/stories``,
``/api/stories/{id}``, ``/api/batches`` (GET lists, POST ingests), ``/api/batches/{batch}``,
``/api/search?q=``; the OpenAPI document is ``/openapi.json``. Everything is served from
this package: no script, no external stylesheet or font, and a Content-Security-Policy
that forbids scripts, so text from the snippets can only ever be text.
"""

import hmac
import logging
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import quote, urlencode, urlsplit

import jinja2
from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.security import (
    HTTPAuthorizationCredentials,
    HTTPBasic,
    HTTPBasicCredentials,
    HTTPBearer,
)
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException

from storyline import views
from storyline.config import dormancy
from storyline.engine import IngestError
from storyline.errors import StoreBusyError, StorylineError
from storyline.models.encoders import ModelNotBuiltError
from storyline.pipeline.facts import StoryFact
from storyline.pipeline.read import InputError
from storyline.types import IngestReport, SearchHit, StoryChanges, StoryDetail, StorySummary
from storyline.web import charts
from storyline.web.access import StoreAccess, WebSettings
from storyline.web.ingest import BATCH_PATTERN, BodyError, format_of, parse_body
from storyline.web.listing import list_page

log = logging.getLogger("storyline.web")
HERE = Path(__file__).parent
MAX_ID = 2**53  # story ids past this are not ids (and would overflow SQLite's integers)
SPARK_BATCHES = 24  # batches a sparkline of the list spans

# No script may run on these pages, whatever a snippet holds; styles come from /static.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self' data:; "
                               "form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


# -- API models -----------------------------------------------------------------


class Problem(BaseModel):
    detail: str = Field(description="What went wrong, for a person.")


class StoryList(BaseModel):
    total: int = Field(description="Stories that match the filters, on all pages.")
    limit: int
    offset: int
    stories: list[StorySummary]


@dataclass
class StoryOut(StoryDetail):
    """A story with its facts (None when not asked for, or facts are off)."""

    facts: list[StoryFact] | None = None


class BatchOut(BaseModel):
    name: str
    seq: int = Field(description="Order of ingestion, from 1.")
    records: int
    ingested_at: str


class BatchList(BaseModel):
    batches: list[BatchOut]


class BatchChanges(BaseModel):
    batch: BatchOut
    previous: str | None = Field(description="The batch before this one, if any.")
    next: str | None = Field(description="The batch after this one, if any.")
    changes: list[StoryChanges]


class SearchResult(BaseModel):
    query: str
    hits: list[SearchHit]


class IngestResult(BaseModel):
    batches: list[IngestReport]


def _problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: {"model": Problem} for code in codes}


def _html_problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: {"description": "An error page.", "content": {"text/html": {}}}
            for code in codes}


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


# -- template helpers -------------------------------------------------------------


def safe_href(url: str | None) -> str | None:
    """The url if a link to it is safe to show (http or https), else None: a
    ``javascript:`` or ``data:`` url from a snippet is shown as text, never linked."""
    if not url:
        return None
    try:
        scheme = urlsplit(url.strip()).scheme.lower()
    except ValueError:
        return None
    return url.strip() if scheme in ("http", "https") else None


def _number(value: float, upper: float | None = None) -> str:
    def one(v: float) -> str:
        return f"{v:,.0f}" if float(v).is_integer() else f"{v:,}"

    return one(value) + (f"–{one(upper)}" if upper is not None else "")


def _templates() -> Jinja2Templates:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True,
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
    )
    env.filters["safe_href"] = safe_href
    env.filters["path"] = lambda v: quote(str(v), safe="")
    env.filters["number"] = _number
    env.filters["host"] = lambda url: urlsplit(url).netloc or url if safe_href(url) else url
    env.filters["plural"] = lambda n, one, many=None: one if n == 1 else (many or one + "s")
    env.globals["sources_shown"] = views.SOURCES_SHOWN
    return Jinja2Templates(env=env)


# -- the application --------------------------------------------------------------


def create_app(settings: WebSettings, access: StoreAccess | None = None) -> FastAPI:
    """The server over one store, as ``settings`` say."""
    if settings.private and not settings.token:
        raise ValueError("a private server needs a token (--token or STORYLINE_TOKEN)")
    access = access or StoreAccess(settings)
    templates = _templates()
    watcher_stop = threading.Event()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Before the first request: templates compiled, a connection open, the first
        # page of the list built; and built again after each ingest, so that the page
        # most asked for is ready when the batch lands.
        await run_in_threadpool(warm_up)
        if warm_list not in access.after_write:
            access.after_write.append(warm_list)
        ingesting = bool(settings.token or settings.watch_folder or settings.feeds
                         or settings.articles)
        with access.read() as sl:
            reads_facts = sl.config.extract_facts
        if ingesting and reads_facts:
            # The facts worker loads spaCy (seconds): start it now, in the background,
            # rather than in the first batch's request.
            from storyline.pipeline import facts_worker

            def warm_facts() -> None:
                try:
                    facts_worker.warm_up()
                except Exception:  # the first batch will say what is wrong, in its answer
                    log.warning("could not start the facts worker", exc_info=True)

            threading.Thread(target=warm_facts, name="storyline-facts-warm-up",
                             daemon=True).start()
        thread = None
        if settings.watch_folder or settings.feeds or settings.articles:
            from storyline.feeds import Watcher

            watcher = Watcher(access, folder=settings.watch_folder,
                              feeds=settings.feeds, articles=settings.articles,
                              fetch_articles=settings.fetch_articles)
            thread = threading.Thread(target=watcher.run,
                                      args=(settings.watch_interval, watcher_stop),
                                      name="storyline-watch", daemon=True)
            thread.start()
        try:
            yield
        finally:
            watcher_stop.set()
            if thread is not None:
                thread.join(timeout=30)
            access.close()

    app = FastAPI(
        title="storyline",
        summary="News snippets turned into stories: browse, search, follow, ingest.",
        version=_version(),
        docs_url=None, redoc_url=None,  # their pages load scripts from a CDN
        lifespan=lifespan,
    )
    app.state.access = access
    app.state.settings = settings
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    app.add_middleware(SecurityHeaders)

    # -- auth ----------------------------------------------------------------------

    bearer = HTTPBearer(auto_error=False, scheme_name="token",
                        description="The server's token: --token or STORYLINE_TOKEN.")
    basic = HTTPBasic(auto_error=False, scheme_name="basic", realm="storyline",
                      description="For browsers on a private server: any user name, the "
                                  "token as password.")

    def _given(token: HTTPAuthorizationCredentials | None,
               login: HTTPBasicCredentials | None) -> str | None:
        if token is not None:
            return token.credentials
        return login.password if login is not None else None

    def _valid(given: str | None) -> bool:
        expected = settings.token
        return bool(expected and given is not None
                    and hmac.compare_digest(given.encode(), expected.encode()))

    def require_write(token: Annotated[HTTPAuthorizationCredentials | None,
                                       Depends(bearer)]) -> None:
        if not settings.token:
            raise HTTPException(403, "ingest is off on this server: start it with --token "
                                     "or STORYLINE_TOKEN")
        if not _valid(_given(token, None)):
            raise HTTPException(401, "a valid token is needed: Authorization: Bearer TOKEN",
                                headers={"WWW-Authenticate": 'Bearer realm="storyline"'})

    def require_read(request: Request,
                     token: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
                     login: Annotated[HTTPBasicCredentials | None, Depends(basic)]) -> None:
        if not _valid(_given(token, login)):
            scheme = "Bearer" if request.url.path.startswith("/api/") else "Basic"
            raise HTTPException(401, "this server is private: a valid token is needed",
                                headers={"WWW-Authenticate": f'{scheme} realm="storyline"'})

    readers = [Depends(require_read)] if settings.private else []
    read_401 = (401,) if settings.private else ()

    # -- errors: pages get a page, the API gets JSON --------------------------------

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        headers = getattr(exc, "headers", None)
        if exc.status_code == 405:  # Starlette names the first route's methods only
            headers = {**(headers or {}), "Allow": ", ".join(_allowed(app, request.url.path))}
        if request.url.path.startswith(("/api/", "/openapi", "/static/")):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code,
                                headers=headers)
        return templates.TemplateResponse(
            request, "error.html", {"status": exc.status_code, "message": str(exc.detail),
                                    "query": ""},
            status_code=exc.status_code, headers=headers)

    def not_found(exc: LookupError) -> HTTPException:
        return HTTPException(404, str(exc.args[0]) if exc.args else "not found")

    # -- shared reads -------------------------------------------------------------

    def batch_names(sl: Any) -> list[str]:
        return [b.name for b in sl.store.batches()]

    def story_detail(sl: Any, story_id: int) -> StoryDetail:
        try:
            return sl.story(story_id)
        except LookupError as exc:
            raise not_found(exc) from None

    def story_out(detail: StoryDetail, with_facts: bool) -> StoryOut:
        """The story with its facts, read after (not inside) the story's read transaction:
        reading facts may store them."""
        facts = access.facts(detail) if with_facts and settings.facts else None
        return StoryOut(**{f.name: getattr(detail, f.name) for f in fields(detail)},
                        facts=facts)

    def batch_changes(sl: Any, batch: str) -> BatchChanges:
        rows = sl.store.batches()
        found = next((i for i, b in enumerate(rows) if b.name == batch), None)
        if found is None:
            raise HTTPException(404, f"no batch {batch!r}")
        this = rows[found]
        return BatchChanges(
            batch=BatchOut(name=this.name, seq=this.seq, records=this.records,
                           ingested_at=this.ingested_at),
            previous=rows[found - 1].name if found > 0 else None,
            next=rows[found + 1].name if found + 1 < len(rows) else None,
            changes=sl.changes(batch),
        )

    def search_hits(sl: Any, q: str, limit: int) -> list[SearchHit]:
        encoder = access.search_encoder() if sl.store.has_snippets() else None
        return views.search(sl.store, q, encoder, limit)

    def stories_page(sl: Any, *, batch: str | None, status: str | None, text: str | None,
                     limit: int, offset: int, min_size: int) -> tuple[int, list[StorySummary]]:
        def compute() -> tuple[int, list[StorySummary]]:
            return list_page(sl.store, batch=batch, status=status, text=text, limit=limit,
                             offset=offset, min_size=min_size,
                             dormancy=dormancy(sl.config))

        try:
            return access.memo(sl, ("list", batch, status, text, limit, offset, min_size),
                               compute)
        except LookupError as exc:
            raise not_found(exc) from None

    def warm_list() -> None:
        if access.closed:  # the server stopped while a batch went in
            return
        with access.read() as sl:
            stories_page(sl, batch=None, status=None, text=None, limit=settings.page_size,
                         offset=0, min_size=1)

    def warm_up() -> None:
        for name in templates.env.list_templates(extensions=["html"]):
            templates.env.get_template(name)
        warm_list()

    # -- API --------------------------------------------------------------------

    Limit = Annotated[int, Query(ge=1, le=500, description="Stories per page.")]
    Offset = Annotated[int, Query(ge=0, le=10**9, description="Skip this many.")]
    MinSize = Annotated[int, Query(ge=1, le=10**9, description="Only stories of at least "
                                                               "this many snippets.")]
    StoryId = Annotated[int, PathParam(ge=1, le=MAX_ID, description="A story id; an id "
                                                                    "merged away gives the "
                                                                    "story it lives on in.")]
    Text = Annotated[str | None, Query(max_length=500)]
    BatchName = Annotated[str, PathParam(min_length=1, max_length=500)]

    @app.get("/api/stories", response_model=StoryList, tags=["api"], dependencies=readers,
             responses=_problems(404, *read_401), summary="List stories, biggest first")
    def api_stories(
        batch: Annotated[str | None, Query(max_length=500, description="Only stories with "
                                                                       "news in this batch.")]
        = None,
        status: Annotated[Literal["active", "dormant"] | None, Query()] = None,
        text: Annotated[str | None, Query(max_length=500, description="Only stories whose "
                                          "headline or summary holds this text.")] = None,
        limit: Limit = settings.page_size, offset: Offset = 0, min_size: MinSize = 1,
    ) -> StoryList:
        with access.read() as sl:
            total, rows = stories_page(sl, batch=batch, status=status, text=text, limit=limit,
                                       offset=offset, min_size=min_size)
        return StoryList(total=total, limit=limit, offset=offset, stories=rows)

    @app.get("/api/stories/{story_id}", response_model=StoryOut, tags=["api"],
             dependencies=readers, responses=_problems(404, *read_401), summary="One story")
    def api_story(
        story_id: StoryId,
        facts: Annotated[bool, Query(description="Include the story's facts (quantities, "
                                                 "who said them, contradictions).")] = True,
    ) -> StoryOut:
        with access.read() as sl:
            detail = story_detail(sl, story_id)
        return story_out(detail, facts)

    @app.get("/api/batches", response_model=BatchList, tags=["api"], dependencies=readers,
             responses=_problems(*read_401), summary="The batches, in ingestion order")
    def api_batches() -> BatchList:
        with access.read() as sl:
            rows = sl.store.batches()
        return BatchList(batches=[BatchOut(name=b.name, seq=b.seq, records=b.records,
                                           ingested_at=b.ingested_at) for b in rows])

    @app.get("/api/batches/{batch:path}", response_model=BatchChanges, tags=["api"],
             dependencies=readers, responses=_problems(404, *read_401),
             summary="What a batch changed, per story")
    def api_batch(batch: BatchName) -> BatchChanges:
        with access.read() as sl:
            return batch_changes(sl, batch)

    @app.get("/api/search", response_model=SearchResult, tags=["api"], dependencies=readers,
             responses=_problems(*read_401), summary="Search stories (keyword and semantic)")
    def api_search(
        q: Annotated[str, Query(min_length=1, max_length=500, description="Words or a "
                                                                          "question.")],
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
    ) -> SearchResult:
        with access.read() as sl:
            return SearchResult(query=q, hits=search_hits(sl, q, limit))

    body_schema = {"type": "string"}
    ingest_doc = {
        "requestBody": {
            "required": True,
            "description": "One batch (or several, by the records' 'batch' field): plain "
                           "text, one snippet a line, or JSONL with 'text' (required), 'id', "
                           "'batch', 'source', 'url', 'published_at', 'title'.",
            "content": {"text/plain": {"schema": body_schema},
                        "application/x-ndjson": {"schema": body_schema}},
        },
    }

    @app.post("/api/batches", response_model=IngestResult, tags=["api"],
              dependencies=[Depends(require_write)], openapi_extra=ingest_doc,
              responses=_problems(400, 401, 403, 409, 413, 415, 503),
              summary="Ingest a batch (needs the token)")
    async def api_ingest(
        request: Request,
        batch: Annotated[str | None, Query(pattern=BATCH_PATTERN, description="Batch name "
                                           "for records that name none.")] = None,
        fmt: Annotated[Literal["text", "jsonl"] | None,
                       Query(alias="format", description="Overrides the Content-Type.")]
        = None,
    ) -> IngestResult:
        try:
            fmt = fmt or format_of(request.headers.get("content-type"))
            body = await _read_body(request, settings.max_body_bytes)
            records = await run_in_threadpool(parse_body, body, fmt, batch)
            reports = await run_in_threadpool(access.ingest_records, records, "http")
        except BodyError as exc:
            raise HTTPException(exc.status, exc.message) from None
        except InputError as exc:  # the engine's own checks, should the above miss one
            raise HTTPException(400, exc.message) from None
        except IngestError as exc:
            raise HTTPException(409, str(exc)) from None
        except ModelNotBuiltError as exc:  # the server's set-up, not the request
            raise HTTPException(503, str(exc)) from None
        except StoreBusyError as exc:  # another writer (a command-line ingest) held it
            raise HTTPException(503, str(exc), headers={"Retry-After": "10"}) from None
        except StorylineError as exc:  # a full disk (507), a store that cannot be used
            raise HTTPException(exc.http_status, str(exc)) from None
        return IngestResult(batches=reports)

    # -- pages ------------------------------------------------------------------

    Page = Annotated[int, Query(ge=0, le=10**9)]

    def render(request: Request, name: str, status: int = 200, **context: Any) -> Response:
        context.setdefault("query", "")
        return templates.TemplateResponse(request, name, context, status_code=status)

    page_doc = dict(response_class=HTMLResponse, tags=["pages"], dependencies=readers)

    @app.get("/", summary="Story list", responses=_html_problems(404, *read_401), **page_doc)
    def page_list(
        request: Request,
        batch: Annotated[str | None, Query(max_length=500)] = None,
        status: Annotated[Literal["", "active", "dormant"] | None, Query()] = None,
        text: Text = None,
        offset: Page = 0,
        min_size: MinSize = 1,
    ) -> Response:
        limit = settings.page_size
        with access.read() as sl:
            total, rows = stories_page(sl, batch=batch or None, status=status or None,
                                       text=text or None, limit=limit, offset=offset,
                                       min_size=min_size)
            names = batch_names(sl)
            counts = sl.store.counts() if not rows and not total else None
        spark_axis = names[-SPARK_BATCHES:]
        filters = {k: v for k, v in {"batch": batch, "status": status, "text": text,
                                     "min_size": min_size if min_size > 1 else None}.items()
                   if v}

        def link(new_offset: int) -> str:
            return "/?" + urlencode({**filters, "offset": new_offset})

        return render(
            request, "list.html", stories=rows, total=total, offset=offset, limit=limit,
            sparks={s.id: charts.sparkline(s.batches, spark_axis) for s in rows},
            batches=names, filters=filters, empty_store=counts is not None and
            counts["snippets"] == 0,
            prev_link=link(max(offset - limit, 0)) if offset > 0 else None,
            next_link=link(offset + limit) if offset + limit < total else None,
        )

    @app.get("/stories/{story_id}", summary="One story",
             responses=_html_problems(404, *read_401), **page_doc)
    def page_story(request: Request, story_id: StoryId) -> Response:
        with access.read() as sl:
            detail = story_detail(sl, story_id)
            names = batch_names(sl)
        story = story_out(detail, True)
        last = story.last_batch
        fresh = [s for s in story.snippets if s.batch == last and s.novel]
        repeats = [s for s in story.snippets if (s.batch == last and not s.novel)
                   or (s.batch != last and any(c.batch == last for c in s.copies))]
        by_batch: dict[str, list] = {}
        for s in story.snippets:
            by_batch.setdefault(s.batch, []).append(s)
        return render(
            request, "story.html", story=story, asked=story_id, fresh=fresh, repeats=repeats,
            latest=names[-1] if names else "", chart=charts.timeline(story.batches, names),
            by_batch=by_batch,
        )

    @app.get("/batches", summary="Batches", responses=_html_problems(*read_401), **page_doc)
    def page_batches(request: Request) -> Response:
        with access.read() as sl:
            rows = sl.store.batches()
        return render(request, "batches.html", batches=list(reversed(rows)))

    @app.get("/batches/{batch:path}", summary="What a batch changed",
             responses=_html_problems(404, *read_401), **page_doc)
    def page_batch(request: Request, batch: BatchName) -> Response:
        with access.read() as sl:
            data = batch_changes(sl, batch)
        new = sum(len(c.new) for c in data.changes)
        repeated = sum(len(c.repeated) for c in data.changes)
        return render(request, "batch.html", data=data, new=new, repeated=repeated,
                      new_stories=sum(c.new_story for c in data.changes))

    @app.get("/search", summary="Search", responses=_html_problems(*read_401), **page_doc)
    def page_search(request: Request, q: Text = None) -> Response:
        query = (q or "").strip()
        hits: list[SearchHit] = []
        if query:
            with access.read() as sl:
                hits = search_hits(sl, query, 20)
        return render(request, "search.html", query=query, hits=hits)

    return app


def _allowed(app: FastAPI, path: str) -> list[str]:
    """Every method some route answers at ``path``."""
    methods: set[str] = set()
    for route in app.router.routes:
        regex = getattr(route, "path_regex", None)
        if regex is not None and regex.match(path) and getattr(route, "methods", None):
            methods |= set(route.methods)
    return sorted(methods)


async def _read_body(request: Request, limit: int) -> bytes:
    """The body, refused (413) past ``limit`` bytes without reading all of it."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyError(413, f"body over {limit} bytes: send smaller batches")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyError(413, f"body over {limit} bytes: send smaller batches")
        chunks.append(chunk)
    return b"".join(chunks)


def _version() -> str:
    from storyline import __version__

    return __version__
