"""Read-side views of a store: story lists, one story, changes per batch, search, export.

The CLI, the Python API and the web server all read through these functions,
so they show the same thing.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from storyline.errors import NotFoundError, UsageError
from storyline.store import Store
from storyline.store.rows import BatchRow, CopyRow, SnippetRow, StoryRow
from storyline.types import (
    CopyView,
    DormancyRule,
    SearchHit,
    SnippetView,
    SourceCount,
    StoryChanges,
    StoryDetail,
    StorySummary,
    TimelineEntry,
)

if TYPE_CHECKING:
    import numpy as np

    from storyline.shapes import ChangesPage

NotFound = NotFoundError


def checked_page(limit: object, offset: object, min_size: object = 1) -> None:
    """A UsageError unless the page is whole numbers in the API's bounds (shapes.MAX_COUNT):
    ``limit`` (None: all) at least 1, ``offset`` at least 0, ``min_size`` at least 1."""
    from storyline.shapes import MAX_COUNT

    for name, value, least in (("limit", limit, 1), ("offset", offset, 0),
                               ("min_size", min_size, 1)):
        if value is None and name == "limit":
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not (
                least <= value <= MAX_COUNT):
            raise UsageError(f"{name} must be a whole number from {least} to {MAX_COUNT}, "
                             f"not {value!r}")


def _lead(store: Store, row: StoryRow) -> str:
    """The first sentence of the story's most central snippet (the headline's source)."""
    from storyline.pipeline.describe import first_sentence

    snippet = store.snippet(row.headline_id) if row.headline_id else None
    return first_sentence(snippet.text, max_words=80) if snippet else ""


def _headline(store: Store, row: StoryRow) -> str:
    """At most ~15 words: the central snippet's title if it has one, else its lead
    compressed (pipeline/headline.py). Written with the story when it is described; a
    story described before the store kept headlines has it worked out here."""
    if row.headline is not None:
        return row.headline
    if not row.headline_id:
        return ""
    from storyline.pipeline.describe import story_headline

    snippet = store.snippet(row.headline_id)
    copies = store.copies_of([row.headline_id]).get(row.headline_id, [])
    return story_headline(snippet.text, [c.title for c in copies if c.title]) if snippet else ""


def _status(row: StoryRow, dormant_seqs: set[int]) -> str:
    return "dormant" if row.last_seq in dormant_seqs else "active"


@dataclass
class StoryPage:
    """One page of the story list, and how many stories match on all pages."""

    total: int
    stories: list[StorySummary]


def story_page(
    store: Store, *, batch: str | None = None, status: str | None = None,
    text: str | None = None, limit: int | None = None, offset: int = 0,
    min_size: int = 1, dormancy: DormancyRule = DormancyRule(),
) -> StoryPage:
    """Live stories, biggest first (then the latest news, then newest), a page of them.

    The store filters and orders the story rows; only the page's stories get their
    headlines, timelines and sources read, so a page costs the same in a large store.
    ``text`` matches the headline or the summary, ignoring case.
    """
    checked_page(limit, offset, min_size)
    for name, value in (("batch", batch), ("status", status), ("text", text)):
        if value is not None and not isinstance(value, str):
            raise UsageError(f"{name} must be a string, not {type(value).__name__}")
    names = store.batch_names()
    dormant = store.dormant_seqs(dormancy)
    batch_seq = None
    if batch is not None:
        found = store.batch(batch)
        if found is None:
            raise NotFound(f"no batch {batch!r}")
        batch_seq = found.seq
    if status and status not in ("active", "dormant"):
        raise UsageError(f"unknown status {status!r}: active or dormant")
    needle = (text or "").lower()
    filters = {"min_size": min_size, "batch_seq": batch_seq, "dormant": dormant,
               "status": status or None}
    if needle:
        # "…" may be added by the headline's cut: no superset the store can test ("" reads
        # the summaries without filtering).
        rows = store.story_list(**filters, needle=needle if "…" not in needle else "")
        # The lead holds the compressed headline's words: matching it costs no parse.
        rows = [r for r in rows
                if needle in _lead(store, r).lower() or needle in r.summary.lower()]
        total = len(rows)
        page = rows[offset:None if limit is None else offset + limit]
    else:
        # The store orders and cuts the page (an index): a page costs the same in any store.
        page = store.story_list(**filters, limit=limit, offset=offset)
        whole = offset == 0 and (limit is None or len(page) < limit)
        total = len(page) if whole else store.story_count(**filters)
    counts, sources = store.story_arrivals([r.id for r in page])
    return StoryPage(total, [
        StorySummary(
            id=r.id, headline=_headline(store, r), size=r.size,
            copies=sum(c for c, _ in counts[r.id].values()), sources=len(sources[r.id]),
            first_batch=names.get(r.first_seq, ""), last_batch=names.get(r.last_seq, ""),
            status=_status(r, dormant),
            batches=[TimelineEntry(names[seq], c, n)
                     for seq, (c, n) in sorted(counts[r.id].items())],
            outlets=sorted(sources[r.id]),
        )
        for r in page
    ])


def list_stories(store: Store, **filters) -> list[StorySummary]:
    """The lines of :func:`story_page` (same filters), without the total."""
    return story_page(store, **filters).stories


def _copy_view(c: CopyRow, names: dict[int, str]) -> CopyView:
    return CopyView(copy_id=c.id, batch=names[c.batch_seq], source=c.source, url=c.url, kind=c.kind,
                    external_id=c.external_id, published_at=c.published_at)


def _snippet_view(s: SnippetRow, copies: list[CopyRow], names: dict[int, str]) -> SnippetView:
    first = copies[0] if copies else None
    return SnippetView(
        snippet_id=s.id, text=s.text, batch=names[s.batch_seq],
        source=first.source if first else None, url=first.url if first else None,
        truncated=s.truncated,
        copies=[_copy_view(c, names) for c in copies], novel=s.novel,
        external_id=first.external_id if first else None,
        published_at=first.published_at if first else None,
    )


def story_detail(store: Store, story_id: int,
                 dormancy: DormancyRule = DormancyRule()) -> StoryDetail:
    """One story; an id absorbed by a merge shows the story it lives on in."""
    from storyline.shapes import MAX_ID

    if isinstance(story_id, bool) or not isinstance(story_id, int) or not 0 < story_id <= MAX_ID:
        raise NotFound(f"no story {story_id!r}")
    live = store.resolve(story_id)
    if live is None:
        raise NotFound(f"no story {story_id}")
    row = store.story(live)
    names = store.batch_names()
    snippets = store.story_snippets(live)
    copies = store.copies_of([s.id for s in snippets])
    timeline = store.story_batch_counts([live])[live]
    sources = store.story_source_counts([live])[live]
    return StoryDetail(
        id=live, headline=_headline(store, row), size=row.size,
        copies=sum(c for _, c, _ in timeline), sources=len(sources),
        first_batch=names.get(row.first_seq, ""), last_batch=names.get(row.last_seq, ""),
        status=_status(row, store.dormant_seqs(dormancy)),
        batches=[TimelineEntry(names[seq], c, n) for seq, c, n in timeline],
        summary=row.summary,
        source_counts=[SourceCount(s, n) for s, n in sources],
        outlets=[s for s, _ in sources],
        snippets=[_snippet_view(s, copies[s.id], names) for s in snippets],
        merged_from=store.merged_from(live),
        follows=_live_or_none(store, store.follows(live)),
        followed_by=store.followed_by(live),
    )


def _live_or_none(store: Store, story_id: int | None) -> int | None:
    return None if story_id is None else store.resolve(story_id)


def batch_changes(store: Store, batch: str) -> list[StoryChanges]:
    """Per story touched by ``batch``: its new snippets, and the copies of older ones."""
    return changes_of(store, batch).changes


@dataclass
class ChangesOf:
    """What a batch changed: a page of its stories (most new snippets first) and how many
    stories it touched in all."""

    batch: BatchRow
    total: int
    changes: list[StoryChanges]
    new: int = 0  # new snippets, repeats and new stories on all pages
    repeated: int = 0
    new_stories: int = 0


def changes_of(store: Store, batch: str, limit: int | None = None,
               offset: int = 0) -> ChangesOf:
    """A page of what ``batch`` changed. The batch's arrivals are read without their
    texts to order its stories; only the page's snippets and copies are read."""
    checked_page(limit, offset)
    found = store.batch(batch)
    if found is None:
        raise NotFound(f"no batch {batch!r}")
    arrivals = store.batch_arrivals(found.seq)
    live_of = store.resolve_many({story for _, _, story, _, _ in arrivals})
    # Per live story, in arrival order: (snippet id, new?), as the page lists them.
    listed: dict[int, list[tuple[int, bool]]] = {}
    repeated: dict[int, set[int]] = {}
    for sid, kind, story, novel, first_seq in arrivals:
        live = live_of[story]
        entries = listed.setdefault(live, [])
        if kind != "original":
            if first_seq < found.seq and sid not in repeated.setdefault(live, set()):
                repeated[live].add(sid)
                entries.append((sid, False))
        else:
            entries.append((sid, novel))
    order = sorted(listed, key=lambda live: (-sum(new for _, new in listed[live]), live))
    page = order[offset:None if limit is None else offset + limit]
    ids = sorted({sid for live in page for sid, _ in listed[live]})
    snippets = store.snippet_rows(ids)
    copies = store.copies_of(ids)
    rows = store.stories_of(order)
    names = store.batch_names()
    changes = []
    for live in page:
        change = StoryChanges(story_id=live, headline=_headline(store, rows[live]),
                              new_story=rows[live].first_seq == found.seq)
        for sid, new in listed[live]:
            view = _snippet_view(snippets[sid], copies[sid], names)
            (change.new if new else change.repeated).append(view)
        changes.append(change)
    new = sum(new for entries in listed.values() for _, new in entries)
    return ChangesOf(found, len(order), changes, new=new,
                     repeated=sum(map(len, listed.values())) - new,
                     new_stories=sum(rows[live].first_seq == found.seq for live in order))


def changes_page(store: Store, batch: str, limit: int | None = None,
                 offset: int = 0) -> ChangesPage:
    """:func:`changes_of` with the batches either side (the CLI's and the HTTP API's
    shape of it, storyline/shapes.py)."""
    return with_neighbours(store, changes_of(store, batch, limit, offset))


def with_neighbours(store: Store, page: ChangesOf) -> ChangesPage:
    """A page of a batch's changes with the names of the batches before and after it."""
    from storyline.shapes import ChangesPage

    rows = store.batches()
    at = next(i for i, b in enumerate(rows) if b.seq == page.batch.seq)
    return ChangesPage(batch=page.batch, previous=rows[at - 1].name if at > 0 else None,
                       next=rows[at + 1].name if at + 1 < len(rows) else None,
                       total=page.total, changes=page.changes)


def nearest_snippets(store: Store, query: np.ndarray, limit: int) -> list[tuple[int, float]]:
    """Snippets nearest to a query embedding, through the store's inverted-file
    index (storyline.pipeline.ivf): only the nearest cells are read. A store too
    small to have cells yet is read whole."""
    import numpy as np

    from storyline.pipeline import ivf

    dim = query.shape[0]
    centroids = ivf.load_centroids(store.get_state("ivf:cells"), dim)
    if centroids is None:
        ids, vectors = store.all_embeddings(dim)
    else:
        ids, vectors = probed_embeddings(store, ivf.probe(query, centroids), dim)
    if not ids:
        return []
    scores = vectors @ query
    best = np.argsort(-scores)[:limit]
    return [(ids[i], float(scores[i])) for i in best]


def probed_embeddings(store: Store, cells: list[int], dim: int,
                      budget: int | None = None) -> tuple[list[int], np.ndarray]:
    """The embeddings of ``cells``, nearest first, until ``budget`` of them
    (ivf.READ_BUDGET) are read: time bounded whatever the store's size."""
    from storyline.pipeline import ivf

    budget = ivf.READ_BUDGET if budget is None else budget
    return store.embeddings_of_nearest_cells(cells, dim, budget)


def search(store: Store, query: str, encoder=None, limit: int = 20, *, offset: int = 0,
           filters=None) -> list[SearchHit]:
    """Stories matching ``query`` above a relevance floor, best first; [] when none does
    (storyline/search.py; ``filters``: search.SearchFilters)."""
    from storyline import search as search_

    checked_page(limit, offset)
    if not isinstance(query, str):
        raise UsageError(f"a search is words, not {type(query).__name__}")
    return search_.search(store, query, encoder, limit, offset=offset,
                          filters=search_.checked_filters(filters),
                          nearest=nearest_snippets)


def to_json(obj) -> str:
    if isinstance(obj, list):
        return json.dumps([asdict(o) for o in obj], ensure_ascii=False, indent=2)
    return json.dumps(asdict(obj), ensure_ascii=False, indent=2)


_MARKDOWN = re.compile(r"([\\`*_\[\]{}<>#|!~])")


def md_text(text: str) -> str:
    r"""``text`` as Markdown shows it literally: its markup characters escaped (a snippet's
    ``<script>``, ``[link](javascript:…)`` or ``#`` stay text), its lines one line.

    >>> print(md_text("<b>Fed</b> [cuts](x) *rates*"))
    \<b\>Fed\</b\> \[cuts\](x) \*rates\*
    """
    return _MARKDOWN.sub(r"\\\1", " ".join(text.split()))


SOURCES_SHOWN = 12  # a wire story has hundreds of outlets: the top ones, then a count


def sources_line(counts: list, shown: int = SOURCES_SHOWN) -> str:
    """"Sources: Reuters (5), AP (4) and 170 more" from a story's source counts."""
    more = len(counts) - shown
    return ("Sources: " + ", ".join(f"{s.source} ({s.snippets})" for s in counts[:shown])
            + (f" and {more} more" if more > 0 else ""))
