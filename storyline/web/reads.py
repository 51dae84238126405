"""Reads the pages and the JSON API share: the story list (kept per store version), a
story with its facts, what a batch changed, search."""

from __future__ import annotations

from dataclasses import fields

from fastapi import Request

from storyline import shapes, views
from storyline.api import Storyline
from storyline.config import dormancy
from storyline.types import SearchHit, StoryDetail
from storyline.web.access import StoreAccess, WebSettings
from storyline.web.schemas import StoryOut


def access_of(request: Request) -> StoreAccess:
    return request.app.state.access


def settings_of(request: Request) -> WebSettings:
    return request.app.state.settings


def stories_page(access: StoreAccess, sl: Storyline, *, batch: str | None,
                 status: str | None, text: str | None, limit: int, offset: int,
                 min_size: int, for_reader: bool = True) -> views.StoryPage:
    """A page of the story list, kept for this version of the store (its first page is
    what most requests ask, and it only changes when a batch comes)."""
    if for_reader:
        access.list_wanted = True
    def compute() -> views.StoryPage:
        return views.story_page(sl.store, batch=batch, status=status, text=text,
                                limit=limit, offset=offset, min_size=min_size,
                                dormancy=dormancy(sl.config))

    return access.memo(sl, ("list", batch, status, text, limit, offset, min_size), compute)


def warm_list(access: StoreAccess, *, unless_unread: bool = False) -> None:
    """Builds (and keeps) the first page of the list, the page most asked for; with
    ``unless_unread`` (after an ingest), only if a reader asked for a list since the
    last time it was built."""
    if access.closed:  # the server stopped while a batch went in
        return
    if unless_unread:
        if not access.list_wanted:
            return
        access.list_wanted = False
    with access.read() as sl:
        stories_page(access, sl, batch=None, status=None, text=None,
                     limit=access.settings.page_size, offset=0, min_size=1,
                     for_reader=False)


def story_out(access: StoreAccess, detail: StoryDetail, with_facts: bool) -> StoryOut:
    """The story with its facts, read after (not inside) the story's read transaction:
    reading facts may store them."""
    facts = access.facts(detail) if with_facts and access.settings.facts else None
    return StoryOut(**{f.name: getattr(detail, f.name) for f in fields(detail)}, facts=facts)


def batch_changes(sl: Storyline, batch: str, limit: int | None = None,
                  offset: int = 0) -> shapes.ChangesPage:
    """What ``batch`` changed (a page of its stories), with the batches either side;
    only the page's stories are read (a batch of a long stream touches thousands)."""
    return views.changes_page(sl.store, batch, limit, offset)


def search_hits(access: StoreAccess, sl: Storyline, q: str, limit: int, offset: int = 0,
                filters=None) -> list[SearchHit]:
    """A page of ``views.search`` (``filters``: search.SearchFilters; an unknown batch
    in them is a NotFoundError)."""
    encoder = access.search_encoder() if sl.store.has_snippets() else None
    return views.search(sl.store, q, encoder, limit, offset=offset, filters=filters)
