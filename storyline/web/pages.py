"""The HTML pages: the story list, a story, the batches, what a batch changed, search.

Rendered on the server from the templates in ``templates/``, with autoescaping and no
script: whatever a snippet holds is shown as text, and links are only http(s) urls.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import quote, urlencode, urlsplit

import jinja2
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape

from storyline import shapes, views
from storyline.types import SearchHit
from storyline.web import charts
from storyline.web.api import BatchName, MinSize, SearchFilterParams, StoryId
from storyline.web.reads import access_of, search_hits, stories_page, story_out
from storyline.web.schemas import html_problems

HERE = Path(__file__).parent
SPARK_BATCHES = 24  # batches a sparkline of the list spans
OVERVIEW_STORIES = 8  # lines on the list's stories-over-time chart
OVERVIEW_WIDTH, OVERVIEW_HEIGHT = 420, 110  # its drawing, in its own units (it scales)
SHOWN = 8  # snippets shown of a story's batch, or of a change, before "N more"
BATCHES_PAGE = 100  # batches a page of /batches lists

Text = Annotated[str | None, Query(max_length=500)]
Page = Annotated[int, Query(ge=0, le=10**9)]

router = APIRouter(tags=["pages"], default_response_class=HTMLResponse)


# -- templates ------------------------------------------------------------------------


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


def templates() -> Jinja2Templates:
    """The pages' templates, with the filters they use."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True,
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
    )
    env.filters["safe_href"] = safe_href
    env.filters["path"] = lambda v: quote(str(v), safe="")
    env.filters["number"] = _number
    env.filters["highlight"] = highlight
    # The host alone: "https://www.bbc.co.uk@evil.example/" is evil.example's link.
    env.filters["host"] = lambda url: (urlsplit(url).hostname or url) if safe_href(url) else url
    env.filters["plural"] = lambda n, one, many=None: one if n == 1 else (many or one + "s")
    env.globals["sources_shown"] = views.SOURCES_SHOWN
    env.globals["shown"] = SHOWN
    return Jinja2Templates(env=env)


def render(request: Request, name: str, status: int = 200, **context: Any) -> Response:
    context.setdefault("query", "")
    return request.app.state.templates.TemplateResponse(request, name, context,
                                                        status_code=status)


# -- pages ----------------------------------------------------------------------------


@router.get("/", summary="Story list", responses=html_problems(404))
def page_list(
    request: Request,
    batch: Annotated[str | None, Query(max_length=500)] = None,
    status: Annotated[Literal["", "active", "dormant"] | None, Query()] = None,
    text: Text = None, offset: Page = 0, min_size: MinSize = 1,
) -> Response:
    access = access_of(request)
    limit = access.settings.page_size
    with access.read() as sl:
        page = stories_page(access, sl, batch=batch or None, status=status or None,
                            text=text or None, limit=limit, offset=offset, min_size=min_size)
        batch_rows = sl.store.batches()
        counts = sl.store.counts() if not page.stories and not page.total else None
    names = [b.name for b in batch_rows]
    total, rows = page.total, page.stories
    _within(offset, total, "stories", "/")
    spark_axis = names[-SPARK_BATCHES:]
    filters = {k: v for k, v in {"batch": batch, "status": status, "text": text,
                                 "min_size": min_size if min_size > 1 else None}.items() if v}

    def link(new_offset: int) -> str:
        return "/?" + urlencode({**filters, "offset": new_offset})

    top = rows[:OVERVIEW_STORIES] if offset == 0 and not filters else []
    # Narrower than the export's: its labels stay legible scaled down to a phone.
    chart = charts.overview(top, batch_rows, width=OVERVIEW_WIDTH,
                            height=OVERVIEW_HEIGHT) if top else None
    overview = Markup(charts.overview_svg(chart, standalone=False)) if chart else None
    return render(
        request, "list.html", stories=rows, total=total, offset=offset, limit=limit,
        overview=overview, series=chart.series if chart else [],
        clocks={b.name: b.clock for b in batch_rows},
        sparks={s.id: charts.sparkline(s.batches, spark_axis) for s in rows},
        batches=names, filters=filters,
        empty_store=counts is not None and counts["snippets"] == 0,
        prev_link=link(max(offset - limit, 0)) if offset > 0 else None,
        next_link=link(offset + limit) if offset + limit < total else None,
    )


FRESH_SHOWN = 20  # new snippets of the last batch shown at the top of a story's page


@router.get("/stories/{story_id}", summary="One story", responses=html_problems(404))
def page_story(request: Request, story_id: StoryId, offset: Page = 0) -> Response:
    """The story; its snippets by batch, a page of ``shapes.SNIPPETS_PAGE`` at a time."""
    access = access_of(request)
    with access.read() as sl:
        detail = sl.story(story_id)
        batch_rows = sl.store.batches()
    names = [b.name for b in batch_rows]
    story = story_out(access, detail, True)
    last = story.last_batch
    fresh = [s for s in story.snippets if s.batch == last and s.novel]
    fresh_total, fresh = len(fresh), fresh[:FRESH_SHOWN]  # the rest: paged below
    repeats = [s for s in story.snippets if (s.batch == last and not s.novel)
               or (s.batch != last and any(c.batch == last for c in s.copies))]
    limit, total = shapes.SNIPPETS_PAGE, len(story.snippets)
    _within(offset, total, "snippets", f"/stories/{story.id}")
    by_batch: dict[str, list] = {}
    for s in shapes.page_of(story.snippets, limit, offset):
        by_batch.setdefault(s.batch, []).append(s)
    links = _pages(f"/stories/{story.id}?", {}, offset, limit, total)
    return render(
        request, "story.html", story=story, asked=story_id, fresh=fresh,
        fresh_total=fresh_total, repeats=repeats,
        latest=names[-1] if names else "", chart=charts.timeline(story.batches, names),
        by_batch=by_batch, clocks={b.name: b.clock for b in batch_rows},
        snippets_total=total, offset=offset, shown_here=sum(map(len, by_batch.values())),
        **{k: v and v + "#snippets" for k, v in links.items()},
    )


@router.get("/batches", summary="Batches", responses=html_problems(404))
def page_batches(request: Request, offset: Page = 0) -> Response:
    with access_of(request).read() as sl:
        rows = list(reversed(sl.store.batches()))
    _within(offset, len(rows), "batches", "/batches")
    return render(request, "batches.html", batches=rows[offset:offset + BATCHES_PAGE],
                  total=len(rows), offset=offset, **_pages("/batches?", {}, offset,
                                                           BATCHES_PAGE, len(rows)))


def _within(offset: int, total: int, what: str, first_page: str) -> None:
    """A page past the end is not there (it would say "no stories" of a list that has
    some): 404 naming how many there are and where the first page is."""
    if offset > 0 and offset >= total:
        from storyline.errors import NotFoundError

        raise NotFoundError(f"no page at offset {offset}: {total} {what} in all "
                            f"(the first page: {first_page})")


def _pages(base: str, params: dict, offset: int, limit: int, total: int) -> dict[str, Any]:
    """The links to the page before and after this one (None at either end)."""
    def link(new_offset: int) -> str:
        return base + urlencode({**params, "offset": new_offset})

    return {"prev_link": link(max(offset - limit, 0)) if offset > 0 else None,
            "next_link": link(offset + limit) if offset + limit < total else None}


@router.get("/batches/{batch:path}", summary="What a batch changed",
            responses=html_problems(404))
def page_batch(request: Request, batch: BatchName, offset: Page = 0) -> Response:
    access = access_of(request)
    limit = access.settings.page_size
    with access.read() as sl:  # only the page's stories are read
        page = views.changes_of(sl.store, batch, limit, offset)
        data = views.with_neighbours(sl.store, page)
    _within(offset, page.total, "stories changed", f"/batches/{quote(batch, safe='')}")
    return render(request, "batch.html", data=data, new=page.new, repeated=page.repeated,
                  new_stories=page.new_stories, offset=offset,
                  **_pages(f"/batches/{quote(batch, safe='')}?", {}, offset, limit,
                           page.total))


@router.get("/search", summary="Search", responses=html_problems(404))
def page_search(request: Request, filters: Annotated[SearchFilterParams, Depends()],
                q: Text = None, limit: Annotated[int, Query(ge=1, le=100)] = 20,
                offset: Page = 0) -> Response:
    access = access_of(request)
    query = (q or "").strip()
    hits: list[SearchHit] = []
    with access.read() as sl:
        names = [b.name for b in sl.store.batches()]
        if query:
            hits = search_hits(access, sl, query, limit, offset, filters.chosen())
    chosen = {k: v for k, v in vars(filters).items() if v}
    # No total (the floor decides as it goes): a full page may have a next one.
    links = _pages("/search?", {"q": query, **chosen, "limit": limit}, offset, limit,
                   offset + limit + (len(hits) == limit))
    return render(request, "search.html", query=query, hits=hits, offset=offset,
                  batches=names, filters=chosen, **links)


def highlight(text: str, words: list[str]) -> Markup:
    """``text`` escaped, with each of ``words`` (a hit's matched words) marked."""
    if not words:
        return Markup(escape(text))
    # Word edges as search.matched_words draws them: "_" parts words there too.
    pattern = re.compile(r"(?<![^\W_])(" + "|".join(map(re.escape, words)) + r")(?![^\W_])")
    return Markup("".join(f"<mark>{escape(part)}</mark>" if i % 2 else str(escape(part))
                          for i, part in enumerate(pattern.split(text))))
