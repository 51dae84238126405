"""The JSON API under ``/api``: read the stories, batches and search; ingest a batch.

Two routers: :data:`reads` (behind the token on a private server) and :data:`writes`
(always behind the token). Every answer is a shape of :mod:`storyline.shapes` (the
same the CLI's ``--json`` prints), documented by the models of
:mod:`storyline.web.schemas`; every error is ``{"detail": message}`` (:mod:`storyline.web.errors`).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from starlette.requests import ClientDisconnect

from storyline import shapes
from storyline.search import DATE_PATTERN, SearchFilters
from storyline.shapes import MAX_ID
from storyline.web.auth import require_write
from storyline.web.ingest import (
    BATCH_PATTERN,
    BodyError,
    check_plain_body,
    format_of,
    parse_body,
)
from storyline.web.reads import (
    access_of,
    batch_changes,
    search_hits,
    stories_page,
    story_out,
)
from storyline.web.schemas import (
    BatchChanges,
    BatchList,
    IngestResult,
    SearchResult,
    StoryList,
    StoryOut,
    problems,
)

Limit = Annotated[int | None, Query(ge=1, le=500, description="Stories per page (default: "
                                                              "the server's page size).")]
Offset = Annotated[int, Query(ge=0, le=10**9, description="Skip this many.")]
SnippetLimit = Annotated[int, Query(ge=1, le=1000, description="Snippets per page.")]
MinSize = Annotated[int, Query(ge=1, le=10**9, description="Only stories of at least this "
                                                           "many snippets.")]
StoryId = Annotated[int, PathParam(ge=1, le=MAX_ID, description="A story id; an id merged "
                                   "away gives the story it lives on in.")]
BatchName = Annotated[str, PathParam(min_length=1, max_length=500)]
BatchFilter = Annotated[str | None, Query(max_length=500, description="Only stories with "
                                          "news in this batch.")]
TextFilter = Annotated[str | None, Query(max_length=500, description="Only stories whose "
                                         "headline or summary holds this text.")]

class SearchFilterParams:
    """Search's filters as query parameters (storyline.search.SearchFilters)."""

    def __init__(
        self,
        first_batch: Annotated[str | None, Query(max_length=500, description="Only stories "
                                                 "with news in this batch or later.")] = None,
        last_batch: Annotated[str | None, Query(max_length=500, description="... in this "
                                                "batch or earlier.")] = None,
        since: Annotated[str | None, Query(pattern=DATE_PATTERN, description="Only stories "
                                           "published on or after this date (ISO, or a "
                                           "prefix).")] = None,
        until: Annotated[str | None, Query(pattern=DATE_PATTERN, description="... on or before "
                                           "this date.")] = None,
    ) -> None:
        self.first_batch, self.last_batch = first_batch or None, last_batch or None
        self.since, self.until = since or None, until or None

    def chosen(self) -> SearchFilters:
        return SearchFilters(self.first_batch, self.last_batch, self.since, self.until)


reads = APIRouter(prefix="/api", tags=["api"])
writes = APIRouter(prefix="/api", tags=["api"])


@reads.get("/stories", response_model=StoryList, responses=problems(404),
           summary="List stories, biggest first")
def api_stories(
    request: Request, batch: BatchFilter = None,
    status: Annotated[Literal["active", "dormant"] | None, Query()] = None,
    text: TextFilter = None, limit: Limit = None, offset: Offset = 0, min_size: MinSize = 1,
) -> StoryList:
    access = access_of(request)
    limit = limit or access.settings.page_size
    with access.read() as sl:
        # An empty filter is no filter (as on the pages and in search).
        page = stories_page(access, sl, batch=batch or None, status=status, text=text or None,
                            limit=limit, offset=offset, min_size=min_size)
    return JSONResponse(shapes.story_list(page.total, limit, offset, page.stories))


@reads.get("/stories/{story_id}", response_model=StoryOut, responses=problems(404),
           summary="One story")
def api_story(
    request: Request, story_id: StoryId,
    facts: Annotated[bool, Query(description="Include the story's facts (quantities, who "
                                             "said them, contradictions).")] = True,
    limit: SnippetLimit = shapes.SNIPPETS_PAGE, offset: Offset = 0,
) -> StoryOut:
    """The story with a page of its snippets (``snippets_total`` in all)."""
    access = access_of(request)
    with access.read() as sl:
        detail = sl.story(story_id)
    return JSONResponse(shapes.story(detail, story_out(access, detail, facts).facts, limit,
                                     offset))


@reads.get("/batches", response_model=BatchList, summary="The batches, in ingestion order")
def api_batches(request: Request) -> BatchList:
    with access_of(request).read() as sl:
        rows = sl.store.batches()
    return JSONResponse(shapes.batch_list(rows))


@reads.get("/batches/{batch:path}", response_model=BatchChanges, responses=problems(404),
           summary="What a batch changed, per story")
def api_batch(request: Request, batch: BatchName, limit: Limit = None,
              offset: Offset = 0) -> BatchChanges:
    """A page of the stories the batch touched, most new snippets first."""
    access = access_of(request)
    limit = limit or access.settings.page_size
    with access.read() as sl:
        page = batch_changes(sl, batch, limit, offset)
    return JSONResponse(shapes.batch_changes(page, limit, offset))


@reads.get("/search", response_model=SearchResult, responses=problems(404),
           summary="Search stories (keyword and semantic)")
def api_search(
    request: Request,
    q: Annotated[str, Query(min_length=1, max_length=500, description="Words or a question.")],
    filters: Annotated[SearchFilterParams, Depends()],
    limit: Annotated[int, Query(ge=1, le=100)] = 20, offset: Offset = 0,
) -> SearchResult:
    """Stories above the relevance floor, best first; ``hits`` empty: no match."""
    access = access_of(request)
    with access.read() as sl:
        hits = search_hits(access, sl, q, limit, offset, filters.chosen())
    return JSONResponse(shapes.search_result(q, limit, hits, offset))


_BODY_SCHEMA = {"type": "string"}
_INGEST_DOC = {
    "requestBody": {
        "required": True,
        "description": "One batch (or several, by the records' 'batch' field): plain text, "
                       "one snippet a line, or JSONL with 'text' (required), 'id', 'batch', "
                       "'source', 'url', 'published_at', 'title'.",
        "content": {"text/plain": {"schema": _BODY_SCHEMA},
                    "application/x-ndjson": {"schema": _BODY_SCHEMA}},
    },
}


@writes.post("/batches", response_model=IngestResult, dependencies=[Depends(require_write)],
             openapi_extra=_INGEST_DOC, responses=problems(400, 401, 403, 409, 413, 415, 503),
             summary="Ingest a batch (needs the token)")
async def api_ingest(
    request: Request,
    batch: Annotated[str | None, Query(pattern=BATCH_PATTERN, description="Batch name for "
                                       "records that name none.")] = None,
    fmt: Annotated[Literal["text", "jsonl"] | None,
                   Query(alias="format", description="Overrides the Content-Type.")] = None,
) -> IngestResult:
    """Errors are StorylineErrors (a bad body 400, a taken batch name 409, models not
    built 503...): :mod:`storyline.web.errors` answers them."""
    access = access_of(request)
    fmt = fmt or format_of(request.headers.get("content-type"))
    check_plain_body(request.headers)
    body = await read_body(request, access.settings.max_body_bytes)
    records = await run_in_threadpool(parse_body, body, fmt, batch)
    reports = await run_in_threadpool(access.ingest_records, records, "http")
    return JSONResponse(shapes.ingest_result(reports))


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refused (413) past ``limit`` bytes without reading all of it."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyError(413, f"body over {limit} bytes: send smaller batches")
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise BodyError(413, f"body over {limit} bytes: send smaller batches")
            chunks.append(chunk)
    except ClientDisconnect:
        # Nobody is left to read the answer; the log gets its one line, not a traceback.
        raise BodyError(400, f"the client hung up after {size} bytes of the body: "
                        "nothing was ingested") from None
    return b"".join(chunks)
